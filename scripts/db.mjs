#!/usr/bin/env node
// The local database: `npm run db -- <start|stop|status|reset|url> [dev|test]`.
import { prepareDatabase, resolveDatabase } from "../devstack/postgres/database.mjs";
import {
  CLUSTERS,
  clusterStatus,
  startCluster,
  stopCluster,
} from "../devstack/postgres/postgres-cluster.mjs";

const [command = "status", cluster = "dev"] = process.argv.slice(2);
if (!(cluster in CLUSTERS)) {
  console.error(`unknown cluster '${cluster}' (one of: ${Object.keys(CLUSTERS).join(", ")})`);
  process.exit(2);
}

try {
  switch (command) {
    case "start": {
      const url = await startCluster(cluster);
      console.log(`PostgreSQL '${cluster}' running: ${url}`);
      break;
    }
    case "stop":
      console.log(
        stopCluster(cluster) ? `PostgreSQL '${cluster}' stopped` : `PostgreSQL '${cluster}' was not running`,
      );
      break;
    case "status":
      console.log(JSON.stringify(clusterStatus(cluster), null, 2));
      break;
    case "url":
      console.log((await resolveDatabase(cluster, { start: false })).url);
      break;
    case "reset": {
      const db = await resolveDatabase(cluster);
      await prepareDatabase(db, { fresh: true, seed: cluster === "dev" });
      console.log(`Database reset, migrated${cluster === "dev" ? " and seeded" : ""}: ${db.url}`);
      break;
    }
    default:
      console.error("usage: npm run db -- <start|stop|status|reset|url> [dev|test]");
      process.exit(2);
  }
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
}

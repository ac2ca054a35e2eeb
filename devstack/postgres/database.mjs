// Which database a command uses, and how it is brought to the schema: the platform-compatibility
// layer (plain Postgres only), migrations through the Supabase CLI, and the seed.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import postgres from "postgres";
import { clusterUrl, ROOT, startCluster, stopCluster } from "./postgres-cluster.mjs";

const EXTERNAL_URL_VARIABLE = { dev: "DATABASE_URL", test: "TEST_DATABASE_URL" };

/**
 * The database for `dev` (npm start) or `test` (npm test): the URL in DATABASE_URL /
 * TEST_DATABASE_URL when set (any Postgres, e.g. the one `supabase start` gives), else the private
 * cluster, started if needed.
 */
export async function resolveDatabase(cluster, { start = true, log = console.log } = {}) {
  const external = process.env[EXTERNAL_URL_VARIABLE[cluster]];
  if (external) return { url: external, managed: false, cluster };
  const url = start ? await startCluster(cluster, log) : clusterUrl(cluster);
  return { url, managed: true, cluster };
}

export function psql(url, args, { quiet = true } = {}) {
  const r = spawnSync("psql", [url, "-X", "-v", "ON_ERROR_STOP=1", ...(quiet ? ["-q"] : []), ...args], {
    encoding: "utf8",
    env: { ...process.env, PGOPTIONS: "-c client_min_messages=warning" },
  });
  if (r.status !== 0) throw new Error(`psql failed: ${r.stderr || r.stdout}`);
  return r.stdout;
}

function withDatabase(url, database) {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** Drops and recreates the cluster's `postgres` database (the one pg_cron runs in). */
function recreate(url) {
  const admin = withDatabase(url, "template1");
  psql(admin, ["-c", "drop database if exists postgres with (force)", "-c", "create database postgres"]);
}

async function isPlainPostgres(url) {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql`select to_regprocedure('auth.uid()') is null as plain`;
    return row.plain;
  } finally {
    await sql.end();
  }
}

export function supabaseCli(args, opts = {}) {
  const bin = join(ROOT, "node_modules", ".bin", "supabase");
  return spawnSync(bin, args, {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, SUPABASE_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1" },
    ...opts,
  });
}

/**
 * Brings a database to the current schema. `fresh` recreates it first (managed clusters only);
 * the compatibility layer is applied only where Supabase's platform objects are missing.
 */
export async function prepareDatabase(db, { fresh = false, seed = false, log = () => {} } = {}) {
  if (fresh && db.managed) recreate(db.url);
  if (await isPlainPostgres(db.url)) {
    log("Applying the platform-compatibility layer (plain Postgres)");
    psql(db.url, ["-f", join(ROOT, "devstack", "postgres", "plain-postgres.sql")]);
  }
  // On the private local clusters, migrations merged from branches may sort before ones already applied:
  // apply them too (`--include-all`), as a developer pulling main expects.
  const r = supabaseCli([
    "db",
    "push",
    `--remote=${db.url}`,
    "--yes",
    ...(db.managed ? ["--include-all"] : []),
    ...(seed ? ["--include-seed"] : []),
  ]);
  const output = `${r.stdout}${r.stderr}`;
  if (r.status !== 0) throw new Error(`supabase db push failed:\n${output}`);
  for (const line of output.split("\n")) if (line.startsWith("Applying")) log(line);
  if (fresh && db.managed) {
    // pg_cron's launcher lost its database when it was dropped and does not come back by itself: restart
    // the cluster so the scheduler's jobs run on the new database.
    stopCluster(db.cluster);
    await startCluster(db.cluster, () => {});
  }
}

/**
 * Pauses pg_cron's jobs that act on calls (the scheduler tick and the carrier-hangup sweep), for a database
 * that tests or benchmarks drive themselves: a tick landing mid-test claims the test's queued calls (and hands
 * them to a dispatcher that is not there), so what the test reads depends on when it ran. Tests that prove the
 * jobs call their functions directly.
 */
/**
 * Points the database's wake-ups (Vault `project_url`, `dispatch_secret`) at the functions server this stack
 * actually runs. The seed's value is the default port; a stack on FUNCTIONS_PORT would otherwise wake the
 * dispatcher and the webhooks function of another stack, or nothing. Called on every start.
 */
export async function pointWakeUpsAt(url, { projectUrl, dispatchSecret }) {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await sql.begin(async (tx) => {
      await tx`delete from vault.secrets where name in ('project_url', 'dispatch_secret')`;
      await tx`insert into vault.secrets (name, secret)
               values ('project_url', ${projectUrl}), ('dispatch_secret', ${dispatchSecret})`;
    });
  } finally {
    await sql.end();
  }
}

export function pauseScheduledJobs(url) {
  psql(url, [
    "-c",
    "update cron.job set active = false where jobname in ('scheduler-tick', 'settle-carrier-hangups')",
  ]);
}

/** True where net.* is the local stand-in (the pg-net worker must run), not the real pg_net. */
export async function usesPgNetStandIn(url) {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql`select to_regproc('net.wake_worker') is not null as stand_in`;
    return row.stand_in;
  } finally {
    await sql.end();
  }
}

#!/usr/bin/env node
// `npm run bench`: every bench/*.bench.mjs in turn. Each prints its figures and, for each target,
// the ratio of figure to target measured in the same run (this machine is noisy: no thresholds in tests).
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../devstack/postgres/postgres-cluster.mjs";

const only = process.argv.slice(2);
const files = readdirSync(join(ROOT, "bench")).filter((f) => f.endsWith(".bench.mjs")).sort()
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)));
let failed = 0;
for (const file of files) {
  console.log(`\n=== ${file}`);
  const r = spawnSync(process.execPath, ["--import", "tsx", join("bench", file)], {
    cwd: ROOT,
    stdio: "inherit",
  });
  if (r.status !== 0) failed++;
}
if (files.length === 0) console.log("no benchmarks found in bench/");
process.exit(failed ? 1 : 0);

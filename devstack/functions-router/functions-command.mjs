// How the local functions server is started (by npm start, the end-to-end test and the benchmarks): real
// Deno with the permissions the functions need, serving every supabase/functions/<name>.
import { join } from "node:path";
import { ROOT } from "../postgres/postgres-cluster.mjs";

export const FUNCTIONS_SERVER_COMMAND = join(ROOT, "node_modules", ".bin", "deno");
export const FUNCTIONS_SERVER_ARGS = [
  "run",
  "--allow-net",
  "--allow-env",
  "--allow-read",
  "--allow-sys",
  "--unstable-no-legacy-abort",
  "devstack/functions-router/functions-server.ts",
];

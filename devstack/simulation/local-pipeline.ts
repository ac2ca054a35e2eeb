// The whole platform on loopback for simulated calls, as the end-to-end test and the pipeline benchmark use
// it: the real Deno functions server (which also answers /rest/v1 with the PostgREST stand-in), the pg_net
// stand-in's worker and the simulation runner, wired to one (migrated) database through Vault's project_url
// and dispatch_secret.
import { spawn } from "node:child_process";
import type postgres from "postgres";
import { FUNCTIONS_SERVER_ARGS, FUNCTIONS_SERVER_COMMAND } from "../functions-router/functions-command.mjs";
import { freePort } from "../free-port.mjs";
import { localEnv } from "../local-env.mjs";
import { startPgNetWorker } from "../pg-net/pg-net-worker.mjs";
import { type SimulationRunner, startSimulationRunner } from "../../agent/src/simulation/runner.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

export type LocalPipeline = {
  /** http://127.0.0.1:<port>/functions/v1 */
  api: string;
  dispatchSecret: string;
  runner: SimulationRunner;
  stop(): Promise<void>;
};

export async function until<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | null | undefined | false>,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The stack on a port of its own, with the environment `npm start` gives it (devstack/local-env.mjs). */
export async function startLocalPipeline(options: {
  sql: postgres.Sql;
  databaseUrl: string;
}): Promise<LocalPipeline> {
  const dispatchSecret = `pipeline-${crypto.randomUUID()}`;
  const port = await freePort();
  const env = await localEnv({ databaseUrl: options.databaseUrl, functionsPort: port });
  const api = `${env.SUPABASE_URL}/functions/v1`;
  const runner = await startSimulationRunner({
    supabaseUrl: env.SUPABASE_URL,
    anonKey: env.SUPABASE_ANON_KEY,
    // As on a phone line: a loaded machine's slow turn is not the callee falling silent.
    silenceMs: 8_000,
    // Failures only: a finished call's line is noise here (and the database has the outcome).
    log: (line) => line.msg === "simulated call ended" || console.error(JSON.stringify(line)),
  });
  const functions = spawn(FUNCTIONS_SERVER_COMMAND, FUNCTIONS_SERVER_ARGS, {
    cwd: ROOT,
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, ...env, DISPATCH_SECRET: dispatchSecret, SIMULATION_AGENT_URL: runner.url },
  });
  await until("the functions server", 60_000, async () => {
    try {
      return (await fetch(`${api}/health`)).ok;
    } catch {
      return false;
    }
  });
  // Where the database's wake-ups go (Vault on Supabase), and the worker that plays pg_net.
  const { sql } = options;
  await sql`delete from vault.secrets where name in ('project_url', 'dispatch_secret')`;
  await sql`insert into vault.secrets (name, secret)
            values ('project_url', ${env.SUPABASE_URL}), ('dispatch_secret', ${dispatchSecret})`;
  const pgNet = await startPgNetWorker(options.databaseUrl);
  return {
    api,
    dispatchSecret,
    runner,
    stop: async () => {
      await pgNet.stop();
      functions.kill("SIGTERM");
      await runner.close();
      await sql`delete from vault.secrets where name in ('project_url', 'dispatch_secret')`;
    },
  };
}

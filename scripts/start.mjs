#!/usr/bin/env node
// `npm start`: the whole platform locally. The database (migrated and seeded), the edge functions
// at http://127.0.0.1:54321/functions/v1/<name>, pg_net's stand-in, and the agent worker when
// LiveKit credentials are present. Ctrl-C stops all of it.
import { spawn } from "node:child_process";
import postgres from "postgres";
import {
  pointWakeUpsAt,
  prepareDatabase,
  resolveDatabase,
  usesPgNetStandIn,
} from "../devstack/postgres/database.mjs";
import { localEnv } from "../devstack/local-env.mjs";
import {
  FUNCTIONS_SERVER_ARGS,
  FUNCTIONS_SERVER_COMMAND,
} from "../devstack/functions-router/functions-command.mjs";
import { startPgNetWorker } from "../devstack/pg-net/pg-net-worker.mjs";
import { ROOT, stopCluster } from "../devstack/postgres/postgres-cluster.mjs";

const log = (...args) => console.log(...args);
const children = [];
let pgNet;
let db;

async function waitForHttp(url, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url);
      await res.body?.cancel();
      return res.status;
    } catch {
      await new Promise((r) => setTimeout(r, 150));
    }
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`);
}

function run(name, command, args, env) {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const prefix = (stream, out) =>
    stream.on("data", (chunk) => {
      for (const line of chunk.toString().split("\n")) if (line) out.write(`[${name}] ${line}\n`);
    });
  prefix(child.stdout, process.stdout);
  prefix(child.stderr, process.stderr);
  child.on("exit", (code, signal) => {
    if (!stopping) {
      console.error(`[${name}] exited (${signal ?? code}); stopping the stack`);
      shutdown(1);
    }
  });
  children.push(child);
  return child;
}

let stopping = false;
async function shutdown(code = 0) {
  if (stopping) return;
  stopping = true;
  log("\nStopping...");
  for (const child of children) child.kill("SIGTERM");
  await Promise.all(children.map((c) => c.exitCode === null ? new Promise((r) => c.once("exit", r)) : null));
  await pgNet?.stop();
  if (db?.managed) stopCluster("dev");
  log("Stopped.");
  process.exit(code);
}
process.on("SIGINT", () => shutdown(0));
process.on("SIGTERM", () => shutdown(0));

async function demoCredential(url) {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const rows = await sql`select to_regclass('public.organizations') is not null as ready`;
    if (!rows[0].ready) return null;
    const [org] = await sql`select id, name from public.organizations where slug = 'demo-clinic'`;
    return org ?? null;
  } finally {
    await sql.end();
  }
}

try {
  db = await resolveDatabase("dev", { log });
  await prepareDatabase(db, { seed: true, log });
  const env = await localEnv({ databaseUrl: db.url });
  await pointWakeUpsAt(db.url, { projectUrl: env.SUPABASE_URL, dispatchSecret: env.DISPATCH_SECRET });
  if (await usesPgNetStandIn(db.url)) pgNet = await startPgNetWorker(db.url, { log });

  run("functions", FUNCTIONS_SERVER_COMMAND, FUNCTIONS_SERVER_ARGS, env);
  const functionsUrl = `${env.SUPABASE_URL}/functions/v1`;
  await waitForHttp(`${functionsUrl}/health`);

  const livekit = Boolean(env.LIVEKIT_URL && env.LIVEKIT_API_KEY && env.LIVEKIT_API_SECRET);
  if (livekit) run("agent", "npm", ["run", "start", "-w", "agent"], env);
  // Simulated calls without LiveKit: the runner takes the dispatcher's jobs and holds them in text with the
  // same agent code (it also serves the PostgREST stand-in the agent writes through).
  run("simulation", process.execPath, ["--import", "tsx", "agent/src/simulation/runner.ts"], env);
  // The demo org's webhook_url: prints each delivery it verifies (type, call id, status).
  run("webhook-receiver", process.execPath, ["devstack/webhook-receiver.mjs"], env);

  const demo = await demoCredential(db.url);
  log("");
  log("The platform is running.");
  log(`  Database         ${db.url}`);
  log(`  Functions        ${functionsUrl}/<name>`);
  log(`  Health           curl ${functionsUrl}/health`);
  if (demo) {
    log(`  Demo org         ${demo.name} (${demo.id})`);
    log(`  Demo API key     ik_demo_local_development_key_do_not_use (from supabase/seed.sql)`);
  }
  const missing = [
    !livekit && "LiveKit (LIVEKIT_URL/API_KEY/API_SECRET): no agent worker, LiveKit calls cannot be dialled",
    !(env.TWILIO_ACCOUNT_SID && env.TWILIO_AUTH_TOKEN) &&
    "Twilio (TWILIO_ACCOUNT_SID/AUTH_TOKEN): the Twilio carrier is off",
    !(env.LANGFUSE_PUBLIC_KEY && env.LANGFUSE_SECRET_KEY) &&
    "Langfuse (LANGFUSE_PUBLIC_KEY/SECRET_KEY): prompts come from the database, no traces",
    !env.OPENAI_API_KEY && "OpenAI (OPENAI_API_KEY): the agent cannot talk on real calls",
  ].filter(Boolean);
  if (missing.length) {
    log("  Not configured:");
    for (const m of missing) log(`    - ${m}`);
  }
  log("Press Ctrl-C to stop.");
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  await shutdown(1);
}

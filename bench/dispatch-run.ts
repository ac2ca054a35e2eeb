// The dispatcher side of bench/dispatch.bench.mjs: one run of the real dispatch handler against the real
// database and the LiveKit double (LIVEKIT_URL, in its own process). Prints one JSON line of figures.
import { AgentDispatchClient } from "livekit-server-sdk";
import { connect } from "../supabase/functions/_shared/database.ts";
import { create } from "../supabase/functions/dispatch/handler.ts";

const env = Deno.env.toObject();
const sql = connect(env.BENCH_DATABASE_URL); // the pool an edge function gets (database.ts: 10 connections)
const handler = create({ sql, env: { ...env, DISPATCH_SECRET: "bench" } });
const post = (body: unknown) =>
  handler(
    new Request("http://localhost/dispatch", {
      method: "POST",
      headers: { Authorization: "Bearer bench", "Content-Type": "application/json" },
      body: JSON.stringify(body),
    }),
  );

// Warm-up (carriers, connections) without touching the queue: a claim nobody holds is refused as lost.
const nobodys = { intake_call_id: crypto.randomUUID(), claim_token: crypto.randomUUID() };
await (await post({ reason: "warm-up", claims: [nobodys] })).json();

// The floor set by the protocol alone (SDK and double, no dispatcher): one request at a time, and C at once.
const client = new AgentDispatchClient(env.LIVEKIT_URL, env.LIVEKIT_API_KEY, env.LIVEKIT_API_SECRET, {
  failover: false,
});
const metadata = "x".repeat(900); // about the size of a job's metadata (ids and a JWT)
let t0 = performance.now();
for (let i = 0; i < 20; i++) await client.createDispatch(`calibration-${i}`, "intake-agent", { metadata });
const sequentialMs = (performance.now() - t0) / 20;
const concurrency = Number(env.DISPATCH_CONCURRENCY);
t0 = performance.now();
await Promise.all(
  Array.from(
    { length: concurrency },
    (_, i) => client.createDispatch(`calibration-c${i}`, "intake-agent", { metadata }),
  ),
);
const parallelMs = performance.now() - t0;

const started = performance.now();
const summary = await (await post({ reason: "bench" })).json();
const elapsedMs = performance.now() - started;
console.log(JSON.stringify({ elapsedMs, summary, sequentialMs, parallelMs }));
await sql.end();

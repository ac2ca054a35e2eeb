// Dispatching 1,000 due calls through the dispatch function (real handler, real database) against the LiveKit
// double answering each request after 50 ms, with concurrency bound C: the run should take at most 1.25x the
// ideal ceil(1000 / C) x 50 ms (one LiveKit request per call: the agent dispatch), with no call dispatched twice.
// The double runs in a process of its own, as LiveKit would; the "protocol floor" line measures what the SDK and
// the double alone take for one request and for C at once, on this machine, with no dispatcher work at all.
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { join } from "node:path";
import { freshDatabase, report } from "./lib.mjs";
import { resolveDatabase } from "../devstack/postgres/database.mjs";
import { ROOT } from "../devstack/postgres/postgres-cluster.mjs";

const CALLS = 1_000;
const LATENCY_MS = 50;
const CONCURRENCY = [8, 16, 32];

const sql = await freshDatabase({ scheduler: false });
const { url } = await resolveDatabase("test", { log: () => {} });

async function load() {
  await sql`truncate public.organizations cascade`;
  await sql`update private.platform_settings set max_concurrent_calls = 100000, dispatch_batch_size = 100`;
  // Ten clinics, calling windows open all day (the run must not depend on the hour), no caps in the way.
  await sql`insert into public.organizations (name, slug, timezone, max_concurrent_calls, calling_window_start,
                                              calling_window_end, livekit_sip_trunk_id)
            select 'Clinic ' || g, 'clinic-' || g, 'UTC', 100000, '00:00', '24:00', 'ST_bench'
              from generate_series(1, 10) g`;
  await sql`insert into public.call_templates (org_id, name, fallback_prompt, greeting)
            select id, 'Intake', 'p', 'g' from public.organizations`;
  await sql`insert into public.intake_calls (org_id, template_id, callee_phone)
            select t.org_id, t.id, '+1212555' || lpad(g::text, 4, '0')
              from generate_series(1, ${CALLS}) g
              join (select id, org_id, row_number() over () - 1 as n from public.call_templates) t on t.n = g % 10`;
}

const deno = join(ROOT, "node_modules", ".bin", "deno");

/** The LiveKit double in its own process; `stop()` ends it and returns what it saw. */
async function startLiveKit() {
  const child = spawn(deno, ["run", "-A", "bench/livekit-double-server.ts"], {
    cwd: ROOT,
    env: { ...process.env, BENCH_LATENCY_MS: String(LATENCY_MS) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const server = JSON.parse((await lines.next()).value);
  return {
    ...server,
    async stop() {
      child.kill("SIGTERM");
      const seen = JSON.parse((await lines.next()).value);
      await once(child, "exit");
      return seen;
    },
  };
}

for (const concurrency of CONCURRENCY) {
  await load();
  const liveKit = await startLiveKit();
  const run = spawnSync(deno, ["run", "-A", "bench/dispatch-run.ts"], {
    cwd: ROOT,
    encoding: "utf8",
    env: {
      ...process.env,
      BENCH_DATABASE_URL: url,
      LIVEKIT_URL: liveKit.url,
      LIVEKIT_API_KEY: liveKit.apiKey,
      LIVEKIT_API_SECRET: liveKit.apiSecret,
      SUPABASE_JWT_SECRET: "bench-jwt-secret-with-at-least-32-characters",
      DISPATCH_CONCURRENCY: String(concurrency),
      DISPATCH_LIVEKIT_RPS: "1000000", // this bench measures the concurrency bound, not LiveKit's rate limit
    },
  });
  const seen = await liveKit.stop();
  if (run.status !== 0) throw new Error(`the dispatcher run failed:\n${run.stderr}`);
  const figures = { ...JSON.parse(run.stdout.trim().split("\n").at(-1)), ...seen };
  const [{ sessions, calls_with_one, dialing }] = await sql`
    select count(*)::int as sessions,
           count(distinct intake_call_id)::int as calls_with_one,
           count(*) filter (where status = 'dialing')::int as dialing
      from public.call_sessions`;
  const ideal = Math.ceil(CALLS / concurrency) * LATENCY_MS;
  console.log(
    `C=${concurrency}: ${figures.dispatches} dispatches (${figures.distinctRooms} rooms), ${sessions} attempts for ` +
      `${calls_with_one} calls, ${dialing} dialing, in ${figures.elapsedMs.toFixed(0)} ms ` +
      `(ideal ${ideal} ms; run summary ${JSON.stringify(figures.summary.originations)})`,
  );
  console.log(
    `  protocol floor (SDK + double, no dispatcher): one request ${figures.sequentialMs.toFixed(1)} ms, ` +
      `${concurrency} at once ${figures.parallelMs.toFixed(1)} ms ` +
      `(${(figures.parallelMs / LATENCY_MS).toFixed(2)}x the ${LATENCY_MS} ms latency)`,
  );
  const duplicates = (figures.dispatches - figures.distinctRooms) + (sessions - calls_with_one);
  report(`dispatch 1,000 calls, C=${concurrency} (x ideal)`, figures.elapsedMs / ideal, "x", 1.25);
  console.log(
    `duplicates, C=${concurrency}: ${duplicates} (target 0, ${duplicates === 0 ? "meets" : "MISSES"})`,
  );
  if (dialing !== CALLS) console.log(`MISSES: ${CALLS - dialing} calls were not dispatched`);
}
await sql.end();

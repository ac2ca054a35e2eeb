// 100 simulated calls with the scripted model through the whole pipeline (API, insert trigger, pg_net,
// dispatch, simulation runner, the real agent code, write-back under RLS): calls per minute, and the median
// time from the row's insert to the agent's first turn. The scenario has no scripted pauses, so all of that
// time is the platform's own (target: under 1 s per call).
import { readFileSync } from "node:fs";
import { startLocalPipeline, until } from "../devstack/simulation/local-pipeline.ts";
import { INTAKE_FIELDS } from "../devstack/fixtures/call-fixture.ts";
import { freshDatabase, median, report } from "./lib.mjs";

const CALLS = Number(process.env.BENCH_CALLS ?? 100);
const sql = await freshDatabase();
const databaseUrl = `postgresql://postgres:postgres@${sql.options.host[0]}:${
  sql.options.port[0]
}/${sql.options.database}`;
const pipeline = await startLocalPipeline({ sql, databaseUrl });
const API_KEY = "ik_bench_simulated_calls_pipeline_key";
const [org] =
  await sql`insert into public.organizations (name, slug, calling_window_start, calling_window_end)
                        values ('Bench Clinic', 'bench', '00:00', '24:00') returning id`;
const [template] =
  await sql`insert into public.call_templates (org_id, name, fallback_prompt, greeting, fields)
                             values (${org.id}, 'Intake', 'p', 'Hello {{callee_name}}', ${
    sql.json(INTAKE_FIELDS)
  })
                             returning id`;
await sql`insert into public.api_keys (org_id, name, prefix, key_hash)
          values (${org.id}, 'bench', left(${API_KEY}, 10), private.hash_api_key(${API_KEY}))`;
const scenario = JSON.parse(
  readFileSync(new URL("../simulations/intake/cooperative-patient.json", import.meta.url)),
);
if (scenario.turns.some((t) => t.pause_ms)) {
  throw new Error("the bench scenario must have no scripted pauses");
}

const t0 = performance.now();
for (let i = 0; i < CALLS; i++) {
  const res = await fetch(`${pipeline.api}/intake-calls`, {
    method: "POST",
    headers: { Authorization: `Bearer ${API_KEY}`, "Content-Type": "application/json" },
    body: JSON.stringify({
      phone_number: `+1415555${String(2000 + i)}`,
      template_id: template.id,
      carrier: "simulation",
      simulation: scenario,
    }),
  });
  if (res.status !== 201) throw new Error(`POST answered ${res.status}`);
  await res.arrayBuffer();
}
await until("all simulated calls to end", 300_000, async () => {
  const [{ n }] = await sql`select count(*)::int as n from public.intake_calls where org_id = ${org.id}
                              and status in ('completed', 'failed', 'cancelled', 'expired', 'opted_out')`;
  return n === CALLS;
});
const minutes = (performance.now() - t0) / 60_000;
const rows = await sql`
  select c.status, extract(epoch from (select min(t.started_at) from public.transcript_turns t
                                        join public.call_sessions s on s.id = t.session_id
                                       where s.intake_call_id = c.id) - c.created_at) * 1000 as to_first_turn_ms
    from public.intake_calls c where c.org_id = ${org.id}`;
const completed = rows.filter((r) => r.status === "completed").length;
const firstTurn = median(rows.map((r) => Number(r.to_first_turn_ms)));
console.log(`${CALLS} simulated calls, ${completed} completed, in ${(minutes * 60).toFixed(1)} s`);
console.log(`simulated calls per minute: ${(CALLS / minutes).toFixed(0)} (all ${CALLS} created at once)`);
report("insert -> first agent turn (median, all platform time)", firstTurn, "ms", 1000);
await pipeline.stop();
await sql.end();

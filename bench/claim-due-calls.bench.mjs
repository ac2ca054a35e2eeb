// Claiming a batch of 500 due calls from 1,000,000 intake calls (95% final) against the same claim
// on 10,000 rows: the cost must follow the due set, not the table (target: < 20 ms median, <= 2x).
import { freshDatabase, median, report } from "./lib.mjs";

const ORGS = 50;
const sql = await freshDatabase({ scheduler: false });

async function load(total) {
  await sql`truncate public.organizations cascade`;
  await sql`update private.platform_settings set max_concurrent_calls = 100000`;
  await sql`insert into public.organizations (name, slug, max_concurrent_calls, calling_window_start, calling_window_end)
            select 'Org ' || g, 'org-' || g, 20, '00:00', '24:00' from generate_series(1, ${ORGS}) g`;
  await sql`insert into public.call_templates (org_id, name, fallback_prompt, greeting)
            select id, 'T', 'p', 'g' from public.organizations`;
  // Bulk data without the per-row triggers (audit events of a million creations are not the point).
  await sql.begin(async (tx) => {
    await tx`set local session_replication_role = replica`;
    await tx`
      insert into public.intake_calls (org_id, template_id, callee_phone, status, outcome, completed_at, next_attempt_at,
                                       priority, callee_timezone)
      select t.org_id, t.id, '+1212' || lpad((g % 10000000)::text, 7, '0'),
             case when (g / ${ORGS}) % 20 = 0 then 'queued' else 'completed' end::public.intake_call_status,
             case when (g / ${ORGS}) % 20 = 0 then null else 'completed' end::public.call_outcome,
             case when (g / ${ORGS}) % 20 = 0 then null else now() end,
             now() - (g % 3600) * interval '1 second', (g % 7) - 3,
             (array['America/New_York', 'Europe/Berlin', 'America/Chicago', 'Europe/London'])[1 + (g / 1000) % 4]
        from generate_series(1, ${total}) g
        join (select id, org_id, row_number() over () - 1 as n from public.call_templates) t on t.n = g % ${ORGS}`;
  });
  await sql`analyze public.intake_calls`;
}

async function timeClaims(runs = 15) {
  const times = [];
  let claimed = 0;
  for (let i = 0; i < runs; i++) {
    await sql.begin(async (tx) => {
      const t0 = performance.now();
      const rows =
        await tx`select * from public.claim_due_calls(500, date_trunc('day', now()) + interval '1 day 15 hours')`;
      times.push(performance.now() - t0);
      claimed = rows.length;
      throw new Error("rollback"); // measure the same state every run
    }).catch((e) => {
      if (e.message !== "rollback") throw e;
    });
  }
  return { ms: median(times.slice(2)), claimed };
}

await load(10_000);
const small = await timeClaims();
await load(1_000_000);
const large = await timeClaims();
console.log(`10,000 rows: claimed ${small.claimed} in ${small.ms.toFixed(2)} ms median`);
console.log(`1,000,000 rows: claimed ${large.claimed} in ${large.ms.toFixed(2)} ms median`);
report("claim 500 of 1M (median)", large.ms, "ms", 20);
report("1M / 10k time ratio", large.ms / small.ms, "x", 2);
await sql.end();

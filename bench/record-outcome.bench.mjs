// Recording an outcome (session ended + call moved on + event + outbox row, one function call):
// target at least 2,000 per second on this 2-core machine.
import { freshDatabase, report } from "./lib.mjs";

const N = 6_000;
const CONNECTIONS = 4;
const sql = await freshDatabase();

await sql`update private.platform_settings set max_concurrent_calls = 100000`;
const [org] =
  await sql`insert into public.organizations (name, slug, max_concurrent_calls, calling_window_start,
                          calling_window_end, webhook_url)
                        values ('Bench', 'bench', 100000, '00:00', '24:00', 'https://app.example.org/hooks')
                        returning id`;
const [template] = await sql`insert into public.call_templates (org_id, name, fallback_prompt, greeting)
                             values (${org.id}, 'T', 'p', 'g') returning id`;
await sql`insert into public.intake_calls (org_id, template_id, callee_phone)
          select ${org.id}, ${template.id}, '+1212' || lpad(g::text, 7, '0') from generate_series(1, ${N}) g`;
// Bring every call to a live attempt through the real functions.
const sessions = [];
for (;;) {
  const rows = await sql`
    select (public.start_call_attempt(c.intake_call_id, c.claim_token)).id as id from public.claim_due_calls(1000) c`;
  if (rows.length === 0) break;
  sessions.push(...rows.map((r) => r.id));
}
await sql`select public.mark_session_dialing(id) from public.call_sessions where status = 'created'`;

const outcomes = ["completed", "no_answer", "busy", "voicemail"];
const t0 = performance.now();
let next = 0;
await Promise.all(Array.from({ length: CONNECTIONS }, async () => {
  while (next < sessions.length) {
    const i = next++;
    await sql`select public.record_session_outcome(${sessions[i]}, ${
      outcomes[i % 4]
    }::public.call_outcome, 'carrier')`;
  }
}));
const seconds = (performance.now() - t0) / 1000;
const [{ ended }] = await sql`select count(*)::int as ended from public.call_sessions where status = 'ended'`;
console.log(`${ended} outcomes recorded in ${seconds.toFixed(2)} s over ${CONNECTIONS} connections`);
report("outcomes per second", sessions.length / seconds, "/s", 2000, "over");
await sql.end();

// Two dispatchers claiming at the same moment never get the same call (FOR UPDATE SKIP LOCKED).
// Needs two real connections, so it is a Node test against the test database, not pgTAP.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import postgres from "postgres";

const url = process.env.TEST_DATABASE_URL;
const sql = postgres(url, { max: 6, onnotice: () => {} });
const orgId = crypto.randomUUID();
let templateId;

let platformCap;

before(async () => {
  // The platform-wide cap counts every call in flight in the database, other tests' leftovers included: lift it
  // while this test runs, so that what is measured is the claimers' split, not what others left behind.
  [{ max_concurrent_calls: platformCap }] =
    await sql`select max_concurrent_calls from private.platform_settings`;
  await sql`update private.platform_settings set max_concurrent_calls = 100000`;
  await sql`insert into public.organizations (id, name, slug, max_concurrent_calls, calling_window_start, calling_window_end)
            values (${orgId}, 'Concurrency', ${"conc-" + orgId.slice(0, 8)}, 1000, '00:00', '24:00')`;
  [{ id: templateId }] = await sql`insert into public.call_templates (org_id, name, fallback_prompt, greeting)
                                   values (${orgId}, 'T', 'p', 'g') returning id`;
  await sql`insert into public.intake_calls (org_id, template_id, callee_phone)
            select ${orgId}, ${templateId}, '+1212555' || lpad(g::text, 4, '0') from generate_series(1, 400) g`;
});

after(async () => {
  if (platformCap !== undefined) {
    await sql`update private.platform_settings set max_concurrent_calls = ${platformCap}`;
  }
  await sql`delete from public.organizations where id = ${orgId}`;
  await sql.end();
});

test("concurrent claimers split the due calls without overlap", async () => {
  const claimer = () =>
    sql.begin(async (tx) => {
      const rows = await tx`select intake_call_id from public.claim_due_calls(60) c
                             join public.intake_calls i on i.id = c.intake_call_id where i.org_id = ${orgId}`;
      await tx`select pg_sleep(0.05)`; // hold the locks while the others claim
      return rows.map((r) => r.intake_call_id);
    });
  // Four connections open before the race, so none starts late for want of one.
  await Promise.all([1, 2, 3, 4].map(() => sql.begin((tx) => tx`select pg_sleep(0.01)`)));
  const results = await Promise.all([claimer(), claimer(), claimer(), claimer()]);
  const all = results.flat();
  assert.ok(results.filter((r) => r.length > 0).length >= 2, "more than one claimer got work");
  assert.equal(new Set(all).size, all.length, "no call was claimed twice");
  const [{ n }] =
    await sql`select count(*)::int as n from public.intake_calls where org_id = ${orgId} and status = 'dispatching'`;
  assert.equal(n, all.length);
});

test("a second delivery of a claim while its originator records the origination waits, never deadlocks", async () => {
  // The originator (record_origination) locks the attempt, then the call; the duplicate (begin_call_attempt)
  // locks the call and must then not wait on the attempt, not even through a foreign-key check.
  const [{ id: callId }] = await sql`insert into public.intake_calls (org_id, template_id, callee_phone)
                                      values (${orgId}, ${templateId}, '+12125559999') returning id`;
  await sql`update public.intake_calls set claim_token = gen_random_uuid() where id = ${callId}`;
  await sql`select private.transition_call(${callId}, 'dispatching', 'scheduler', 'call.claimed')`;
  const [{ claim_token: claim }] =
    await sql`select claim_token from public.intake_calls where id = ${callId}`;
  const [{ id: session }] = await sql`select id from public.start_call_attempt(${callId}, ${claim})`;
  let duplicate;
  await sql.begin(async (originator) => {
    await originator`select private.lock_session(${session})`;
    duplicate = sql.begin((tx) => tx`select public.begin_call_attempt(${callId}, ${claim}) as answer`);
    await new Promise((resolve) => setTimeout(resolve, 200)); // the duplicate now holds the call
    await originator`select id from public.intake_calls where id = ${callId} for update`;
  });
  const [{ answer }] = await duplicate;
  assert.deepEqual(answer, { deferred: true, session_id: session });
});

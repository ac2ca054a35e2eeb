// A simulated call through every real part of the platform except the telephone line: the app's POST to
// the intake-calls function (real Deno functions server), the row, the pg_cron tick that claims it (the real
// pg_cron of the test cluster), pg_net's POST to the dispatch function (the pg_net stand-in's worker), the
// simulation carrier handing the job to the simulation runner, the real agent code holding the call in text
// and writing back under RLS through the PostgREST stand-in, the outcome, the audit trail, the app webhook
// (signed, verified here as an app would) and GET /intake-calls/{id} returning all of it.
import assert from "node:assert/strict";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { readFile } from "node:fs/promises";
import { after, before, test } from "node:test";
import { verifyWebhookSignature } from "@intake/shared/app-webhook";
import { connectSuperuser, INTAKE_FIELDS, testEnv } from "../fixtures/call-fixture.ts";
import { type LocalPipeline, startLocalPipeline, until } from "./local-pipeline.ts";

const env = testEnv();
const sql = connectSuperuser(env);
const API_KEY = `ik_e2e_${crypto.randomUUID().replaceAll("-", "")}`;
const received: { headers: IncomingHttpHeaders; body: string }[] = [];

let pipeline: LocalPipeline;
let receiver: ReturnType<typeof createServer>;
let api = "";
let orgId = "";
let templateId = "";

before(async () => {
  receiver = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      received.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  pipeline = await startLocalPipeline({ sql, databaseUrl: env.databaseUrl });
  api = pipeline.api;

  const { port: hookPort } = receiver.address() as AddressInfo;
  [{ id: orgId }] = await sql`
    insert into public.organizations (name, slug, webhook_url, calling_window_start, calling_window_end)
    values ('Riverside Clinic', ${`e2e-${
    crypto.randomUUID().slice(0, 8)
  }`}, ${`http://127.0.0.1:${hookPort}/hooks`},
            '00:00', '24:00')
    returning id`;
  [{ id: templateId }] = await sql`
    insert into public.call_templates (org_id, name, fallback_prompt, greeting, fields)
    values (${orgId}, 'Intake', 'You collect a short intake before a visit.',
            'Hello, this is the assistant of {{organization_name}}. Am I speaking with {{callee_name}}?',
            ${sql.json(INTAKE_FIELDS)})
    returning id`;
  await sql`insert into public.api_keys (org_id, name, prefix, key_hash)
            values (${orgId}, 'e2e', left(${API_KEY}, 10), private.hash_api_key(${API_KEY}))`;
  // `npm test` pauses the tick in the test database (a tick landing mid-test claims other tests' calls): this
  // test is the one that proves pg_cron drives a call, so it runs the tick while it lasts.
  [{ active: tickWasActive }] = await setSchedulerTick(true);
});

let tickWasActive: boolean | undefined; // set once this test has turned the tick on
/** Sets the tick's pg_cron job active or not; returns whether it was active before. */
const setSchedulerTick = (active: boolean) =>
  sql<{ active: boolean }[]>`
    update cron.job j set active = ${active} from cron.job prior
     where j.jobid = prior.jobid and j.jobname = 'scheduler-tick'
    returning prior.active`;

after(async () => {
  if (tickWasActive !== undefined) await setSchedulerTick(tickWasActive);
  await pipeline?.stop();
  receiver?.close();
  await sql.end();
});
test("a simulated call goes through the whole platform and the app gets everything back", {
  timeout: 150_000,
}, async () => {
  const scenario = JSON.parse(
    await readFile(new URL("../../simulations/intake/cooperative-patient.json", import.meta.url), "utf8"),
  );
  const auth = { Authorization: `Bearer ${API_KEY}` };
  // Not due at insert, so the insert trigger does not wake the dispatcher: pg_cron's tick must start it.
  const notBefore = new Date(Date.now() + 2_000).toISOString();
  const created = await fetch(`${api}/intake-calls`, {
    method: "POST",
    headers: { ...auth, "Content-Type": "application/json" },
    body: JSON.stringify({
      phone_number: "+14155552671",
      template_id: templateId,
      callee_name: "Maria Gonzalez",
      carrier: "simulation",
      intake_id: `e2e-${crypto.randomUUID()}`,
      not_before: notBefore,
      simulation: scenario,
    }),
  });
  assert.equal(created.status, 201);
  const { id } = await created.json();

  // pg_cron ticks once a minute here (pg_cron 1.4; every 10 s on Supabase).
  const call = await until("the call to complete", 140_000, async () => {
    const res = await fetch(`${api}/intake-calls/${id}`, { headers: auth });
    const body = await res.json();
    return body.status === "completed" ? body : null;
  });

  // The row, the results validated against the template, the outcome.
  assert.equal(call.outcome, "completed");
  assert.deepEqual(call.results, scenario.expect.fields);
  const [row] = await sql`select status, attempts, is_simulation from public.intake_calls where id = ${id}`;
  assert.deepEqual(row, { status: "completed", attempts: 1, is_simulation: true });

  // The audit trail: created by the API, claimed by the scheduler (pg_cron), dispatched, held, ended.
  const events = call.events.map((e: { source: string; type: string }) => `${e.source}:${e.type}`);
  for (
    const expected of [
      "api:call.created",
      "scheduler:call.claimed",
      "dispatcher:session.created",
      "dispatcher:session.dialing",
      "agent:session.answered",
      "agent:field.recorded",
      "agent:session.ended",
      "agent:call.completed",
    ]
  ) assert.ok(events.includes(expected), `${expected} in ${events.join(", ")}`);
  assert.equal(events.indexOf("api:call.created"), 0);
  assert.ok(events.indexOf("scheduler:call.claimed") < events.indexOf("dispatcher:session.created"));
  const [claim] =
    await sql`select created_at from public.call_events where intake_call_id = ${id} and type = 'call.claimed'`;
  assert.ok(claim.created_at.getTime() >= Date.parse(notBefore), "claimed by a tick after it became due");

  // The session and its transcript, in order, every line once.
  assert.equal(call.attempts.length, 1);
  assert.equal(call.attempts[0].status, "ended");
  assert.equal(call.attempts[0].outcome, "completed");
  const sequences = call.transcript.map((t: { sequence: number }) => t.sequence);
  assert.deepEqual(sequences, sequences.map((_: number, i: number) => i));
  const calleeLines = call.transcript.filter((t: { speaker: string }) => t.speaker === "callee")
    .map((t: { text: string }) => t.text);
  assert.deepEqual(calleeLines, scenario.turns.map((t: { callee: string }) => t.callee));
  assert.equal(call.transcript[0].speaker, "agent");

  // The app webhook: the tick's webhooks run (here asked for at once), signed, verified as the app would.
  const delivered = await fetch(`${api}/webhooks`, {
    method: "POST",
    headers: { Authorization: `Bearer ${pipeline.dispatchSecret}`, "Content-Type": "application/json" },
    body: JSON.stringify({ reason: "e2e" }),
  });
  assert.equal(delivered.status, 200);
  await delivered.body?.cancel();
  const completed = await until(
    "the call.completed webhook",
    20_000,
    () => Promise.resolve(received.find((r) => JSON.parse(r.body).type === "call.completed")),
  );
  const [{ secret }] = await sql.begin(async (tx) => {
    const [admin] =
      await tx`insert into auth.users (email) values (${`e2e-${orgId}@example.test`}) returning id`;
    await tx`insert into public.organization_members (org_id, user_id, role) values (${orgId}, ${admin.id}, 'admin')`;
    await tx`select set_config('request.jwt.claims', ${
      JSON.stringify({ sub: admin.id, role: "authenticated" })
    }, true)`;
    return await tx`select public.webhook_signing_secret(${orgId}) as secret`;
  });
  const headers = Object.fromEntries(
    Object.entries(completed.headers).map(([k, v]) => [k, Array.isArray(v) ? v[0] : v]),
  );
  assert.ok(
    await verifyWebhookSignature({ secret, headers, body: completed.body }),
    "the signature verifies",
  );
  assert.ok(
    !(await verifyWebhookSignature({ secret, headers, body: completed.body + " " })),
    "and fails if altered",
  );
  assert.equal(JSON.parse(completed.body).data.intake_call_id, id);
  const types = received.map((r) => JSON.parse(r.body).type);
  assert.ok(
    types.includes("call.queued") && types.includes("call.dialing") && types.includes("call.answered"),
  );
  await pipeline.runner.idle();
});

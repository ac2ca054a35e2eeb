// twilio-status against the real database, driven by the Twilio double's signed status callbacks: Twilio
// signs the public URL the call was created with, the double delivers to this handler on loopback.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { connect, type Sql } from "../_shared/database.ts";
import {
  createOrg,
  rowCounts,
  sessionState,
  startAttempt,
  startRestApi,
  type TestOrg,
} from "../../../devstack/fixtures/test-database.ts";
import { serveOnLoopback } from "../../../devstack/loopback.ts";
import { startTwilioDouble, type TwilioDouble } from "../../../devstack/doubles/twilio/twilio-double.ts";
import { signTwilioRequest } from "../_shared/twilio-signature.ts";
import { create } from "./handler.ts";

const databaseUrl = Deno.env.get("TEST_DATABASE_URL")!;
const PUBLIC = "https://project-ref.supabase.co/functions/v1";

type Harness = {
  sql: Sql;
  tw: TwilioDouble;
  /** Where the handler listens (the double delivers here; the signature covers the public URL). */
  local: string;
  org: TestOrg;
  /** A Twilio call for a new attempt, created on the double as the dispatcher does, the session dialing. */
  call(opts?: { recordSid?: boolean }): Promise<{ sid: string; callId: string; sessionId: string }>;
  send(
    sid: string,
    status: Parameters<TwilioDouble["sendStatusCallback"]>[1],
    extra?: Record<string, string>,
    opts?: Parameters<TwilioDouble["sendStatusCallback"]>[3],
  ): Promise<number>;
  [Symbol.asyncDispose](): Promise<void>;
};

async function harness(orgOpts: Parameters<typeof createOrg>[1] = {}): Promise<Harness> {
  const sql = connect(databaseUrl, { max: 2 });
  const tw = startTwilioDouble();
  const rest = await startRestApi(databaseUrl);
  const env = {
    TWILIO_ACCOUNT_SID: tw.accountSid,
    TWILIO_AUTH_TOKEN: tw.authToken,
    TWILIO_API_URL: tw.url,
    PUBLIC_FUNCTIONS_URL: PUBLIC,
    ...rest.env,
  };
  const server = serveOnLoopback(create({ env }));
  const org = await createOrg(sql, orgOpts);
  const sessions = new Map<string, string>();
  return {
    sql,
    tw,
    local: server.url,
    org,
    async call({ recordSid = true } = {}) {
      const attempt = await startAttempt(sql, org, { callSid: null });
      const statusUrl = `${PUBLIC}/twilio-status?session_id=${attempt.sessionId}`;
      const res = await fetch(`${tw.url}/2010-04-01/Accounts/${tw.accountSid}/Calls.json`, {
        method: "POST",
        headers: {
          Authorization: `Basic ${btoa(`${tw.accountSid}:${tw.authToken}`)}`,
          "Content-Type": "application/x-www-form-urlencoded",
        },
        body: new URLSearchParams([
          ["To", "+12125550123"],
          ["From", "+12025550100"],
          ["Url", `${PUBLIC}/twilio-voice?session_id=${attempt.sessionId}`],
          ["StatusCallback", statusUrl],
          ["StatusCallbackEvent", "initiated"],
          ["StatusCallbackEvent", "ringing"],
          ["StatusCallbackEvent", "answered"],
          ["StatusCallbackEvent", "completed"],
          ["MachineDetection", "Enable"],
          ["AsyncAmd", "true"],
          ["AsyncAmdStatusCallback", statusUrl],
        ]),
      });
      const { sid } = await res.json();
      if (recordSid) await sql`select public.mark_session_dialing(${attempt.sessionId}, ${sid})`;
      sessions.set(sid, attempt.sessionId);
      return { sid, ...attempt };
    },
    async send(sid, status, extra = {}, opts = {}) {
      const record = await tw.sendStatusCallback(sid, status, extra, {
        deliverTo: `${server.url}/twilio-status?session_id=${sessions.get(sid)}`,
        ...opts,
      });
      return record!.status;
    },
    async [Symbol.asyncDispose]() {
      await server.close();
      await tw.close();
      await rest[Symbol.asyncDispose]();
      await sql.end();
    },
  };
}

/** The asynchronous AMD callback Twilio sends to AsyncAmdStatusCallback: no CallStatus, no SequenceNumber. */
async function sendAmd(h: Harness, sid: string, sessionId: string, answeredBy: string): Promise<number> {
  const url = `${PUBLIC}/twilio-status?session_id=${sessionId}`;
  const params = {
    AccountSid: h.tw.accountSid,
    CallSid: sid,
    AnsweredBy: answeredBy,
    MachineDetectionDuration: "2310",
  };
  const res = await fetch(`${h.local}/twilio-status?session_id=${sessionId}`, {
    method: "POST",
    headers: {
      "Content-Type": "application/x-www-form-urlencoded",
      "X-Twilio-Signature": await signTwilioRequest(h.tw.authToken, url, params),
    },
    body: new URLSearchParams(params),
  });
  await res.body?.cancel();
  return res.status;
}

/** cancel_intake_call as the org's app calls it: with an API key's claims, the way intake-calls runs it. */
async function cancelAsApp(sql: Sql, orgId: string, callId: string): Promise<void> {
  const [key] = await sql`insert into public.api_keys (org_id, name, prefix, key_hash)
                          values (${orgId}, 'test', 'ik_test', extensions.gen_random_bytes(32)) returning id`;
  await sql.begin(async (tx) => {
    await tx`select set_config('role', 'authenticated', true),
                    set_config('request.jwt.claims', ${
      JSON.stringify({ role: "authenticated", api_key_id: key.id })
    }, true)`;
    await tx`select public.cancel_intake_call(${callId}, 'test')`;
  });
}

type EventRow = { type: string; applied: boolean; from_status: string | null; to_status: string | null };

async function twilioEvents(sql: Sql, sessionId: string): Promise<EventRow[]> {
  const rows = await sql<EventRow[]>`
    select type, applied, from_status, to_status from public.call_events
     where session_id = ${sessionId} and type like 'twilio.%' order by id`;
  return rows.map((r) => ({ ...r }));
}

Deno.test("ringing, answered and completed move the attempt forward; the agent's outcome ends it", async () => {
  await using h = await harness();
  const { sid, callId, sessionId } = await h.call();
  assertEquals(await h.send(sid, "initiated"), 204);
  assertEquals(await h.send(sid, "ringing"), 204);
  assertEquals((await sessionState(h.sql, sessionId)).status, "ringing");
  assertEquals(await h.send(sid, "in-progress", { AnsweredBy: "human" }), 204);
  let state = await sessionState(h.sql, sessionId);
  assertEquals([state.status, state.answered_by, state.call_status], ["answered", "human", "in_progress"]);

  // The line closes before the agent has said how the call went: the attempt waits for the agent.
  assertEquals(await h.send(sid, "completed", { CallDuration: "95" }), 204);
  state = await sessionState(h.sql, sessionId);
  assertEquals([state.status, state.call_status], ["answered", "in_progress"]);
  assert(state.carrier_ended_at instanceof Date);

  await h.sql`select public.record_session_outcome(${sessionId}, 'completed', 'agent')`;
  state = await sessionState(h.sql, sessionId);
  assertEquals([state.status, state.ended_reason, state.call_status, state.call_outcome], [
    "ended",
    "completed",
    "completed",
    "completed",
  ]);
  // The sweep leaves an attempt the agent ended alone.
  await h
    .sql`update public.call_sessions set carrier_ended_at = now() - interval '1 hour' where id = ${sessionId}`;
  await h.sql`select public.settle_carrier_hangups()`;
  assertEquals((await sessionState(h.sql, sessionId)).ended_reason, "completed");

  assertEquals(await twilioEvents(h.sql, sessionId), [
    { type: "twilio.initiated", applied: false, from_status: "dialing", to_status: "dialing" },
    { type: "twilio.ringing", applied: true, from_status: "dialing", to_status: "ringing" },
    { type: "twilio.in-progress", applied: true, from_status: "ringing", to_status: "answered" },
    { type: "twilio.completed", applied: true, from_status: "answered", to_status: "answered" },
  ]);
  // No phone number reaches the audit trail.
  const payloads = await h
    .sql`select payload::text as p from public.call_events where intake_call_id = ${callId}`;
  for (const { p } of payloads) assert(!p.includes("+1212") && !p.includes("+1202"), p);
});

Deno.test("an agent that never reports: the sweep ends the attempt as failed after the grace period", async () => {
  await using h = await harness();
  const { sid, sessionId } = await h.call();
  await h.send(sid, "in-progress");
  await h.send(sid, "completed");
  assertEquals(await h.sql`select public.settle_carrier_hangups() as n`.then((r) => r[0].n), 0); // within grace
  await h
    .sql`update public.call_sessions set carrier_ended_at = now() - interval '61 seconds' where id = ${sessionId}`;
  assertEquals(await h.sql`select public.settle_carrier_hangups() as n`.then((r) => r[0].n), 1);
  const state = await sessionState(h.sql, sessionId);
  assertEquals([state.status, state.ended_reason, state.call_status], ["ended", "failed", "queued"]);
});

Deno.test("completed before ringing: the attempt ends up answered, the late callbacks are recorded unapplied", async () => {
  await using h = await harness();
  const { sid, sessionId } = await h.call();
  assertEquals(await h.send(sid, "completed", { SequenceNumber: "3", AnsweredBy: "human" }), 204);
  assertEquals(await h.send(sid, "ringing", { SequenceNumber: "1" }), 204);
  assertEquals(await h.send(sid, "in-progress", { SequenceNumber: "2" }), 204);
  const state = await sessionState(h.sql, sessionId);
  assertEquals([state.status, state.answered_by, state.call_status], ["answered", "human", "in_progress"]);
  assert(state.carrier_ended_at instanceof Date);
  assertEquals(await twilioEvents(h.sql, sessionId), [
    { type: "twilio.completed", applied: true, from_status: "dialing", to_status: "answered" },
    { type: "twilio.ringing", applied: false, from_status: "answered", to_status: "answered" },
    { type: "twilio.in-progress", applied: false, from_status: "answered", to_status: "answered" },
  ]);
});

Deno.test("the same callback twice is applied once and recorded once", async () => {
  await using h = await harness();
  const { sid, sessionId } = await h.call();
  assertEquals(await h.send(sid, "busy", { SequenceNumber: "1", SipResponseCode: "486" }), 204);
  const after = await h
    .sql`select count(*)::int as n from public.call_events where session_id = ${sessionId}`;
  const stateAfter = await sessionState(h.sql, sessionId);
  assertEquals(await h.send(sid, "busy", { SequenceNumber: "1", SipResponseCode: "486" }), 204);
  assertEquals(
    await h.sql`select count(*)::int as n from public.call_events where session_id = ${sessionId}`,
    after,
  );
  assertEquals(await sessionState(h.sql, sessionId), stateAfter);
  assertEquals([stateAfter.status, stateAfter.ended_reason, stateAfter.call_status], [
    "ended",
    "busy",
    "queued",
  ]);
  // A later, different callback about the ended attempt is recorded and changes nothing.
  assertEquals(await h.send(sid, "completed", { SequenceNumber: "2" }), 204);
  assertEquals(await sessionState(h.sql, sessionId), stateAfter);
  assertEquals((await twilioEvents(h.sql, sessionId)).map((e) => [e.type, e.applied]), [
    ["twilio.busy", true],
    ["twilio.completed", false],
  ]);
});

Deno.test("unanswered endings map to outcomes: no-answer retries, SIP 404 is an invalid number, canceled cancels", async () => {
  await using h = await harness();
  const cases: Array<[Parameters<Harness["send"]>[1], Record<string, string>, string, string]> = [
    ["no-answer", {}, "no_answer", "queued"],
    ["failed", { SipResponseCode: "404" }, "invalid_number", "failed"],
    ["failed", { SipResponseCode: "503" }, "failed", "queued"],
    ["canceled", {}, "cancelled", "cancelled"],
  ];
  for (const [status, extra, outcome, callStatus] of cases) {
    const { sid, sessionId } = await h.call();
    await h.send(sid, "ringing");
    assertEquals(await h.send(sid, status, extra), 204);
    const state = await sessionState(h.sql, sessionId);
    assertEquals(
      [state.status, state.ended_reason, state.call_status],
      ["ended", outcome, callStatus],
      status,
    );
  }
});

Deno.test("a callback that beats the dispatcher's bookkeeping adopts the call as the dispatcher would", async () => {
  await using h = await harness();
  const { sid, callId, sessionId } = await h.call({ recordSid: false });
  assertEquals((await sessionState(h.sql, sessionId)).status, "created");
  assertEquals(await h.send(sid, "initiated"), 204);
  let state = await sessionState(h.sql, sessionId);
  assertEquals([state.status, state.carrier_call_id, state.call_status], ["dialing", sid, "in_progress"]);
  // The dispatcher's own mark afterwards changes nothing and does not count a second attempt.
  await h.sql`select public.mark_session_dialing(${sessionId}, ${sid})`;
  state = await sessionState(h.sql, sessionId);
  assertEquals([state.status, state.carrier_call_id], ["dialing", sid]);
  assertEquals((await h.sql`select attempts from public.intake_calls where id = ${callId}`)[0].attempts, 1);
});

Deno.test("asynchronous AMD: a machine on a hang_up template ends the attempt as voicemail and hangs up", async () => {
  await using h = await harness({ voicemailPolicy: "hang_up" });
  const { sid, sessionId } = await h.call();
  await h.send(sid, "in-progress");
  assertEquals(await sendAmd(h, sid, sessionId, "machine_start"), 204);
  const state = await sessionState(h.sql, sessionId);
  assertEquals([state.status, state.ended_reason, state.answered_by, state.call_status], [
    "ended",
    "voicemail",
    "voicemail",
    "queued",
  ]);
  assertEquals(h.tw.call(sid)!.updates, [{ Status: "completed" }]);
  assertEquals(h.tw.call(sid)!.status, "completed");
  // The AMD result again (Twilio retry or replay) is dropped.
  assertEquals(await sendAmd(h, sid, sessionId, "machine_start"), 204);
  assertEquals(h.tw.call(sid)!.updates.length, 1);
  // Twilio's completed callback afterwards is late.
  await h.send(sid, "completed");
  assertEquals((await twilioEvents(h.sql, sessionId)).map((e) => [e.type, e.applied]), [
    ["twilio.in-progress", true],
    ["twilio.amd", true],
    ["twilio.completed", false],
  ]);
});

Deno.test("asynchronous AMD: a machine on a leave_message template gets the message through a TwiML update", async () => {
  await using h = await harness({
    name: "Smith & Jones",
    voicemailPolicy: "leave_message",
    voicemailMessage: "This is {{organization}} about your visit on {{visit_day}}. {{missing}}Goodbye.",
  });
  const { sid, sessionId } = await h.call();
  await h.sql`update public.intake_calls set variables = '{"visit_day":"Monday"}'
               where id = (select intake_call_id from public.call_sessions where id = ${sessionId})`;
  await h.send(sid, "in-progress");
  assertEquals(await sendAmd(h, sid, sessionId, "machine_end_beep"), 204);
  assertEquals(h.tw.call(sid)!.updates, [{
    Twiml:
      '<?xml version="1.0" encoding="UTF-8"?><Response><Say>This is Smith &amp; Jones about your visit on ' +
      "Monday. Goodbye.</Say><Hangup/></Response>",
  }]);
  assertEquals((await sessionState(h.sql, sessionId)).ended_reason, "voicemail");
});

Deno.test("asynchronous AMD: a human result before the answered callback answers the attempt, call left alone", async () => {
  await using h = await harness({ voicemailPolicy: "hang_up" });
  const { sid, sessionId } = await h.call();
  await h.send(sid, "ringing");
  assertEquals(await sendAmd(h, sid, sessionId, "human"), 204);
  let state = await sessionState(h.sql, sessionId);
  assertEquals([state.status, state.answered_by, state.call_status], ["answered", "human", "in_progress"]);
  assertEquals(await h.send(sid, "in-progress"), 204);
  state = await sessionState(h.sql, sessionId);
  assertEquals([state.status, state.answered_by], ["answered", "human"]);
  assertEquals(h.tw.call(sid)!.updates, []);
  assertEquals((await twilioEvents(h.sql, sessionId)).map((e) => [e.type, e.applied]), [
    ["twilio.ringing", true],
    ["twilio.amd", true],
    ["twilio.in-progress", false],
  ]);
});

Deno.test("a live call the app cancelled ends as cancelled when the line closes", async () => {
  await using h = await harness();
  const { sid, callId, sessionId } = await h.call();
  await h.send(sid, "in-progress");
  await cancelAsApp(h.sql, h.org.orgId, callId);
  assertEquals((await sessionState(h.sql, sessionId)).call_status, "in_progress");
  await h.send(sid, "completed");
  const state = await sessionState(h.sql, sessionId);
  assertEquals([state.status, state.ended_reason, state.call_status], ["ended", "cancelled", "cancelled"]);
});

Deno.test("forged, unsigned and replayed-with-other-parameters callbacks get 403 and write nothing", async () => {
  await using h = await harness();
  const { sid, callId, sessionId } = await h.call();
  const other = await h.call();
  await h.send(sid, "ringing");
  const genuine = h.tw.call(sid)!.callbacks.at(-1)!;
  const counts = await rowCounts(h.sql, callId);
  const state = await sessionState(h.sql, sessionId);
  const otherState = await sessionState(h.sql, other.sessionId);

  assertEquals(await h.send(sid, "busy", {}, { authToken: "0".repeat(32) }), 403);
  assertEquals(await h.send(sid, "busy", {}, { signature: null }), 403);
  assertEquals(await h.send(sid, "busy", {}, { signature: "" }), 403);

  // The genuine ringing callback, replayed with another CallStatus, or to another session's URL.
  const replay = async (params: Record<string, string>, query: string) => {
    const res = await fetch(`${h.local}/twilio-status?${query}`, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": genuine.signature!,
      },
      body: new URLSearchParams(params),
    });
    return { status: res.status, body: await res.json() };
  };
  const forged = await replay({ ...genuine.params, CallStatus: "busy" }, `session_id=${sessionId}`);
  assertEquals(forged.status, 403);
  assertEquals(forged.body.error.code, "invalid_signature");
  assertEquals((await replay(genuine.params, `session_id=${other.sessionId}`)).status, 403);

  assertEquals(await rowCounts(h.sql, callId), counts);
  assertEquals(await sessionState(h.sql, sessionId), state);
  assertEquals(await sessionState(h.sql, other.sessionId), otherState);
});

Deno.test("a callback about another carrier call of the session is recorded and changes nothing", async () => {
  await using h = await harness();
  const { sid, sessionId } = await h.call();
  const stray = await h.call({ recordSid: false });
  // Deliver the stray call's callback to the first session's URL, signed as Twilio would sign that URL.
  const url = `${PUBLIC}/twilio-status?session_id=${sessionId}`;
  const params = {
    CallSid: stray.sid,
    CallStatus: "completed",
    SequenceNumber: "4",
    AccountSid: h.tw.accountSid,
  };
  const res = await fetch(`${h.local}/twilio-status?session_id=${sessionId}`, {
    method: "POST",
    headers: {
      "Content-Type": "application/x-www-form-urlencoded",
      "X-Twilio-Signature": await signTwilioRequest(h.tw.authToken, url, params),
    },
    body: new URLSearchParams(params),
  });
  assertEquals(res.status, 204);
  const state = await sessionState(h.sql, sessionId);
  assertEquals([state.status, state.carrier_call_id], ["dialing", sid]);
  const [event] = await h.sql`select applied, payload from public.call_events
                               where session_id = ${sessionId} and type = 'twilio.completed'`;
  assertEquals([event.applied, event.payload.reason], [false, "call_sid_mismatch"]);
});

Deno.test("bad requests: unknown session 404, bad session id or fields 400, GET 405, not a form 415, unconfigured 503", async () => {
  await using h = await harness();
  const signed = async (query: string, params: Record<string, string>, contentType?: string) => {
    const url = `${PUBLIC}/twilio-status?${query}`;
    const res = await fetch(`${h.local}/twilio-status?${query}`, {
      method: "POST",
      headers: {
        "Content-Type": contentType ?? "application/x-www-form-urlencoded",
        "X-Twilio-Signature": await signTwilioRequest(h.tw.authToken, url, params),
      },
      body: new URLSearchParams(params),
    });
    return { status: res.status, body: await res.json() };
  };
  const callSid = "CA" + "0".repeat(32);
  const unknown = await signed(`session_id=${crypto.randomUUID()}`, {
    CallSid: callSid,
    CallStatus: "ringing",
  });
  assertEquals([unknown.status, unknown.body.error.code], [404, "session_not_found"]);
  const badId = await signed("session_id=42", { CallSid: callSid, CallStatus: "ringing" });
  assertEquals([badId.status, badId.body.error.code], [400, "invalid_session_id"]);
  const { sessionId } = await h.call();
  const badSid = await signed(`session_id=${sessionId}`, { CallSid: "nope", CallStatus: "ringing" });
  assertEquals([badSid.status, badSid.body.error.code], [400, "invalid_call_sid"]);
  const badStatus = await signed(`session_id=${sessionId}`, { CallSid: callSid, CallStatus: "exploded" });
  assertEquals([badStatus.status, badStatus.body.error.code], [400, "invalid_call_status"]);
  const neither = await signed(`session_id=${sessionId}`, { CallSid: callSid });
  assertEquals([neither.status, neither.body.error.code], [400, "missing_call_status"]);
  const text = await signed(`session_id=${sessionId}`, { CallSid: callSid }, "text/plain");
  assertEquals([text.status, text.body.error.code], [415, "unsupported_content_type"]);
  assertEquals((await sessionState(h.sql, sessionId)).status, "dialing");

  const get = await fetch(`${h.local}/twilio-status`);
  assertEquals([get.status, get.headers.get("allow"), (await get.json()).error.code], [
    405,
    "POST",
    "method_not_allowed",
  ]);
  const unconfigured = await create({ env: {} })(
    new Request("http://x/twilio-status", { method: "POST" }),
  );
  assertEquals([unconfigured.status, (await unconfigured.json()).error.code], [503, "not_configured"]);
});

// twilio-voice against the real database: Twilio's TwiML request (form POST, signed over the public URL with the
// session id), answered with TwiML the way Twilio reads it.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
// The real twilio-node, in this test only: a request it signs must be accepted.
import twilio from "twilio";
import { connect, type Sql } from "../_shared/database.ts";
import {
  createOrg,
  rowCounts,
  sessionState,
  signToken,
  startAttempt,
  startRestApi,
} from "../../../devstack/fixtures/test-database.ts";
import { signTwilioRequest } from "../_shared/twilio-signature.ts";
import type { PostgrestDouble } from "../../../devstack/doubles/postgrest/postgrest-double.ts";
import { bridgeUri, create } from "./handler.ts";

const databaseUrl = Deno.env.get("TEST_DATABASE_URL")!;
const PUBLIC = "https://project-ref.supabase.co/functions/v1";
const AUTH_TOKEN = "f".repeat(32);
const ENV = {
  TWILIO_ACCOUNT_SID: "AC" + "1".repeat(32),
  TWILIO_AUTH_TOKEN: AUTH_TOKEN,
  PUBLIC_FUNCTIONS_URL: PUBLIC + "/",
  LIVEKIT_SIP_URI: "sip:abc123.sip.livekit.cloud",
};
const XML = '<?xml version="1.0" encoding="UTF-8"?>';
const HANGUP = `${XML}<Response><Hangup/></Response>`;

function sid(): string {
  return "CA" + crypto.randomUUID().replaceAll("-", "");
}

/** The voice request Twilio sends when the callee picks up, signed for the public URL of `sessionId`. */
async function voiceRequest(
  sessionId: string,
  params: Record<string, string>,
  opts: { signature?: string | null; query?: string } = {},
): Promise<Request> {
  const query = opts.query ?? `session_id=${sessionId}`;
  const form = {
    AccountSid: ENV.TWILIO_ACCOUNT_SID,
    ApiVersion: "2010-04-01",
    CallStatus: "in-progress",
    Direction: "outbound-api",
    From: "+12025550100",
    To: "+12125550123",
    ...params,
  };
  const signature = opts.signature !== undefined
    ? opts.signature
    : await signTwilioRequest(AUTH_TOKEN, `${PUBLIC}/twilio-voice?${query}`, form);
  const headers = new Headers({ "Content-Type": "application/x-www-form-urlencoded" });
  if (signature !== null) headers.set("X-Twilio-Signature", signature);
  // The function sees the gateway's URL, not the public one.
  return new Request(`http://127.0.0.1:54321/twilio-voice?${query}`, {
    method: "POST",
    headers,
    body: new URLSearchParams(form),
  });
}

type TestEnv = typeof ENV & { SUPABASE_URL: string; SUPABASE_SERVICE_ROLE_KEY: string };

/** The database for fixtures and checks, and the function's env reaching it through the REST API. */
async function withDb(fn: (sql: Sql, env: TestEnv, rest: PostgrestDouble) => Promise<void>) {
  const sql = connect(databaseUrl, { max: 2 });
  await using rest = await startRestApi(databaseUrl);
  try {
    await fn(sql, { ...ENV, ...rest.env }, rest.double);
  } finally {
    await sql.end();
  }
}

async function voiceEvents(sql: Sql, sessionId: string) {
  const rows = await sql`select applied, payload -> 'answer' as answer from public.call_events
                          where session_id = ${sessionId} and type = 'twilio.voice' order by id`;
  return rows.map((r) => ({ applied: r.applied, answer: r.answer }));
}

Deno.test("bridgeUri: the LiveKit inbound URI over TCP with only the session id as a URI header", () => {
  const id = "0b9c3f0e-8d1c-4a7e-9d55-6f0e2b7a1c11";
  assertEquals(
    bridgeUri("sip:abc.sip.livekit.cloud", id),
    `sip:abc.sip.livekit.cloud;transport=tcp?X-Call-Session-Id=${id}`,
  );
  assertEquals(
    bridgeUri("abc.sip.livekit.cloud", id),
    `sip:abc.sip.livekit.cloud;transport=tcp?X-Call-Session-Id=${id}`,
  );
  assertEquals(
    bridgeUri("SIP:+15550001111@abc.sip.livekit.cloud", id),
    `sip:+15550001111@abc.sip.livekit.cloud;transport=tcp?X-Call-Session-Id=${id}`,
  );
  assertEquals(
    bridgeUri("sips:abc.sip.livekit.cloud;transport=tls", id),
    `sips:abc.sip.livekit.cloud;transport=tls?X-Call-Session-Id=${id}`,
  );
  assertEquals(bridgeUri("", id), null);
  assertEquals(bridgeUri("sip:a b", id), null);
  assertEquals(bridgeUri("sip:host?X-Other=1", id), null);
});

Deno.test("a human answered: TwiML dials the LiveKit trunk with the session id, and the attempt is answered", async () => {
  await withDb(async (sql, env) => {
    const org = await createOrg(sql, { maxDurationSeconds: 600 });
    const callSid = sid();
    const { sessionId } = await startAttempt(sql, org, { callSid, calleeName: "Jane Roe" });
    const res = await create({ env })(await voiceRequest(sessionId, { CallSid: callSid }));
    assertEquals(res.status, 200);
    assertEquals(res.headers.get("content-type"), "text/xml; charset=utf-8");
    const body = await res.text();
    assertEquals(
      body,
      `${XML}<Response><Dial timeLimit="600"><Sip>sip:abc123.sip.livekit.cloud;transport=tcp?X-Call-Session-Id=${sessionId}</Sip></Dial></Response>`,
    );
    assert(!body.includes("Jane") && !body.includes("+1212"));
    const state = await sessionState(sql, sessionId);
    assertEquals([state.status, state.answered_by, state.call_status], ["answered", null, "in_progress"]);
    assertEquals(await voiceEvents(sql, sessionId), [{
      applied: true,
      answer: { action: "bridge", session_id: sessionId, time_limit_seconds: 600 },
    }]);
  });
});

Deno.test("a request signed by twilio-node itself is accepted; trunk credentials go on <Sip>", async () => {
  await withDb(async (sql, env) => {
    const org = await createOrg(sql);
    const callSid = sid();
    const { sessionId } = await startAttempt(sql, org, { callSid });
    const form = { CallSid: callSid, AccountSid: ENV.TWILIO_ACCOUNT_SID, AnsweredBy: "human" };
    const url = `${PUBLIC}/twilio-voice?session_id=${sessionId}`;
    const req = new Request(`http://gateway/twilio-voice?session_id=${sessionId}`, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": twilio.getExpectedTwilioSignature(AUTH_TOKEN, url, form),
      },
      body: new URLSearchParams(form),
    });
    const body = await (await create({
      env: { ...env, LIVEKIT_SIP_USERNAME: "trunk-user", LIVEKIT_SIP_PASSWORD: 'p&ss"<' },
    })(req)).text();
    assert(
      body.includes('<Sip username="trunk-user" password="p&amp;ss&quot;&lt;">sip:abc123.sip.livekit.cloud'),
      body,
    );
    assertEquals((await sessionState(sql, sessionId)).answered_by, "human");
  });
});

Deno.test("a machine on a leave_message template: the message is said, then hang up; the attempt is voicemail", async () => {
  await withDb(async (sql, env) => {
    const org = await createOrg(sql, {
      name: "Smith & Jones <Clinic>",
      voicemailPolicy: "leave_message",
      voicemailMessage: "Hello {{callee_name}}, this is {{ organization }}. Call us about {{topic}}.",
    });
    const callSid = sid();
    const { sessionId } = await startAttempt(sql, org, {
      callSid,
      calleeName: "Jane",
      variables: { topic: "your \\1 visit" },
    });
    const handler = create({ env });
    const res = await handler(
      await voiceRequest(sessionId, { CallSid: callSid, AnsweredBy: "machine_end_beep" }),
    );
    const expected = `${XML}<Response><Say>Hello Jane, this is Smith &amp; Jones &lt;Clinic&gt;. ` +
      `Call us about your \\1 visit.</Say><Hangup/></Response>`;
    assertEquals([res.status, await res.text()], [200, expected]);
    const state = await sessionState(sql, sessionId);
    assertEquals([state.status, state.ended_reason, state.answered_by, state.call_status], [
      "ended",
      "voicemail",
      "voicemail",
      "queued",
    ]);
    // Twilio asking again gets the same document; nothing more is recorded; the stored answer has no message.
    const counts = await rowCounts(
      sql,
      (await sql`select intake_call_id from public.call_sessions
                                                    where id = ${sessionId}`)[0].intake_call_id,
    );
    const again = await handler(
      await voiceRequest(sessionId, { CallSid: callSid, AnsweredBy: "machine_end_beep" }),
    );
    assertEquals(await again.text(), expected);
    assertEquals(
      await rowCounts(
        sql,
        (await sql`select intake_call_id from public.call_sessions where id = ${sessionId}`)[0]
          .intake_call_id,
      ),
      counts,
    );
    assertEquals(await voiceEvents(sql, sessionId), [{
      applied: true,
      answer: { action: "leave_message", reason: "machine_answered" },
    }]);
  });
});

Deno.test("a machine on a hang_up template, or a fax: hang up at once", async () => {
  await withDb(async (sql, env) => {
    const org = await createOrg(sql, { voicemailPolicy: "hang_up" });
    for (const [answeredBy, outcome] of [["machine_start", "voicemail"], ["fax", "failed"]]) {
      const callSid = sid();
      const { sessionId } = await startAttempt(sql, org, { callSid });
      const res = await create({ env })(
        await voiceRequest(sessionId, { CallSid: callSid, AnsweredBy: answeredBy }),
      );
      assertEquals(await res.text(), HANGUP);
      const state = await sessionState(sql, sessionId);
      assertEquals([state.status, state.ended_reason], ["ended", outcome], answeredBy);
    }
  });
});

Deno.test("unknown, ended, cancelled and foreign attempts are hung up, with an event where there is a call", async () => {
  await withDb(async (sql, env) => {
    const handler = create({ env });
    const org = await createOrg(sql);

    const unknown = await handler(await voiceRequest(crypto.randomUUID(), { CallSid: sid() }));
    assertEquals([unknown.status, await unknown.text()], [200, HANGUP]);
    const noSession = await handler(await voiceRequest("", { CallSid: sid() }, { query: "session_id=nope" }));
    assertEquals([noSession.status, await noSession.text()], [200, HANGUP]);

    const ended = await startAttempt(sql, org, { callSid: sid() });
    await sql`select public.record_session_outcome(${ended.sessionId}, 'no_answer', 'carrier')`;
    const endedSid = (await sessionState(sql, ended.sessionId)).carrier_call_id!;
    assertEquals(
      await (await handler(await voiceRequest(ended.sessionId, { CallSid: endedSid }))).text(),
      HANGUP,
    );
    assertEquals(await voiceEvents(sql, ended.sessionId), [{
      applied: false,
      answer: { action: "hang_up", reason: "session_ended" },
    }]);

    // A second carrier call for the same attempt (the first one is the session's) never reaches the agent.
    const live = await startAttempt(sql, org, { callSid: sid() });
    const before = await sessionState(sql, live.sessionId);
    assertEquals(
      await (await handler(await voiceRequest(live.sessionId, { CallSid: sid() }))).text(),
      HANGUP,
    );
    assertEquals(await sessionState(sql, live.sessionId), before);
    assertEquals((await voiceEvents(sql, live.sessionId))[0].answer.reason, "call_sid_mismatch");

    const livekit = await startAttempt(sql, org, { carrier: "livekit", callSid: null });
    assertEquals(
      await (await handler(await voiceRequest(livekit.sessionId, { CallSid: sid() }))).text(),
      HANGUP,
    );
    assertEquals((await sessionState(sql, livekit.sessionId)).status, "created");

    const cancelled = await startAttempt(sql, org, { callSid: sid() });
    await sql`update public.intake_calls set cancel_requested_at = now() where id = ${cancelled.callId}`;
    const cancelledSid = (await sessionState(sql, cancelled.sessionId)).carrier_call_id!;
    assertEquals(
      await (await handler(await voiceRequest(cancelled.sessionId, { CallSid: cancelledSid }))).text(),
      HANGUP,
    );
    const state = await sessionState(sql, cancelled.sessionId);
    assertEquals([state.ended_reason, state.call_status], ["cancelled", "cancelled"]);
  });
});

Deno.test("a request reaching the function before the dispatcher recorded the call adopts it", async () => {
  await withDb(async (sql, env) => {
    const org = await createOrg(sql);
    const { sessionId, callId } = await startAttempt(sql, org, { callSid: null });
    const callSid = sid();
    const res = await create({ env })(await voiceRequest(sessionId, { CallSid: callSid }));
    assert((await res.text()).includes("<Dial"));
    const state = await sessionState(sql, sessionId);
    assertEquals([state.status, state.carrier_call_id, state.call_status], [
      "answered",
      callSid,
      "in_progress",
    ]);
    assertEquals((await sql`select attempts from public.intake_calls where id = ${callId}`)[0].attempts, 1);
  });
});

Deno.test("forged, unsigned and replayed-with-other-parameters requests get 403 and write nothing", async () => {
  await withDb(async (sql, env) => {
    const org = await createOrg(sql, { voicemailPolicy: "hang_up" });
    const callSid = sid();
    const { sessionId, callId } = await startAttempt(sql, org, { callSid });
    const other = await startAttempt(sql, org, { callSid: sid() });
    const handler = create({ env });
    const counts = await rowCounts(sql, callId);
    const state = await sessionState(sql, sessionId);
    const otherState = await sessionState(sql, other.sessionId);

    const genuine = await voiceRequest(sessionId, { CallSid: callSid });
    const signature = genuine.headers.get("x-twilio-signature")!;
    const cases: Array<[string, Request, string]> = [
      [
        "unsigned",
        await voiceRequest(sessionId, { CallSid: callSid }, { signature: null }),
        "missing_signature",
      ],
      [
        "wrong token",
        await voiceRequest(sessionId, { CallSid: callSid }, {
          signature: await signTwilioRequest(
            "0".repeat(32),
            `${PUBLIC}/twilio-voice?session_id=${sessionId}`,
            {
              CallSid: callSid,
            },
          ),
        }),
        "invalid_signature",
      ],
      [
        "other parameters",
        await voiceRequest(sessionId, { CallSid: callSid, AnsweredBy: "machine_start" }, { signature }),
        "invalid_signature",
      ],
      [
        "other session",
        await voiceRequest(sessionId, { CallSid: callSid }, {
          signature,
          query: `session_id=${other.sessionId}`,
        }),
        "invalid_signature",
      ],
    ];
    for (const [name, req, code] of cases) {
      const res = await handler(req);
      assertEquals([res.status, (await res.json()).error.code], [403, code], name);
    }
    assertEquals(await rowCounts(sql, callId), counts);
    assertEquals(await sessionState(sql, sessionId), state);
    assertEquals(await sessionState(sql, other.sessionId), otherState);
  });
});

Deno.test("bad requests: GET 405, no CallSid 400, unconfigured or a bad LIVEKIT_SIP_URI 503", async () => {
  await withDb(async (_sql, env) => {
    const handler = create({ env });
    const get = await handler(new Request("http://x/twilio-voice"));
    assertEquals([get.status, (await get.json()).error.code], [405, "method_not_allowed"]);
    const noSid = await handler(await voiceRequest(crypto.randomUUID(), {}));
    assertEquals([noSid.status, (await noSid.json()).error.code], [400, "invalid_call_sid"]);
    const unconfigured = [
      {},
      { ...env, LIVEKIT_SIP_URI: "" },
      { ...env, LIVEKIT_SIP_URI: "not a uri" },
      { ...env, SUPABASE_URL: "" },
      { ...env, SUPABASE_SERVICE_ROLE_KEY: "" },
    ];
    for (const broken of unconfigured) {
      const res = await create({ env: broken })(await voiceRequest(crypto.randomUUID(), { CallSid: sid() }));
      assertEquals([res.status, (await res.json()).error.code], [503, "not_configured"]);
    }
  });
});

Deno.test("the database out of reach (REST API down, unreachable, or refusing the key): 503 so Twilio retries, nothing written", async () => {
  await withDb(async (sql, env, rest) => {
    const org = await createOrg(sql);
    const callSid = sid();
    const { sessionId, callId } = await startAttempt(sql, org, { callSid });
    const counts = await rowCounts(sql, callId);
    const state = await sessionState(sql, sessionId);
    const wrongKey = await signToken({ role: "service_role" }, { secret: "w".repeat(40) });
    const outages: [string, TestEnv, () => void][] = [
      ["PostgREST answering 503", env, () => rest.failNext(1)],
      ["nothing listening", { ...env, SUPABASE_URL: "http://127.0.0.1:9" }, () => {}],
      ["a key signed with another secret", { ...env, SUPABASE_SERVICE_ROLE_KEY: wrongKey }, () => {}],
    ];
    for (const [what, outageEnv, arrange] of outages) {
      arrange();
      const res = await create({ env: outageEnv })(await voiceRequest(sessionId, { CallSid: callSid }));
      assertEquals([res.status, (await res.json()).error.code], [503, "database_unavailable"], what);
      assertEquals(await rowCounts(sql, callId), counts, what);
      assertEquals(await sessionState(sql, sessionId), state, what);
    }
    // Twilio's retry, once the database is back, is answered as the first try would have been.
    const res = await create({ env })(await voiceRequest(sessionId, { CallSid: callSid }));
    assert((await res.text()).includes("<Dial"));
  });
});

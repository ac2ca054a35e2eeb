// web-calls against the real database and the LiveKit double.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { jwtVerify } from "jose";
import { AgentJobMetadata } from "../../../shared/src/agent-job.ts";
import { WebCallResponse } from "../../../shared/src/web-call.ts";
import type { Env } from "../_shared/env.ts";
import { type LiveKitDouble, startLiveKitDouble } from "../../../devstack/doubles/livekit/livekit-double.ts";
import { type TestDatabase, type TestOrg, withDatabase } from "../../../devstack/fixtures/test-database.ts";
import { create } from "./handler.ts";

const JWT_SECRET = Deno.env.get("SUPABASE_JWT_SECRET")!;

function envFor(lk: LiveKitDouble | null): Env {
  return {
    SUPABASE_JWT_SECRET: JWT_SECRET,
    ...(lk ? { LIVEKIT_URL: lk.url, LIVEKIT_API_KEY: lk.apiKey, LIVEKIT_API_SECRET: lk.apiSecret } : {}),
    DISPATCH_CARRIER_TIMEOUT_MS: "2000",
  };
}

function post(credential: string | null, body: unknown, headers: Record<string, string> = {}): Request {
  return new Request("http://localhost/web-calls", {
    method: "POST",
    headers: {
      ...(credential ? { Authorization: `Bearer ${credential}` } : {}),
      "Content-Type": "application/json",
      ...headers,
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

function callBody(org: TestOrg, extra: Record<string, unknown> = {}) {
  return {
    org_id: org.orgId,
    template_id: org.templateId,
    callee_phone: "+1 212 555 0177",
    callee_name: "Mary Shelley",
    variables: { reason: "migraine" },
    ...extra,
  };
}

async function callCount(db: TestDatabase, org: TestOrg): Promise<number> {
  const [{ n }] = await db.sql<{ n: number }[]>`
    select count(*)::int as n from public.intake_calls where org_id = ${org.orgId}`;
  return n;
}

Deno.test("a member starts a web call: same records as a phone call, an agent in the room, a token to join it", async () => {
  await withDatabase(async (db) => {
    const org = await db.createOrg();
    const { token } = await db.createUser(org);
    await using lk = startLiveKitDouble();
    const res = await create({ sql: db.sql, env: envFor(lk) })(post(token, callBody(org)));
    assertEquals(res.status, 201, await res.clone().text());
    const body = WebCallResponse.parse(await res.json());
    assertEquals([body.room_name, body.livekit_url], [`call-${body.session_id}`, lk.url]);

    const [call] = await db
      .sql`select status::text, carrier::text, callee_phone, attempts from public.intake_calls
                                 where id = ${body.intake_call_id}`;
    assertEquals(call, { status: "in_progress", carrier: "web", callee_phone: "+12125550177", attempts: 1 });
    const [session] = await db.sessions(org);
    assertEquals([session.id, session.status, session.room_name], [
      body.session_id,
      "dialing",
      body.room_name,
    ]);

    const dispatch = lk.dispatches.get(session.dispatch_id!)!;
    assertEquals([dispatch.room, dispatch.agentName], [body.room_name, "intake-agent"]);
    const metadata = AgentJobMetadata.parse(JSON.parse(dispatch.metadata));
    assertEquals([metadata.carrier, metadata.dial, metadata.session_id], ["web", null, body.session_id]);
    for (const phi of ["2125550177", "Mary", "Shelley", "migraine"]) {
      assert(!dispatch.metadata.includes(phi), phi);
    }
    const agent = await jwtVerify(metadata.agent_token, new TextEncoder().encode(JWT_SECRET));
    assertEquals([agent.payload.role, agent.payload.call_session_id], ["call_agent", body.session_id]);

    // The browser's token: join this room only, briefly, under an identity that says nothing about the person.
    const { payload } = await jwtVerify(body.participant_token, new TextEncoder().encode(lk.apiSecret));
    assertEquals(payload.video, {
      room: body.room_name,
      roomJoin: true,
      canPublish: true,
      canSubscribe: true,
      canPublishData: true,
    });
    assertEquals([payload.sub, payload.iss], [`web-${body.session_id}`, lk.apiKey]);
    assert(payload.exp! - payload.nbf! <= 600);
    assert(!JSON.stringify(payload).includes("Mary"));
  });
});

Deno.test("an org API key starts a web call for its own organisation without naming it", async () => {
  await withDatabase(async (db) => {
    const org = await db.createOrg();
    const key = await db.createApiKey(org);
    await using lk = startLiveKitDouble();
    const { org_id: _unnamed, ...body } = callBody(org);
    const res = await create({ sql: db.sql, env: envFor(lk) })(post(key, body));
    assertEquals(res.status, 201, await res.clone().text());
    assertEquals(await callCount(db, org), 1);

    const other = await db.createOrg();
    const foreign = await create({ sql: db.sql, env: envFor(lk) })(post(key, callBody(other)));
    assertEquals([foreign.status, (await foreign.json()).error.code], [404, "organization_not_found"]);
    assertEquals(await callCount(db, other), 0);
  });
});

Deno.test("web-calls refuses bad credentials, bad bodies and other orgs' data, creating nothing", async () => {
  await withDatabase(async (db) => {
    const org = await db.createOrg();
    const other = await db.createOrg();
    const { token } = await db.createUser(org);
    const { token: outsider } = await db.createUser(null);
    await db
      .sql`insert into public.do_not_call (org_id, phone, source) values (${org.orgId}, '+12125550166', 'manual')`;
    await using lk = startLiveKitDouble();
    const handler = create({ sql: db.sql, env: envFor(lk) });
    const cases: Array<[Request, number, string]> = [
      [post(null, callBody(org)), 401, "unauthenticated"],
      [post("ik_unknown", callBody(org)), 401, "invalid_api_key"],
      [post("eyJhbGciOiJIUzI1NiJ9.e30.x", callBody(org)), 401, "invalid_token"],
      [
        new Request("http://localhost/web-calls", { headers: { Authorization: `Bearer ${token}` } }),
        405,
        "method_not_allowed",
      ],
      [post(token, "{oops"), 400, "invalid_json"],
      [post(token, callBody(org), { "Content-Type": "text/plain" }), 415, "unsupported_media_type"],
      [post(token, { ...callBody(org), notes: "x".repeat(20_000) }), 413, "payload_too_large"],
      [post(token, callBody(org, { callee_phone: "+1971265679" })), 400, "validation_failed"],
      [post(token, callBody(org, { template_id: "not-a-uuid" })), 400, "validation_failed"],
      [post(token, callBody(org, { callee_timezone: "Mars/Olympus" })), 400, "validation_failed"],
      // The same placeholder rules as a phone call's: names the template could never reference are refused.
      [post(token, callBody(org, { variables: { "first name": "Ann" } })), 400, "validation_failed"],
      [post(token, callBody(org, { carrier: "twilio" })), 400, "validation_failed"],
      [post(token, callBody(org, { org_id: undefined })), 400, "org_id_required"],
      [post(token, callBody(org, { template_id: other.templateId })), 422, "template_not_found"],
      [post(token, callBody(org, { callee_phone: "+12125550166" })), 422, "do_not_call"],
      [post(token, callBody(other)), 404, "organization_not_found"],
      [post(outsider, callBody(org)), 404, "organization_not_found"],
    ];
    for (const [req, status, code] of cases) {
      const res = await handler(req);
      assertEquals([res.status, (await res.json()).error.code], [status, code], `${status} ${code}`);
    }
    assertEquals([await callCount(db, org), await callCount(db, other)], [0, 0]);
    assertEquals(lk.requests.length, 0);

    const unconfigured = await create({ sql: db.sql, env: envFor(null) })(post(token, callBody(org)));
    assertEquals([unconfigured.status, (await unconfigured.json()).error.code], [
      503,
      "livekit_not_configured",
    ]);
    const noSecret = await create({ sql: db.sql, env: { ...envFor(lk), SUPABASE_JWT_SECRET: "" } })(
      post(token, callBody(org)),
    );
    assertEquals([noSecret.status, (await noSecret.json()).error.code], [503, "not_configured"]);
    assertEquals(await callCount(db, org), 0);
  });
});

Deno.test("when LiveKit refuses the agent dispatch the web call ends failed and is never dialled later", async () => {
  await withDatabase(async (db) => {
    const org = await db.createOrg();
    const { token } = await db.createUser(org);
    await using lk = startLiveKitDouble();
    lk.failNext("CreateDispatch", { kind: "twirp", code: "unavailable" });
    const res = await create({ sql: db.sql, env: envFor(lk) })(post(token, callBody(org)));
    assertEquals([res.status, (await res.json()).error.code], [503, "livekit_unavailable"]);
    assertEquals((await db.calls(org)).map((c) => `${c.status}/${c.outcome}/${c.attempts}`), [
      "failed/failed/0",
    ]);
    assertEquals((await db.sessions(org)).map((s) => `${s.status}/${s.ended_reason}`), ["ended/not_dialed"]);
  });
});

Deno.test("a browser may ask first: the preflight is answered with CORS headers", async () => {
  await withDatabase(async (db) => {
    const res = await create({ sql: db.sql, env: envFor(null) })(
      new Request("http://localhost/web-calls", { method: "OPTIONS" }),
    );
    assertEquals(res.status, 200);
    assert(res.headers.get("access-control-allow-headers")?.includes("authorization"));
    await res.body?.cancel();
  });
});

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { connect } from "../_shared/database.ts";
import { signToken, TestDatabase, type TestOrg as Org } from "../../../devstack/fixtures/test-database.ts";
import { startLiveKitDouble } from "../../../devstack/doubles/livekit/livekit-double.ts";
import { IntakeCallListQuery, WaitingReason } from "../../../shared/src/intake-call-request.ts";
import { CSV_FIELD_COLUMNS, CSV_PHONE_COLUMNS, CSV_QUERY_FIELDS } from "./create.ts";
import { create } from "./handler.ts";

const databaseUrl = Deno.env.get("TEST_DATABASE_URL")!;
const db = new TestDatabase(connect(databaseUrl, { max: 4 }));
const sql = db.sql;

/** An organisation with an admin, a member (and their access token), an API key and an escalation number. */
type TestOrg = Org & { adminId: string; memberId: string; memberToken: string; apiKey: string };
async function createTestOrg(): Promise<TestOrg> {
  const org = await db.createOrg();
  await sql`update public.organizations set escalation_phone = '+14155550100' where id = ${org.orgId}`;
  const admin = await db.createUser(org, "admin");
  const member = await db.createUser(org);
  return {
    ...org,
    adminId: admin.userId,
    memberId: member.userId,
    memberToken: member.token,
    apiKey: await db.createApiKey(org),
  };
}
const env = { SUPABASE_JWT_SECRET: Deno.env.get("SUPABASE_JWT_SECRET") };
const handle = create({ sql, env });
const BASE = "http://localhost/intake-calls";
const PHONE = "+14155552671";

let a: TestOrg;
let b: TestOrg;
const ready = (async () => {
  a = await createTestOrg();
  b = await createTestOrg();
})();

function call(init: { method?: string; path?: string; key?: string; body?: unknown; headers?: HeadersInit }) {
  const headers = new Headers(init.headers);
  if (init.key) headers.set("Authorization", `Bearer ${init.key}`);
  let body: BodyInit | undefined;
  if (init.body !== undefined) {
    body = typeof init.body === "string" ? init.body : JSON.stringify(init.body);
    if (!headers.has("content-type")) headers.set("Content-Type", "application/json");
  }
  return handle(new Request(BASE + (init.path ?? ""), { method: init.method ?? "POST", headers, body }));
}

const countCalls = async (org: string) =>
  Number((await sql`select count(*)::int as n from public.intake_calls where org_id = ${org}`)[0].n);

function request(org: TestOrg, extra: Record<string, unknown> = {}) {
  return { phone_number: PHONE, template_id: org.templateId, ...extra };
}

Deno.test("POST creates a queued call for the API key's organization", async () => {
  await ready;
  const res = await call({
    key: a.apiKey,
    body: request(a, { callee_name: "Ada", variables: { clinic: "North" }, priority: 5 }),
  });
  assertEquals(res.status, 201);
  const body = await res.json();
  assertEquals(body.status, "queued");
  assertEquals(body.organization_id, a.orgId);
  assertEquals(body.callee.phone_number, PHONE);
  assertEquals(res.headers.get("location"), `/functions/v1/intake-calls/${body.id}`);
  const [row] =
    await sql`select callee_phone, priority, variables, status from public.intake_calls where id = ${body.id}`;
  assertEquals(row, { callee_phone: PHONE, priority: 5, variables: { clinic: "North" }, status: "queued" });
});

Deno.test("a national-format number with phone_country is stored in E.164", async () => {
  await ready;
  const res = await call({
    key: a.apiKey,
    body: request(a, { phone_number: "(415) 555-2672", phone_country: "US" }),
  });
  assertEquals(res.status, 201);
  assertEquals((await res.json()).callee.phone_number, "+14155552672");
});

Deno.test("the same intake_id returns the original call; a different body is a 409", async () => {
  await ready;
  const intake_id = crypto.randomUUID();
  const first = await call({ key: a.apiKey, body: request(a, { intake_id }) });
  assertEquals(first.status, 201);
  const original = await first.json();
  const again = await call({ key: a.apiKey, body: request(a, { intake_id, priority: 0 }) }); // default made explicit
  assertEquals(again.status, 200);
  assertEquals(again.headers.get("idempotent-replayed"), "true");
  assertEquals((await again.json()).id, original.id);
  const conflict = await call({ key: a.apiKey, body: request(a, { intake_id, priority: 9 }) });
  assertEquals(conflict.status, 409);
  const error = (await conflict.json()).error;
  assertEquals(error.code, "idempotency_conflict");
  assertEquals(error.details.intake_call_id, original.id);
  const n =
    await sql`select count(*)::int as n from public.intake_calls where idempotency_key = ${intake_id}`;
  assertEquals(n[0].n, 1);
});

Deno.test("the Idempotency-Key header makes retries safe too", async () => {
  await ready;
  const headers = { "Idempotency-Key": crypto.randomUUID() };
  const first = await call({ key: a.apiKey, body: request(a), headers });
  const second = await call({ key: a.apiKey, body: request(a), headers });
  assertEquals([first.status, second.status], [201, 200]);
  assertEquals((await first.json()).id, (await second.json()).id);
});

Deno.test("seed 000's +1971265679 is refused with 422 and nothing is written", async () => {
  await ready;
  const before = await countCalls(a.orgId);
  const res = await call({ key: a.apiKey, body: request(a, { phone_number: "+1971265679" }) });
  assertEquals(res.status, 422);
  assertEquals((await res.json()).error.code, "invalid_phone_number");
  assertEquals(await countCalls(a.orgId), before);
});

// Issue 13: libphonenumber reads a number out of all of these; each used to be stored as +14155552671.
const LENIENT_PHONES: [string, string][] = [
  ["+1 (415) 555-2671 ext 9999999", "extension"],
  ["+14155552671;drop", "unparseable"],
  ["tel:+14155552671", "unparseable"],
  ["+\u0661\u0664\u0661\u0665\u0665\u0665\u0665\u0662\u0666\u0667\u0661", "unparseable"],
  ["+1-415-555-2671 x", "unparseable"],
];

Deno.test("lenient phone spellings are a 422 invalid_phone_number with the reason, alone, in a batch and in a CSV; nothing is written", async () => {
  await ready;
  const before = await countCalls(a.orgId);
  for (const [phone, reason] of LENIENT_PHONES) {
    const res = await call({ key: a.apiKey, body: request(a, { phone_number: phone }) });
    assertEquals(res.status, 422, phone);
    const { error } = await res.json();
    assertEquals([error.code, error.details.reason], ["invalid_phone_number", reason], phone);
  }
  const batch = await call({
    key: a.apiKey,
    body: {
      defaults: { template_id: a.templateId },
      calls: LENIENT_PHONES.map(([p]) => ({ phone_number: p })),
    },
  });
  const batchBody = await batch.json();
  assertEquals(
    batchBody.results.map((r: { error: { code: string } }) => r.error.code),
    LENIENT_PHONES.map(() => "invalid_phone_number"),
  );
  const csv = "phone\n" + LENIENT_PHONES.map(([p]) => `"${p}"`).join("\n") + "\n";
  const upload = await call({
    key: a.apiKey,
    path: `?template_id=${a.templateId}`,
    body: csv,
    headers: { "Content-Type": "text/csv" },
  });
  const uploadBody = await upload.json();
  assertEquals([uploadBody.created, uploadBody.failed], [0, LENIENT_PHONES.length]);
  assertEquals(await countCalls(a.orgId), before);
});

Deno.test("malformed requests get 400/413/415 with the error envelope", async () => {
  await ready;
  const cases: [Parameters<typeof call>[0], number, string][] = [
    [{ key: a.apiKey, body: "{not json" }, 400, "invalid_json"],
    [{ key: a.apiKey, body: request(a, { colour: "blue" }) }, 400, "validation_failed"],
    [{ key: a.apiKey, body: { template_id: a.templateId } }, 400, "validation_failed"],
    [{ key: a.apiKey, body: request(a, { callee_timezone: "Mars/Olympus" }) }, 400, "validation_failed"],
    [
      {
        key: a.apiKey,
        body: request(a, { not_before: "2030-01-02T00:00:00Z", deadline: "2030-01-01T00:00:00Z" }),
      },
      422,
      "constraint_violation",
    ],
    [{ key: a.apiKey, body: request(a, { deadline: "2001-01-01T00:00:00Z" }) }, 422, "deadline_passed"],
    [
      {
        key: a.apiKey,
        body: request(a, {
          carrier: "livekit",
          simulation: {
            name: "busy patient",
            description: "hangs up at once",
            template: "intake",
            persona: { description: "hangs up at once" },
            expect: { outcome: "failed" },
          },
        }),
      },
      422,
      "constraint_violation",
    ],
    [{ key: a.apiKey, body: "x", headers: { "Content-Type": "text/plain" } }, 415, "unsupported_media_type"],
    [{ key: a.apiKey, body: "a".repeat(5 * 1024 * 1024 + 1) }, 413, "payload_too_large"],
    [
      { key: a.apiKey, body: { calls: Array.from({ length: 1001 }, () => request(a)) } },
      413,
      "too_many_calls",
    ],
    [{ key: a.apiKey, method: "DELETE" }, 405, "method_not_allowed"],
    [{ key: a.apiKey, method: "GET", path: "/x/y/z" }, 404, "route_not_found"],
  ];
  const before = await countCalls(a.orgId);
  for (const [init, status, code] of cases) {
    const res = await call(init);
    const body = await res.json();
    assertEquals([res.status, body.error?.code], [status, code], JSON.stringify(init).slice(0, 120));
    assert(typeof body.error.message === "string" && body.error.message.length > 0);
  }
  const details =
    (await (await call({ key: a.apiKey, body: request(a, { colour: "blue" }) })).json()).error.details;
  assert(Array.isArray(details) && details[0].code === "unrecognized_keys");
  assertEquals(await countCalls(a.orgId), before);
});

Deno.test("callers without valid credentials are refused", async () => {
  await ready;
  const revokedKey = await db.createApiKey(a, { revoked: true });
  const cases: [string | undefined, number, string][] = [
    [undefined, 401, "unauthenticated"],
    ["ik_not_a_real_key", 401, "invalid_api_key"],
    [revokedKey, 401, "invalid_api_key"],
    ["eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoiYXV0aGVudGljYXRlZCJ9.forged", 401, "invalid_token"],
    [await signToken({ role: "anon" }), 401, "unauthenticated"],
    [await signToken({ role: "service_role" }), 403, "forbidden"],
    [await signToken({ role: "authenticated", sub: a.memberId }, { expiresIn: "-1m" }), 401, "invalid_token"],
  ];
  for (const [key, status, code] of cases) {
    const res = await call({ key, body: request(a) });
    assertEquals([res.status, (await res.json()).error.code], [status, code], String(key).slice(0, 20));
  }
});

Deno.test("organisations are isolated: A's key cannot create for, read, list or cancel B's calls", async () => {
  await ready;
  const bCall = await (await call({ key: b.apiKey, body: request(b) })).json();
  const forB = await call({ key: a.apiKey, body: request(b, { organization_id: b.orgId }) });
  assertEquals([forB.status, (await forB.json()).error.code], [404, "organization_not_found"]);
  const bTemplate = await call({ key: a.apiKey, body: request(b) }); // A's org, B's template
  assertEquals([bTemplate.status, (await bTemplate.json()).error.code], [422, "template_not_found"]);
  const read = await call({ key: a.apiKey, method: "GET", path: `/${bCall.id}` });
  assertEquals(read.status, 404);
  await read.body?.cancel();
  const cancel = await call({ key: a.apiKey, path: `/${bCall.id}/cancel` });
  assertEquals([cancel.status, (await cancel.json()).error.code], [404, "intake_call_not_found"]);
  const list = await (await call({ key: a.apiKey, method: "GET", path: "?limit=100" })).json();
  assert(list.data.every((c: { organization_id: string }) => c.organization_id === a.orgId));
  const [row] = await sql`select status from public.intake_calls where id = ${bCall.id}`;
  assertEquals(row.status, "queued");
});

Deno.test("a member's access token works; a user in two organisations must name one", async () => {
  await ready;
  const res = await call({ key: a.memberToken, body: request(a) });
  assertEquals(res.status, 201);
  const [row] = await sql`select created_by from public.intake_calls where id = ${(await res.json()).id}`;
  assertEquals(row.created_by, a.memberId);
  await sql`insert into public.organization_members (org_id, user_id) values (${b.orgId}, ${a.memberId})`;
  try {
    const ambiguous = await call({ key: a.memberToken, body: request(a) });
    assertEquals([ambiguous.status, (await ambiguous.json()).error.code], [400, "organization_required"]);
    const named = await call({ key: a.memberToken, body: request(b, { organization_id: b.orgId }) });
    assertEquals(named.status, 201);
    await named.body?.cancel();
  } finally {
    await sql`delete from public.organization_members where org_id = ${b.orgId} and user_id = ${a.memberId}`;
  }
});

Deno.test("a batch validates each call on its own and reports per item", async () => {
  await ready;
  const ref = crypto.randomUUID();
  const res = await call({
    key: a.apiKey,
    body: {
      defaults: { template_id: a.templateId, external_ref: ref },
      calls: [{ phone_number: PHONE }, { phone_number: "+1971265679" }, {
        phone_number: PHONE,
        priority: 1000,
      }, {
        phone_number: "+442071838750",
        callee_timezone: "Europe/London",
      }],
    },
  });
  assertEquals(res.status, 200);
  const body = await res.json();
  assertEquals([body.created, body.existing, body.failed], [2, 0, 2]);
  assertEquals(body.results.map((r: { status: number }) => r.status), [201, 422, 400, 201]);
  assertEquals(body.results[1].error.code, "invalid_phone_number");
  const rows = await sql`select count(*)::int as n from public.intake_calls where external_ref = ${ref}`;
  assertEquals(rows[0].n, 2);
});

Deno.test("a batch item that the database refuses does not undo the others", async () => {
  await ready;
  const ref = crypto.randomUUID();
  const res = await call({
    key: a.apiKey,
    body: {
      calls: [
        request(a, { external_ref: ref }),
        request(b, { external_ref: ref }),
        request(a, {
          external_ref: ref,
          not_before: "2030-01-02T00:00:00Z",
          deadline: "2030-01-01T00:00:00Z",
        }),
        request(a, { external_ref: ref }),
      ],
    },
  });
  const body = await res.json();
  assertEquals(body.results.map((r: { status: number }) => r.status), [201, 422, 422, 201]);
  assertEquals(body.results[1].error.code, "template_not_found");
  assertEquals(body.results[2].error, {
    code: "constraint_violation",
    message: "the request breaks a rule of the data",
    details: { constraint: "deadline_after_start" },
  });
  const rows = await sql`select count(*)::int as n from public.intake_calls where external_ref = ${ref}`;
  assertEquals(rows[0].n, 2);
});

Deno.test("CSV upload: a phone column, known columns, and the rest as variables", async () => {
  await ready;
  const ref = crypto.randomUUID();
  const csv = `Phone,Name,External_Ref,Appointment Date\n+14155552671,Ada,${ref},2026-12-01\n` +
    `"(415) 555-2673",Bob,${ref},2026-12-02\nnot a phone,Eve,${ref},2026-12-03\n`;
  const res = await call({
    key: a.apiKey,
    path: `?template_id=${a.templateId}&phone_country=US&priority=3`,
    body: csv,
    headers: { "Content-Type": "text/csv; charset=utf-8" },
  });
  assertEquals(res.status, 200);
  const body = await res.json();
  assertEquals(body.results.map((r: { status: number }) => r.status), [201, 201, 422]);
  const rows = await sql`select callee_phone, callee_name, variables, priority from public.intake_calls
                          where external_ref = ${ref} order by callee_phone`;
  assertEquals(rows.map((r) => [r.callee_phone, r.callee_name, r.variables, r.priority]), [
    ["+14155552671", "Ada", { appointment_date: "2026-12-01" }, 3],
    ["+14155552673", "Bob", { appointment_date: "2026-12-02" }, 3],
  ]);
  const noPhone = await call({ key: a.apiKey, body: "name\nAda\n", headers: { "Content-Type": "text/csv" } });
  assertEquals([noPhone.status, (await noPhone.json()).error.code], [400, "invalid_csv"]);
  const broken = await call({
    key: a.apiKey,
    body: 'phone\n"unterminated\n',
    headers: { "Content-Type": "text/csv" },
  });
  assertEquals([broken.status, (await broken.json()).error.code], [400, "invalid_csv"]);
});

Deno.test("GET /{id} returns attempts, transcript, results, escalations and events; also by intake_id", async () => {
  await ready;
  const intake_id = `app-${crypto.randomUUID()}`;
  const created = await (await call({ key: a.apiKey, body: request(a, { intake_id }) })).json();
  const res = await call({ key: a.apiKey, method: "GET", path: `/${created.id}` });
  assertEquals(res.status, 200);
  const body = await res.json();
  assertEquals(body.id, created.id);
  assertEquals([body.attempts, body.transcript, body.escalations, body.results], [[], [], [], {}]);
  assertEquals(body.events.map((e: { type: string }) => e.type), ["call.created"]);
  const byIntakeId = await (await call({ key: a.apiKey, method: "GET", path: `/${intake_id}` })).json();
  assertEquals(byIntakeId.id, created.id);
  const missing = await call({ key: a.apiKey, method: "GET", path: `/${crypto.randomUUID()}` });
  assertEquals([missing.status, (await missing.json()).error.code], [404, "intake_call_not_found"]);
});

Deno.test("GET says why a queued call waits (waiting_reason), in the call and in the list", async () => {
  await ready;
  const notBefore = new Date(Date.now() + 3 * 86_400_000);
  const created = await (await call({
    key: a.apiKey,
    body: request(a, { not_before: notBefore.toISOString(), external_ref: `wait-${crypto.randomUUID()}` }),
  })).json();
  const body = await (await call({ key: a.apiKey, method: "GET", path: `/${created.id}` })).json();
  const reason = WaitingReason.parse(body.waiting_reason);
  assertEquals(created.waiting_reason, reason, "the POST answer says it already");
  assertEquals([reason.code, Date.parse(reason.until!)], ["not_before", notBefore.getTime()]);
  const list =
    await (await call({ key: a.apiKey, method: "GET", path: `?external_ref=${created.external_ref}` }))
      .json();
  assertEquals(list.data.map((c: { waiting_reason: WaitingReason }) => c.waiting_reason), [reason]);
  await call({ key: a.apiKey, path: `/${created.id}/cancel`, body: {} });
  const cancelled = await (await call({ key: a.apiKey, method: "GET", path: `/${created.id}` })).json();
  assertEquals([cancelled.status, cancelled.waiting_reason], ["cancelled", null]);
});

Deno.test("GET lists with filters and a cursor that pages without gaps or repeats", async () => {
  await ready;
  const ref = crypto.randomUUID();
  const ids = new Set<string>();
  for (let i = 0; i < 5; i++) {
    ids.add((await (await call({ key: a.apiKey, body: request(a, { external_ref: ref }) })).json()).id);
  }
  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page: { data: { id: string }[]; next_cursor: string | null } = await (await call({
      key: a.apiKey,
      method: "GET",
      path: `?external_ref=${ref}&status=queued,dispatching&limit=2${cursor ? `&cursor=${cursor}` : ""}`,
    })).json();
    seen.push(...page.data.map((c) => c.id));
    cursor = page.next_cursor;
    pages++;
  } while (cursor);
  assertEquals(pages, 3);
  assertEquals(new Set(seen), ids);
  assertEquals(seen.length, 5);
  const none =
    await (await call({ key: a.apiKey, method: "GET", path: `?external_ref=${ref}&status=completed` }))
      .json();
  assertEquals(none.data, []);
  for (const bad of ["?cursor=nonsense", "?status=bogus", "?limit=1000", "?colour=blue"]) {
    const res = await call({ key: a.apiKey, method: "GET", path: bad });
    assertEquals(res.status, 400, bad);
    await res.body?.cancel();
  }
});

Deno.test("cancel: a queued call is cancelled at once; a second cancel is a 409", async () => {
  await ready;
  const created = await (await call({ key: a.apiKey, body: request(a) })).json();
  const res = await call({
    key: a.apiKey,
    path: `/${created.id}/cancel`,
    body: { reason: "patient rescheduled" },
  });
  assertEquals(res.status, 200);
  assertEquals((await res.json()).intake_call.status, "cancelled");
  const again = await call({ key: a.apiKey, path: `/${created.id}/cancel` });
  assertEquals([again.status, (await again.json()).error.code], [409, "call_already_final"]);
  const bad = await call({ key: a.apiKey, path: `/${created.id}/cancel`, body: { reason: 42 } });
  assertEquals(bad.status, 400);
  await bad.body?.cancel();
});

/** Puts a call into a live attempt the way the dispatcher does (claim, attempt, dialling). */
async function makeLive(callId: string): Promise<string> {
  const [claimed] =
    await sql`update public.intake_calls set status = 'dispatching', claim_token = gen_random_uuid()
                               where id = ${callId} returning claim_token`;
  const [session] = await sql`select (public.start_call_attempt(${callId}, ${claimed.claim_token})).id`;
  await sql`select public.mark_session_dialing(${session.id}, ${
    "CA" + crypto.randomUUID().replaceAll("-", "")
  })`;
  return session.id;
}

Deno.test("escalate and terminate act on live calls only", async () => {
  await ready;
  const queued = await (await call({ key: a.apiKey, body: request(a) })).json();
  for (const action of ["escalate", "terminate"]) {
    const res = await call({ key: a.apiKey, path: `/${queued.id}/${action}` });
    assertEquals([res.status, (await res.json()).error.code], [409, "call_not_live"]);
  }
  const live = await (await call({ key: a.apiKey, body: request(a) })).json();
  const session = await makeLive(live.id);
  const escalated = await call({
    key: a.apiKey,
    path: `/${live.id}/escalate`,
    body: { reason: "clinician asked" },
  });
  assertEquals(escalated.status, 202);
  const [esc] =
    await sql`select level, source, transferred_to from public.escalations where session_id = ${session}`;
  assertEquals(esc, { level: "override", source: "operator", transferred_to: "+14155550100" });
  const terminated = await call({ key: a.apiKey, path: `/${live.id}/terminate` });
  assertEquals(terminated.status, 202);
  assertEquals((await terminated.json()).intake_call.status, "cancelled");
  const [s] = await sql`select status, ended_reason from public.call_sessions where id = ${session}`;
  assertEquals(s, { status: "ended", ended_reason: "terminated" });
  const otherOrg = await call({ key: b.apiKey, path: `/${live.id}/terminate` });
  assertEquals(otherOrg.status, 404);
  await otherOrg.body?.cancel();
});

Deno.test("live calls are acted on at the carrier: hang-up on terminate and cancel, SIP transfer on escalate", async () => {
  await ready;
  await using lk = startLiveKitDouble();
  const withLiveKit = create({
    sql,
    env: { ...env, LIVEKIT_URL: lk.url, LIVEKIT_API_KEY: lk.apiKey, LIVEKIT_API_SECRET: lk.apiSecret },
  });
  const post = (path: string) =>
    withLiveKit(
      new Request(BASE + path, { method: "POST", headers: { Authorization: `Bearer ${a.apiKey}` } }),
    );
  const methods = () => lk.requests.map((r) => r.method);

  const toEscalate = await (await call({ key: a.apiKey, body: request(a) })).json();
  const escalatedSession = await makeLive(toEscalate.id);
  const [{ room_name: room }] =
    await sql`select room_name from public.call_sessions where id = ${escalatedSession}`;
  lk.addParticipant(room, { identity: "callee", kind: "SIP" });
  const escalated = await (await post(`/${toEscalate.id}/escalate`)).json();
  assertEquals(escalated.carrier, { action: "transfer", ok: true });
  assert(methods().includes("TransferSIPParticipant"));

  const toTerminate = await (await call({ key: a.apiKey, body: request(a) })).json();
  await makeLive(toTerminate.id);
  const terminated = await (await post(`/${toTerminate.id}/terminate`)).json();
  assertEquals(terminated.carrier, { action: "hang_up", ok: true });
  assertEquals(methods().filter((m) => m === "DeleteRoom").length, 1);

  const toCancel = await (await call({ key: a.apiKey, body: request(a) })).json();
  const cancelledSession = await makeLive(toCancel.id);
  const cancel = await post(`/${toCancel.id}/cancel`);
  assertEquals(cancel.status, 202);
  const cancelled = await cancel.json();
  assertEquals([cancelled.intake_call.status, cancelled.carrier], ["in_progress", {
    action: "hang_up",
    ok: true,
  }]);
  assertEquals(methods().filter((m) => m === "DeleteRoom").length, 2);
  // When the attempt ends (whatever the agent reports), the call ends as cancelled.
  await sql`select public.record_session_outcome(${cancelledSession}, 'failed', 'carrier')`;
  const [row] = await sql`select status, outcome from public.intake_calls where id = ${toCancel.id}`;
  assertEquals(row, { status: "cancelled", outcome: "cancelled" });
});

Deno.test("a carrier failure does not undo the operator's decision and is reported", async () => {
  await ready;
  const live = await (await call({ key: a.apiKey, body: request(a) })).json();
  const session = await makeLive(live.id);
  const res = await call({ key: a.apiKey, path: `/${live.id}/terminate` }); // no LiveKit configured here
  assertEquals(res.status, 202);
  const body = await res.json();
  assertEquals([body.carrier.action, body.carrier.ok], ["hang_up", false]);
  const [s] = await sql`select status, ended_reason from public.call_sessions where id = ${session}`;
  assertEquals(s, { status: "ended", ended_reason: "terminated" });
});

Deno.test("a key over its rate limit gets 429 with Retry-After; other keys are unaffected", async () => {
  await ready;
  const c = await createTestOrg();
  await sql`update private.platform_settings set api_burst = 3, api_requests_per_second = 0.01`;
  try {
    const statuses = [];
    for (let i = 0; i < 4; i++) {
      const res = await call({ key: c.apiKey, method: "GET" });
      statuses.push(res.status);
      if (res.status === 429) {
        assert(Number(res.headers.get("retry-after")) >= 1);
        assertEquals((await res.json()).error.code, "rate_limited");
      } else await res.body?.cancel();
    }
    assertEquals(statuses, [200, 200, 200, 429]);
    const other = await call({ key: b.apiKey, method: "GET", path: "?limit=1" });
    assertEquals(other.status, 200);
    await other.body?.cancel();
  } finally {
    await sql`update private.platform_settings set api_burst = 200, api_requests_per_second = 50`;
  }
});

Deno.test("hundreds of random malformed bodies get only 4xx and write nothing", async () => {
  await ready;
  const c = await createTestOrg();
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)];
  const junk = () =>
    pick<unknown>([
      -1,
      1e308,
      "",
      "x".repeat(5000),
      [],
      true,
      "+1971265679",
      "2026-13-45",
      { $gt: "" },
      [1, 2],
      { a: { nested: true } },
      "'; drop table intake_calls; --",
    ]);
  const fields = [
    "phone_number",
    "template_id",
    "organization_id",
    "patient_id",
    "not_before",
    "deadline",
    "priority",
    "variables",
    "carrier",
    "callee_timezone",
  ];
  for (let i = 0; i < 300; i++) {
    const base: Record<string, unknown> = request(c);
    const kind = i % 4;
    let body: unknown;
    if (kind === 0) body = { ...base, [pick(fields)]: junk() };
    else if (kind === 1) {
      const { [pick(["phone_number", "template_id"])]: _dropped, ...rest } = base;
      body = { ...rest, [pick(fields)]: junk() };
    } else if (kind === 2) {
      body = pick<unknown>([junk(), [base], "garbage", 7, { calls: [] }, { calls: "x" }]);
    } else body = { ...base, [`unknown_${i}`]: junk() };
    const res = await call({ key: c.apiKey, body: typeof body === "string" ? body : JSON.stringify(body) });
    const payload = await res.json();
    if (res.status === 200 && Array.isArray(payload.results)) {
      // A batch form answers 200 with the refusal per item.
      assert(payload.results.every((r: { status: number }) => r.status >= 400 && r.status < 500));
      continue;
    }
    assert(res.status >= 400 && res.status < 500, `${res.status} for ${JSON.stringify(body).slice(0, 200)}`);
    assert(typeof payload.error.code === "string");
  }
  assertEquals(await countCalls(c.orgId), 0);
});

Deno.test("a database outage answers 503, not 500", async () => {
  await ready;
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const down = connect(`postgresql://postgres:postgres@127.0.0.1:${port}/postgres`, {
    max: 1,
    connectTimeoutSeconds: 1,
  });
  try {
    const res = await create({ sql: down, env })(
      new Request(BASE, {
        method: "POST",
        headers: { Authorization: `Bearer ${a.apiKey}`, "Content-Type": "application/json" },
        body: JSON.stringify(request(a)),
      }),
    );
    assertEquals([res.status, (await res.json()).error.code], [503, "database_unavailable"]);
    assert(res.headers.get("retry-after"));
  } finally {
    await down.end();
  }
});

Deno.test("CORS preflight and the OpenAPI description", async () => {
  const pre = await handle(new Request(BASE, { method: "OPTIONS" }));
  assertEquals(pre.headers.get("access-control-allow-origin"), "*");
  await pre.body?.cancel();
  const res = await handle(new Request(`${BASE}/openapi.json`));
  const doc = await res.json();
  assertEquals(doc.openapi, "3.1.0");
  assert(doc.paths["/intake-calls"].post.requestBody.content["application/json"]);
  const single = doc.paths["/intake-calls"].post.requestBody.content["application/json"].schema.oneOf[0];
  assert(single.required.includes("phone_number") && single.required.includes("template_id"));
  // Everything the handler accepts is described: the list's filters, the CSV query fields and columns.
  const names = (params: { name: string; in: string }[]) =>
    params.filter((p) => p.in === "query").map((p) => p.name).sort();
  assertEquals(
    names(doc.paths["/intake-calls"].get.parameters),
    Object.keys(IntakeCallListQuery.shape).sort(),
  );
  assertEquals(names(doc.paths["/intake-calls"].post.parameters), [...CSV_QUERY_FIELDS].sort());
  const csv = doc.paths["/intake-calls"].post.requestBody.content["text/csv"].description;
  for (const column of [...CSV_PHONE_COLUMNS, ...Object.keys(CSV_FIELD_COLUMNS)]) {
    assert(csv.includes(column), `the CSV description names ${column}`);
  }
});

Deno.test({
  name: "close the database pool",
  fn: async () => {
    await ready;
    await db.close();
  },
});

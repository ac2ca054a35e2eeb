import { deepStrictEqual as assertEquals, ok as assert, rejects as assertRejects } from "node:assert/strict";
import {
  AccessToken,
  AgentDispatchClient,
  RoomServiceClient,
  SipCallError,
  SipClient,
  TwirpError,
} from "livekit-server-sdk";
import { startLiveKitDouble } from "./livekit-double.ts";

/** The error a promise rejects with. */
async function failure(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  throw new Error("expected a rejection");
}

Deno.test("the real SDK clients succeed against the double, which logs method, body and claims", async () => {
  await using lk = startLiveKitDouble();
  const rooms = new RoomServiceClient(lk.url, lk.apiKey, lk.apiSecret);
  const dispatch = new AgentDispatchClient(lk.url, lk.apiKey, lk.apiSecret);
  const sip = new SipClient(lk.url, lk.apiKey, lk.apiSecret);

  const room = await rooms.createRoom({ name: "call-1", emptyTimeout: 60, metadata: '{"call":1}' });
  assertEquals([room.name, room.emptyTimeout, room.metadata], ["call-1", 60, '{"call":1}']);
  assert(room.sid.startsWith("RM_"));

  const created = await dispatch.createDispatch("call-1", "intake-agent", { metadata: '{"script":"s1"}' });
  assertEquals([created.agentName, created.room, created.metadata], [
    "intake-agent",
    "call-1",
    '{"script":"s1"}',
  ]);
  assertEquals((await dispatch.listDispatch("call-1")).map((d) => d.id), [created.id]);
  assertEquals((await dispatch.getDispatch(created.id, "call-1"))?.agentName, "intake-agent");

  const info = await sip.createSipParticipant("ST_trunk", "+15551234567", "call-1", {
    participantIdentity: "callee",
    fromNumber: "+15550000000",
    participantAttributes: { call_id: "c1" },
  });
  assertEquals([info.participantIdentity, info.roomName], ["callee", "call-1"]);
  assert(info.sipCallId.startsWith("SCL_") && info.participantId.startsWith("PA_"));

  lk.addParticipant("call-1", { identity: "agent-1", kind: "AGENT" });
  const participants = await rooms.listParticipants("call-1");
  assertEquals(participants.map((p) => p.identity).sort(), ["agent-1", "callee"]);
  assertEquals(participants.find((p) => p.identity === "callee")?.attributes["call_id"], "c1");

  await rooms.removeParticipant("call-1", "callee");
  assertEquals(lk.participants("call-1").map((p) => p.identity), ["agent-1"]);
  await dispatch.deleteDispatch(created.id, "call-1");
  await rooms.deleteRoom("call-1");
  assertEquals(await rooms.listRooms(), []);

  // The log: every request with its parsed body (the SDK's camelCase JSON) and verified claims.
  assertEquals(lk.requests.map((r) => `${r.service}/${r.method} ${r.status}`), [
    "RoomService/CreateRoom 200",
    "AgentDispatchService/CreateDispatch 200",
    "AgentDispatchService/ListDispatch 200",
    "AgentDispatchService/ListDispatch 200",
    "SIP/CreateSIPParticipant 200",
    "RoomService/ListParticipants 200",
    "RoomService/RemoveParticipant 200",
    "AgentDispatchService/DeleteDispatch 200",
    "RoomService/DeleteRoom 200",
    "RoomService/ListRooms 200",
  ]);
  const dial = lk.requests[4];
  assertEquals(dial.body?.sipTrunkId, "ST_trunk");
  assertEquals(dial.body?.sipCallTo, "+15551234567");
  assertEquals(dial.body?.sipNumber, "+15550000000");
  assertEquals(dial.claims?.sip, { call: true });
  assertEquals(dial.claims?.iss, lk.apiKey);
  assertEquals(lk.requests[1].claims?.video, { roomAdmin: true, room: "call-1" });
  assertEquals(lk.requests[0].claims?.video, { roomCreate: true });
});

Deno.test("a wrong secret or an unknown API key is refused with 401 before any grant is looked at", async () => {
  await using lk = startLiveKitDouble();
  const wrongSecret = await failure(
    new RoomServiceClient(lk.url, lk.apiKey, "not-the-secret").createRoom({ name: "r" }),
  );
  assert(wrongSecret instanceof TwirpError);
  assertEquals(wrongSecret.status, 401);
  assertEquals(wrongSecret.code, undefined); // plain-text body from the auth middleware, as LiveKit answers
  assert(wrongSecret.message.startsWith("invalid token"), wrongSecret.message);

  const wrongKey = await failure(
    new SipClient(lk.url, "APIother", lk.apiSecret).createSipParticipant("ST", "+1555", "r"),
  );
  assertEquals([wrongKey.status, wrongKey.message], [401, "invalid API key: APIother"]);

  const expired = new AccessToken(lk.apiKey, lk.apiSecret, { ttl: -120 }); // expired two minutes ago
  expired.addGrant({ roomCreate: true });
  const late = await failure(
    new RoomServiceClient(lk.url, undefined, undefined, { token: await expired.toJwt() })
      .createRoom({ name: "r" }),
  );
  assertEquals(late.status, 401);
  assert(late.message.includes('"exp" claim'), late.message);
  assertEquals(lk.rooms.size, 0);
  assertEquals(lk.requests.map((r) => [r.status, r.claims]), [[401, null], [401, null], [401, null]]);
});

Deno.test("a token missing the method's grant is refused: Twirp unauthenticated, 401, permissions denied", async () => {
  await using lk = startLiveKitDouble();
  const token = async (grant: Record<string, unknown>, sip?: Record<string, boolean>) => {
    const at = new AccessToken(lk.apiKey, lk.apiSecret, { ttl: "1m" });
    at.addGrant(grant);
    if (sip) at.addSIPGrant(sip);
    return await at.toJwt();
  };
  const cases: Array<[string, Promise<unknown>]> = [
    // Admin of another room.
    [
      "ListParticipants",
      new RoomServiceClient(lk.url, undefined, undefined, {
        token: await token({ roomAdmin: true, room: "other" }),
      })
        .listParticipants("call-1"),
    ],
    // roomCreate does not let you dispatch an agent: that needs roomAdmin on the room.
    [
      "CreateDispatch",
      new AgentDispatchClient(lk.url, undefined, undefined, { token: await token({ roomCreate: true }) })
        .createDispatch("call-1", "agent"),
    ],
    // A room admin cannot dial: SIP calls need the `sip.call` grant.
    [
      "CreateSIPParticipant",
      new SipClient(lk.url, undefined, undefined, { token: await token({ roomAdmin: true, room: "call-1" }) })
        .createSipParticipant("ST", "+15551234567", "call-1"),
    ],
    [
      "CreateSIPParticipant",
      new SipClient(lk.url, undefined, undefined, { token: await token({}, { admin: true }) })
        .createSipParticipant("ST", "+15551234567", "call-1"),
    ],
    [
      "DeleteRoom",
      new RoomServiceClient(lk.url, undefined, undefined, { token: await token({ roomList: true }) })
        .deleteRoom("r"),
    ],
  ];
  for (const [method, call] of cases) {
    const e = await failure(call);
    assert(e instanceof TwirpError, method);
    assertEquals([method, e.status, e.code, e.message], [
      method,
      401,
      "unauthenticated",
      "permissions denied",
    ]);
  }
  assertEquals(lk.participants("call-1"), []);
  assertEquals(lk.dispatches.size, 0);

  // No Authorization header at all: no grants, the same refusal.
  const res = await fetch(`${lk.url}/twirp/livekit.RoomService/CreateRoom`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ name: "r" }),
  });
  assertEquals([res.status, res.headers.get("content-type"), await res.json()], [
    401,
    "application/json",
    { code: "unauthenticated", msg: "permissions denied" },
  ]);
});

Deno.test("a scripted SIP 486 reaches the SDK as a SipCallError carrying the SIP status", async () => {
  await using lk = startLiveKitDouble();
  const sip = new SipClient(lk.url, lk.apiKey, lk.apiSecret);
  lk.failNext("CreateSIPParticipant", { kind: "sip", sipStatusCode: 486 }, 2);

  for (let i = 0; i < 2; i++) {
    const e = await failure(sip.createSipParticipant("ST_trunk", "+15551234567", "call-1"));
    assert(e instanceof SipCallError && e instanceof TwirpError);
    assertEquals(e.status, 429);
    assertEquals(e.code, "resource_exhausted");
    assertEquals(e.metadata, { sip_status_code: "486", sip_status: "Busy Here" });
    assertEquals([e.sipStatusCode, e.sipStatus], [486, "Busy Here"]);
    assertEquals(e.message, "SIP call failed: 486 Busy Here (resource_exhausted)");
  }
  assertEquals(lk.participants("call-1"), []);

  // The script is used up: the third dial connects.
  assertEquals((await sip.createSipParticipant("ST_trunk", "+15551234567", "call-1")).roomName, "call-1");

  // Other statuses map as livekit/protocol does; the code can be overridden.
  lk.failNext("CreateSIPParticipant", { kind: "sip", sipStatusCode: 480 });
  lk.failNext("CreateSIPParticipant", { kind: "sip", sipStatusCode: 603, code: "unavailable" });
  const noAnswer = await failure(sip.createSipParticipant("ST", "+15551234567", "call-2"));
  assertEquals([noAnswer.code, noAnswer.status, noAnswer.sipStatusCode], ["resource_exhausted", 429, 480]);
  const declined = await failure(sip.createSipParticipant("ST", "+15551234567", "call-2"));
  assertEquals([declined.code, declined.status, declined.sipStatus], ["unavailable", 503, "Decline"]);
});

Deno.test("scripted 5xx errors: a Twirp error and a raw proxy page", async () => {
  await using lk = startLiveKitDouble();
  const dispatch = new AgentDispatchClient(lk.url, lk.apiKey, lk.apiSecret);
  lk.failNext("CreateDispatch", { kind: "twirp", code: "unavailable", msg: "no workers available" });
  lk.failNext("CreateDispatch", {
    kind: "http",
    status: 502,
    body: "<html>Bad Gateway</html>",
    contentType: "text/html",
  });

  const twirp = await failure(dispatch.createDispatch("call-1", "agent"));
  assertEquals([twirp.status, twirp.code, twirp.message], [503, "unavailable", "no workers available"]);
  const proxy = await failure(dispatch.createDispatch("call-1", "agent"));
  assertEquals([proxy.status, proxy.code, proxy.message], [502, undefined, "<html>Bad Gateway</html>"]);
  assertEquals((await dispatch.createDispatch("call-1", "agent")).agentName, "agent");
});

Deno.test("a scripted hang ends in the client's timeout, and close() does not wait for it", async () => {
  await using lk = startLiveKitDouble();
  const sip = new SipClient(lk.url, lk.apiKey, lk.apiSecret, { requestTimeout: 0.3 });
  lk.failNext("CreateSIPParticipant", { kind: "hang" });
  const started = performance.now();
  const e = await failure(sip.createSipParticipant("ST", "+15551234567", "call-1"));
  const elapsed = performance.now() - started;
  assertEquals(e.name, "TimeoutError");
  assert(elapsed >= 250 && elapsed < 3000, `timed out after ${elapsed} ms`);
  assertEquals(lk.requests[0].status, undefined);

  // A hang nobody times out is released by close().
  lk.failNext("CreateSIPParticipant", { kind: "hang" });
  const pending = new SipClient(lk.url, lk.apiKey, lk.apiSecret, { requestTimeout: 30 })
    .createSipParticipant("ST", "+15551234567", "call-1")
    .catch((err) => err);
  while (lk.requests.length < 2) await new Promise((r) => setTimeout(r, 5));
  const closeStarted = performance.now();
  await lk.close();
  assert(performance.now() - closeStarted < 2000);
  assert((await pending) instanceof Error);
});

Deno.test("latency applies to every answer or to one method", async () => {
  await using lk = startLiveKitDouble();
  const rooms = new RoomServiceClient(lk.url, lk.apiKey, lk.apiSecret);
  // Far apart, so that a slow machine's round trip is not read as latency.
  lk.setLatency(600, "CreateRoom");
  let started = performance.now();
  await rooms.createRoom({ name: "r" });
  assert(performance.now() - started >= 590);
  started = performance.now();
  await rooms.listRooms();
  assert(performance.now() - started < 500);
  lk.setLatency(100);
  started = performance.now();
  await rooms.listRooms();
  assert(performance.now() - started >= 90);
});

Deno.test("Twirp routing and decoding errors: bad route, GET, malformed JSON, not found", async () => {
  await using lk = startLiveKitDouble();
  const at = new AccessToken(lk.apiKey, lk.apiSecret);
  at.addGrant({ roomCreate: true, roomAdmin: true, room: "r" });
  const headers = { Authorization: `Bearer ${await at.toJwt()}`, "Content-Type": "application/json" };

  const unknown = await fetch(`${lk.url}/twirp/livekit.RoomService/Nope`, {
    method: "POST",
    headers,
    body: "{}",
  });
  assertEquals([unknown.status, (await unknown.json()).code], [404, "bad_route"]);
  const get = await fetch(`${lk.url}/twirp/livekit.RoomService/CreateRoom`, { headers });
  assertEquals([get.status, (await get.json()).code], [404, "bad_route"]);
  const bad = await fetch(`${lk.url}/twirp/livekit.RoomService/CreateRoom`, {
    method: "POST",
    headers,
    body: "{",
  });
  assertEquals([bad.status, (await bad.json()).code], [400, "malformed"]);
  const basic = await fetch(`${lk.url}/twirp/livekit.RoomService/CreateRoom`, {
    method: "POST",
    headers: { Authorization: "Basic abc" },
    body: "{}",
  });
  assertEquals([basic.status, await basic.text()], [
    401,
    "invalid authorization header. Must start with Bearer ",
  ]);

  const rooms = new RoomServiceClient(lk.url, lk.apiKey, lk.apiSecret);
  await assertRejects(rooms.deleteRoom("missing"), (e: any) => e.status === 404 && e.code === "not_found");
  await rooms.createRoom({ name: "r" });
  await assertRejects(rooms.removeParticipant("r", "ghost"), (e: any) => e.code === "not_found");
  assertEquals(await rooms.listParticipants("r"), []);
});

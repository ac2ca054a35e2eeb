// The LiveKit carrier's live-call operations and error typing, against the LiveKit double (real SDK, real JWTs).
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import {
  type LiveKitDouble,
  startLiveKitDouble,
} from "../../../../devstack/doubles/livekit/livekit-double.ts";
import { TokenBucket } from "../rate-limit.ts";
import { CallInitiationError, CarrierError, InvalidNumberError, LiveKitApiError } from "./errors.ts";
import { LiveKitApi, LiveKitCarrier } from "./livekit.ts";
import { SimulationCarrier } from "./simulation.ts";
import { WebCarrier } from "./web.ts";
import type { AttemptContext, LiveSession } from "./types.ts";

function carrierFor(lk: LiveKitDouble, opts: { apiSecret?: string; timeoutMs?: number; url?: string } = {}) {
  return new LiveKitCarrier(
    new LiveKitApi({
      url: opts.url ?? lk.url,
      apiKey: lk.apiKey,
      apiSecret: opts.apiSecret ?? lk.apiSecret,
      defaultSipTrunkId: null,
      requestTimeoutMs: opts.timeoutMs ?? 2_000,
      limiter: new TokenBucket(0),
    }),
  );
}

async function failure(promise: Promise<unknown>): Promise<CarrierError> {
  try {
    await promise;
  } catch (e) {
    assert(e instanceof CarrierError, `not a CarrierError: ${e}`);
    return e;
  }
  throw new Error("expected a rejection");
}

const session: LiveSession = {
  id: crypto.randomUUID(),
  carrier: "livekit",
  room_name: "call-test",
  carrier_call_id: null,
};

function attempt(room: string): AttemptContext {
  return {
    session: {
      id: crypto.randomUUID(),
      intake_call_id: crypto.randomUUID(),
      org_id: crypto.randomUUID(),
      attempt_number: 1,
      carrier: "livekit",
      room_name: room,
      created_at: new Date().toISOString(),
      carrier_call_id: null,
      dispatch_id: null,
    },
    call: { callee_phone: "+12125550100" },
    template: { max_duration_seconds: 600, voicemail_policy: "hang_up" },
    organization: { caller_id: null, livekit_sip_trunk_id: "ST_x" },
    ivr_steps: null,
  };
}

Deno.test("transfer moves the room's SIP participant to the number, with a token allowed to do so", async () => {
  await using lk = startLiveKitDouble();
  lk.addParticipant("call-test", { identity: "agent-1", kind: "AGENT" });
  lk.addParticipant("call-test", { identity: "callee-leg", kind: "SIP" });
  await carrierFor(lk).transfer(session, "+12025550143");
  const request = lk.requests.find((r) => r.method === "TransferSIPParticipant")!;
  assertEquals(request.status, 200);
  assertEquals(
    [request.body?.roomName, request.body?.participantIdentity, request.body?.transferTo],
    ["call-test", "callee-leg", "tel:+12025550143"],
  );
  assertEquals(request.claims?.sip, { call: true });
  assertEquals(request.claims?.video, { roomAdmin: true, room: "call-test" });
});

Deno.test("a transfer target that does not answer fails with its SIP status and outcome", async () => {
  await using lk = startLiveKitDouble();
  lk.addParticipant("call-test", { identity: "callee-leg", kind: "SIP" });
  const cases: Array<[number, string, string]> = [
    [486, "busy", "CallInitiationError"],
    [600, "busy", "CallInitiationError"],
    [480, "no_answer", "CallInitiationError"],
    [603, "declined", "CallInitiationError"],
    [404, "invalid_number", "InvalidNumberError"],
    [500, "failed", "CallInitiationError"],
  ];
  for (const [sipStatusCode, outcome, type] of cases) {
    lk.failNext("TransferSIPParticipant", { kind: "sip", sipStatusCode });
    const error = await failure(carrierFor(lk).transfer(session, "+12025550143"));
    assertEquals([error.name, error.failure, error.outcome, error.sipStatusCode], [
      type,
      "rejected",
      outcome,
      sipStatusCode,
    ]);
    assert(!error.message.includes("2025550143"), "no number in the error");
  }
});

Deno.test("transfer refuses a room without a phone leg and an undialable target before calling LiveKit", async () => {
  await using lk = startLiveKitDouble();
  lk.addParticipant("call-test", { identity: "browser", kind: "STANDARD" });
  const noLeg = await failure(carrierFor(lk).transfer(session, "+12025550143"));
  assertEquals([noLeg instanceof LiveKitApiError, noLeg.code], [true, "no_sip_participant"]);
  const before = lk.requests.length;
  const badNumber = await failure(carrierFor(lk).transfer(session, "+1202555"));
  assert(badNumber instanceof InvalidNumberError);
  assertEquals(lk.requests.length, before);
});

Deno.test("hang up deletes the room, and a room already gone is already hung up", async () => {
  await using lk = startLiveKitDouble();
  lk.addParticipant("call-test", { identity: "callee-leg", kind: "SIP" });
  const carrier = carrierFor(lk);
  await carrier.hangUp(session);
  assertEquals(lk.rooms.has("call-test"), false);
  await carrier.hangUp(session);
  assertEquals(lk.requests.map((r) => `${r.method} ${r.status}`), ["DeleteRoom 200", "DeleteRoom 404"]);
});

Deno.test("reconcile finds the attempt's dispatch by its room, and only there", async () => {
  await using lk = startLiveKitDouble();
  const carrier = carrierFor(lk);
  const mine = attempt("call-mine");
  const created = await carrier.originate({
    ...mine,
    agentToken: "x".repeat(40),
    sendBy: Date.now() + 60_000,
  });
  assertEquals(await carrier.reconcile(mine), {
    found: true,
    carrierCallId: null,
    dispatchId: created.dispatchId,
  });
  assertEquals(await carrier.reconcile(attempt("call-other")), { found: false });
});

Deno.test("LiveKit's answers and silences become the failure kinds the dispatcher acts on", async () => {
  await using lk = startLiveKitDouble();
  const room = attempt("call-errors");
  const originate = (carrier: LiveKitCarrier) =>
    carrier.originate({ ...room, agentToken: "x".repeat(40), sendBy: Date.now() + 60_000 });

  const badSecret = await failure(originate(carrierFor(lk, { apiSecret: "not-the-secret" })));
  assertEquals([badSecret.failure, badSecret.status], ["misconfigured", 401]);

  const cases: Array<[Parameters<LiveKitDouble["failNext"]>[1], string, string]> = [
    [{ kind: "twirp", code: "unavailable" }, "retryable", "twirp:unavailable"],
    [{ kind: "twirp", code: "internal" }, "retryable", "twirp:internal"],
    [
      { kind: "twirp", code: "resource_exhausted", msg: "rate limited" },
      "retryable",
      "twirp:resource_exhausted",
    ],
    [{ kind: "http", status: 504, body: "gateway timeout" }, "in_doubt", "twirp:unknown"],
    [{ kind: "twirp", code: "deadline_exceeded" }, "in_doubt", "twirp:deadline_exceeded"],
    [{ kind: "twirp", code: "permission_denied" }, "misconfigured", "twirp:permission_denied"],
    [{ kind: "twirp", code: "invalid_argument" }, "rejected", "twirp:invalid_argument"],
  ];
  for (const [scripted, kind, code] of cases) {
    lk.failNext("CreateDispatch", scripted);
    const error = await failure(originate(carrierFor(lk)));
    assertEquals([error.failure, error.code], [kind, code], JSON.stringify(scripted));
  }

  lk.failNext("CreateDispatch", { kind: "hang" });
  const timedOut = await failure(originate(carrierFor(lk, { timeoutMs: 100 })));
  assertEquals([timedOut.failure, timedOut.code], ["in_doubt", "timeout"]);

  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const nobody = `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`;
  listener.close();
  const refused = await failure(originate(carrierFor(lk, { url: nobody })));
  assertEquals([refused.failure, refused.code], ["retryable", "connection_refused"]);
  assert(!(refused instanceof CallInitiationError));
});

Deno.test("an origination held past its send window by the rate limit sends nothing", async () => {
  await using lk = startLiveKitDouble();
  const late = await failure(
    carrierFor(lk).originate({ ...attempt("call-late"), agentToken: "x".repeat(40), sendBy: Date.now() - 1 }),
  );
  assertEquals([late.failure, late.code], ["retryable", "send_window_passed"]);
  assertEquals(lk.requests.length, 0);
});

Deno.test("web and simulated calls hang up by closing the room and have no phone leg to transfer", async () => {
  await using lk = startLiveKitDouble();
  const api = new LiveKitApi({
    url: lk.url,
    apiKey: lk.apiKey,
    apiSecret: lk.apiSecret,
    defaultSipTrunkId: null,
    requestTimeoutMs: 2_000,
    limiter: new TokenBucket(0),
  });
  for (const carrier of [new WebCarrier(api), new SimulationCarrier(api)]) {
    lk.addParticipant("call-test", { identity: "browser", kind: "STANDARD" });
    await carrier.hangUp({ ...session, carrier: carrier.name });
    assertEquals(lk.rooms.has("call-test"), false, carrier.name);
    const refused = await failure(carrier.transfer());
    assertEquals(refused.failure, "rejected");
  }
  assertEquals(lk.requests.filter((r) => r.method === "TransferSIPParticipant").length, 0);
});

Deno.test("without LiveKit a simulated call goes to the runner; a scenario it cannot play ends the attempt", async () => {
  let status = 202;
  const jobs: { metadata: string }[] = [];
  await using runner = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    jobs.push(await req.json());
    return Response.json(status === 202 ? { accepted: true } : { error: { code: "x" } }, { status });
  });
  const carrier = new SimulationCarrier(null, `http://127.0.0.1:${runner.addr.port}`);
  const request = { ...attempt("call-sim"), agentToken: "x".repeat(40), sendBy: Date.now() + 60_000 };
  const accepted = await carrier.originate(request);
  assertEquals(accepted, { carrierCallId: `sim-${request.session.id}`, dispatchId: null });
  assertEquals(JSON.parse(jobs[0].metadata).session_id, request.session.id);

  status = 422;
  const refused = await failure(carrier.originate(request));
  assertEquals([refused.failure, refused.code, refused.outcome], [
    "rejected",
    "runner:scenario_unplayable",
    "failed",
  ]);
  status = 503;
  const unavailable = await failure(carrier.originate(request));
  assertEquals([unavailable.failure, unavailable.code], ["retryable", "runner:503"]);
});

Deno.test("a runner that does not answer leaves the attempt in doubt, and reconciling it releases the call", async () => {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  await using runner = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async () => {
    await held;
    return new Response(null, { status: 202 });
  });
  const carrier = new SimulationCarrier(null, `http://127.0.0.1:${runner.addr.port}`, 200);
  const request = { ...attempt("call-sim-hung"), agentToken: "x".repeat(40), sendBy: Date.now() + 60_000 };
  try {
    const timedOut = await failure(carrier.originate(request));
    assertEquals([timedOut.failure, timedOut.code], ["in_doubt", "timeout"]);
    assertEquals(await carrier.reconcile(request), { found: false });
  } finally {
    release();
  }
  const unreachable = new SimulationCarrier(null, "http://127.0.0.1:1", 200);
  const refused = await failure(unreachable.originate(request));
  assertEquals([refused.failure, refused.code], ["retryable", "runner_unreachable"]);
  // With neither LiveKit nor a runner nothing is contacted, so nothing can be lost.
  assertEquals((await new SimulationCarrier(null).reconcile(request)).found, true);
});

// The Twilio carrier's live-call operations, IVR replay and error typing, against the Twilio and LiveKit doubles
// (real twilio-node and livekit-server-sdk clients).
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import {
  type LiveKitDouble,
  startLiveKitDouble,
} from "../../../../devstack/doubles/livekit/livekit-double.ts";
import { startTwilioDouble, type TwilioDouble } from "../../../../devstack/doubles/twilio/twilio-double.ts";
import { TokenBucket } from "../rate-limit.ts";
import { CarrierError, InvalidNumberError } from "./errors.ts";
import { LiveKitApi } from "./livekit.ts";
import { sendDigitsFor, TwilioCarrier } from "./twilio.ts";
import type { AttemptContext } from "./types.ts";

function carrierFor(
  tw: TwilioDouble,
  liveKit: LiveKitApi | null,
  opts: { authToken?: string; timeoutMs?: number; known?: Set<string>; publicUrl?: string | null } = {},
) {
  return new TwilioCarrier({
    accountSid: tw.accountSid,
    authToken: opts.authToken ?? tw.authToken,
    fromNumber: "+12125550199",
    publicFunctionsUrl: opts.publicUrl === undefined
      ? "https://project.supabase.co/functions/v1"
      : opts.publicUrl,
    apiBaseUrl: tw.url,
    requestTimeoutMs: opts.timeoutMs ?? 2_000,
    callsPerSecond: new TokenBucket(0),
    knownCallIds: (sids) => Promise.resolve(new Set(sids.filter((sid) => opts.known?.has(sid)))),
  }, liveKit);
}

function liveKitApiFor(lk: LiveKitDouble): LiveKitApi {
  return new LiveKitApi({
    url: lk.url,
    apiKey: lk.apiKey,
    apiSecret: lk.apiSecret,
    defaultSipTrunkId: null,
    requestTimeoutMs: 2_000,
    limiter: new TokenBucket(0),
  });
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

function attempt(createdAt = new Date()): AttemptContext {
  const id = crypto.randomUUID();
  return {
    session: {
      id,
      intake_call_id: crypto.randomUUID(),
      org_id: crypto.randomUUID(),
      attempt_number: 1,
      carrier: "twilio",
      room_name: `call-${id}`,
      created_at: createdAt.toISOString(),
      carrier_call_id: null,
      dispatch_id: null,
    },
    call: { callee_phone: "+12125550123" },
    template: { max_duration_seconds: 600, voicemail_policy: "hang_up" },
    organization: { caller_id: null, livekit_sip_trunk_id: null },
    ivr_steps: null,
  };
}

Deno.test("a learned IVR path becomes SendDigits with whole and half second waits", () => {
  assertEquals(sendDigitsFor([{ after_ms: 3000, dtmf: "2" }]), "WWW2");
  assertEquals(sendDigitsFor([{ after_ms: 4000, dtmf: "23" }, { after_ms: 1500, dtmf: "1" }]), "Ww1WWw23");
  assertEquals(sendDigitsFor([{ after_ms: 0, dtmf: "*9#" }]), "*9#");
  assertEquals(sendDigitsFor(null), null);
  assertEquals(sendDigitsFor([]), null);
  assertEquals(sendDigitsFor([{ after_ms: 1000, dtmf: "2; drop" }]), null, "only keys can be pressed");
  assertEquals(sendDigitsFor([{ after_ms: 40_000, dtmf: "1" }]), null, "longer than Twilio's 32 characters");
});

Deno.test("hang up completes the Twilio call and removes the agent's room; an unknown call is already gone", async () => {
  await using tw = startTwilioDouble();
  await using lk = startLiveKitDouble();
  const carrier = carrierFor(tw, liveKitApiFor(lk));
  const live = attempt();
  const { carrierCallId } = await carrier.originate({
    ...live,
    agentToken: "x".repeat(40),
    sendBy: Date.now() + 60_000,
  });
  tw.setStatus(carrierCallId!, "in-progress");
  const session = { ...live.session, carrier_call_id: carrierCallId };
  await carrier.hangUp(session);
  assertEquals(tw.call(carrierCallId!)?.status, "completed");
  assertEquals(tw.call(carrierCallId!)?.updates, [{ Status: "completed" }]);
  assertEquals(lk.rooms.has(live.session.room_name), false);

  await carrier.hangUp({ ...session, carrier_call_id: "CA" + "0".repeat(32) });
  assertEquals(tw.requests.at(-1)?.status, 404);
});

Deno.test("transfer redirects the callee's Twilio leg to the number with <Dial> and the org's caller id", async () => {
  await using tw = startTwilioDouble();
  await using lk = startLiveKitDouble();
  const carrier = carrierFor(tw, liveKitApiFor(lk));
  const live = attempt();
  const { carrierCallId } = await carrier.originate({
    ...live,
    agentToken: "x".repeat(40),
    sendBy: Date.now() + 60_000,
  });
  tw.setStatus(carrierCallId!, "in-progress");
  const session = { ...live.session, carrier_call_id: carrierCallId };
  await carrier.transfer(session, "+12025550143", { callerId: "+12125550199" });
  assertEquals(
    tw.call(carrierCallId!)?.twiml,
    '<?xml version="1.0" encoding="UTF-8"?><Response><Dial callerId="+12125550199">+12025550143</Dial></Response>',
  );

  tw.setStatus(carrierCallId!, "completed");
  const ended = await failure(carrier.transfer(session, "+12025550143"));
  assertEquals([ended.failure, ended.code], ["rejected", "twilio:21220"]);
  const never = await failure(carrier.transfer({ ...session, carrier_call_id: null }, "+12025550143"));
  assertEquals(never.code, "no_carrier_call");
});

Deno.test("Twilio's answers and silences become the failure kinds the dispatcher acts on", async () => {
  await using tw = startTwilioDouble();
  await using lk = startLiveKitDouble();
  const liveKit = liveKitApiFor(lk);
  const originate = (carrier: TwilioCarrier) =>
    carrier.originate({ ...attempt(), agentToken: "x".repeat(40), sendBy: Date.now() + 60_000 });

  const badToken = await failure(originate(carrierFor(tw, liveKit, { authToken: "wrong" })));
  assertEquals([badToken.failure, badToken.code, badToken.status], ["misconfigured", "twilio:20003", 401]);

  const cases: Array<[Parameters<TwilioDouble["failNext"]>[1], string, string, string | null]> = [
    [
      { kind: "error", status: 400, code: 21211, message: "Invalid 'To' Phone Number: +12125550123" },
      "rejected",
      "twilio:21211",
      "invalid_number",
    ],
    [
      { kind: "error", status: 400, code: 21215, message: "Account not authorized to call +12125550123" },
      "rejected",
      "twilio:21215",
      "failed",
    ],
    [
      { kind: "error", status: 400, code: 21210, message: "From not verified" },
      "misconfigured",
      "twilio:21210",
      null,
    ],
    [
      { kind: "error", status: 429, code: 20429, message: "Too Many Requests" },
      "retryable",
      "twilio:20429",
      null,
    ],
    [
      { kind: "http", status: 503, body: "<html>unavailable</html>", contentType: "text/html" },
      "retryable",
      "twilio:503",
      null,
    ],
    [{ kind: "http", status: 504, body: "gateway timeout" }, "in_doubt", "twilio:504", null],
  ];
  for (const [scripted, kind, code, outcome] of cases) {
    tw.failNext("create", scripted);
    const error = await failure(originate(carrierFor(tw, liveKit)));
    assertEquals([error.failure, error.code, error.outcome], [kind, code, outcome], JSON.stringify(scripted));
    assert(!error.message.includes("2125550123"), "Twilio's message (with the number) is not carried");
    assertEquals(error instanceof InvalidNumberError, outcome === "invalid_number");
  }
  tw.failNext("create", { kind: "hang" });
  const timedOut = await failure(originate(carrierFor(tw, liveKit, { timeoutMs: 150 })));
  assertEquals([timedOut.failure, timedOut.code], ["in_doubt", "timeout"]);
});

Deno.test("without LiveKit (no agent to bridge to) or a public URL, nothing is dialled", async () => {
  await using tw = startTwilioDouble();
  const noAgent = await failure(
    carrierFor(tw, null).originate({ ...attempt(), agentToken: "x".repeat(40), sendBy: Date.now() + 60_000 }),
  );
  assertEquals([noAgent.failure, noAgent.code], ["misconfigured", "not_configured:agent_host"]);
  await using lk = startLiveKitDouble();
  const noUrl = await failure(
    carrierFor(tw, liveKitApiFor(lk), { publicUrl: null }).originate({
      ...attempt(),
      agentToken: "x".repeat(40),
      sendBy: Date.now() + 60_000,
    }),
  );
  assertEquals([noUrl.failure, noUrl.code], ["misconfigured", "not_configured:public_functions_url"]);
  assertEquals(tw.calls.length, 0);
  assertEquals(lk.requests.length, 0);
});

Deno.test("reconcile adopts the earliest unowned call to the number since the attempt began, and nothing older", async () => {
  await using tw = startTwilioDouble();
  await using lk = startLiveKitDouble();
  const liveKit = liveKitApiFor(lk);
  const earlier = attempt();
  const owned = await carrierFor(tw, liveKit).originate({
    ...earlier,
    agentToken: "x".repeat(40),
    sendBy: Date.now() + 60_000,
  });

  const mine = attempt();
  // Another attempt already owns the first call: it is not this attempt's.
  const carrier = carrierFor(tw, liveKit, { known: new Set([owned.carrierCallId!]) });
  assertEquals(await carrier.reconcile(mine), { found: false });
  assertEquals(lk.rooms.has(mine.session.room_name), false, "the room of a call never placed is removed");

  const placed = await carrierFor(tw, liveKit).originate({
    ...mine,
    agentToken: "x".repeat(40),
    sendBy: Date.now() + 60_000,
  });
  assertEquals(await carrier.reconcile(mine), {
    found: true,
    carrierCallId: placed.carrierCallId,
    dispatchId: null,
  });

  const later = attempt(new Date(Date.now() + 60_000));
  assertEquals(
    await carrier.reconcile(later),
    { found: false },
    "calls created before the attempt are not its",
  );
  assertEquals(
    await carrier.reconcile({
      ...mine,
      session: { ...mine.session, carrier_call_id: "CAknown", dispatch_id: "AD_1" },
    }),
    { found: true, carrierCallId: "CAknown", dispatchId: "AD_1" },
  );
});

Deno.test("an origination held past its send window by the calls-per-second limit sends nothing", async () => {
  await using tw = startTwilioDouble();
  await using lk = startLiveKitDouble();
  const live = attempt();
  const late = await failure(
    carrierFor(tw, liveKitApiFor(lk)).originate({
      ...live,
      agentToken: "x".repeat(40),
      sendBy: Date.now() - 1,
    }),
  );
  assertEquals([late.failure, late.code], ["retryable", "send_window_passed"]);
  assertEquals(tw.requests.length, 0);
  assertEquals(lk.dispatches.size, 0);
});

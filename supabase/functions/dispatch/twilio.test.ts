// The dispatch function with the Twilio carrier, against the real database and the Twilio and LiveKit doubles.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { AgentJobMetadata } from "../../../shared/src/agent-job.ts";
import { startLiveKitDouble } from "../../../devstack/doubles/livekit/livekit-double.ts";
import { startTwilioDouble } from "../../../devstack/doubles/twilio/twilio-double.ts";
import { withDatabase } from "../../../devstack/fixtures/test-database.ts";
import { dispatch, envFor, ownCalls, RECONCILE_NOW, waitFor } from "../../../devstack/fixtures/dispatch.ts";

const PUBLIC = "https://project.supabase.co/functions/v1";

Deno.test("a Twilio call: the agent waits in the room, Twilio dials with callbacks and machine detection", async () => {
  await withDatabase(async (db) => {
    const org = await db.createOrg({ callerId: "+12125550199" });
    await db.insertDueCalls(org, 1, {
      carrier: "twilio",
      phone: () => "+12125550123",
      calleeName: "Grace Hopper",
    });
    await using lk = startLiveKitDouble();
    await using tw = startTwilioDouble();
    const summary = await dispatch(db, envFor(lk, {}, tw));
    assertEquals(summary.originations.dialing, 1);

    const [session] = await db.sessions(org);
    const [call] = tw.calls;
    assertEquals([session.status, session.carrier_call_id], ["dialing", call.sid]);
    const status = `${PUBLIC}/twilio-status?session_id=${session.id}`;
    assertEquals(call.params, {
      To: "+12125550123",
      From: "+12125550199",
      Url: `${PUBLIC}/twilio-voice?session_id=${session.id}`,
      Method: "POST",
      StatusCallback: status,
      StatusCallbackMethod: "POST",
      StatusCallbackEvent: ["initiated", "ringing", "answered", "completed"],
      MachineDetection: "Enable",
      AsyncAmd: "true",
      AsyncAmdStatusCallback: status,
      AsyncAmdStatusCallbackMethod: "POST",
    });
    // The agent was dispatched first, to the attempt's room, without a trunk: the call is bridged in.
    const agentDispatch = lk.dispatches.get(session.dispatch_id!)!;
    assertEquals(agentDispatch.room, session.room_name);
    assert(lk.requests.find((r) => r.method === "CreateDispatch")!.receivedAt <= tw.requests[0].receivedAt);
    const metadata = AgentJobMetadata.parse(JSON.parse(agentDispatch.metadata));
    assertEquals([metadata.carrier, metadata.dial], ["twilio", null]);
    for (const phi of ["+12125550123", "2125550123", "Grace", "Hopper"]) {
      assert(!agentDispatch.metadata.includes(phi));
    }
    assertEquals(await ownCalls(db, org), ["in_progress/-/1"]);
  });
});

Deno.test("leaving voicemail waits for the beep; a learned IVR path is replayed instead of machine detection", async () => {
  await withDatabase(async (db) => {
    const org = await db.createOrg({ callerId: null, voicemailPolicy: "leave_message" });
    await db.insertDueCalls(org, 1, { carrier: "twilio", phone: () => "+12125550140" });
    await db.insertDueCalls(org, 1, { carrier: "twilio", phone: () => "+12125550141" });
    await db.sql`insert into public.phone_system_classifications (org_id, phone, classification, ivr_steps)
                 values (${org.orgId}, '+12125550141', 'ivr_then_human', '[{"after_ms": 2500, "dtmf": "3"}]')`;
    await using lk = startLiveKitDouble();
    await using tw = startTwilioDouble();
    await dispatch(db, envFor(lk, { TWILIO_FROM_NUMBER: "+12125550100" }, tw));
    const byNumber = new Map(tw.calls.map((c) => [c.to, c.params]));
    const voicemail = byNumber.get("+12125550140")!;
    assertEquals([voicemail.From, voicemail.MachineDetection, voicemail.AsyncAmd, voicemail.SendDigits], [
      "+12125550100",
      "DetectMessageEnd",
      undefined,
      undefined,
    ]);
    const ivr = byNumber.get("+12125550141")!;
    assertEquals([ivr.SendDigits, ivr.MachineDetection], ["WWw3", undefined]);
  });
});

Deno.test("Twilio refusing the number ends the call as invalid_number and sends the waiting agent away", async () => {
  await withDatabase(async (db) => {
    const org = await db.createOrg({ callerId: "+12125550199" });
    await db.insertDueCalls(org, 1, { carrier: "twilio" });
    await using lk = startLiveKitDouble();
    await using tw = startTwilioDouble();
    tw.failNext("create", { kind: "error", status: 400, code: 21211, message: "Invalid 'To' Phone Number" });
    const summary = await dispatch(db, envFor(lk, {}, tw));
    assertEquals(summary.originations.rejected, 1);
    assertEquals(await ownCalls(db, org), ["failed/invalid_number/1"]);
    const [session] = await db.sessions(org);
    assertEquals(lk.rooms.has(session.room_name), false);
    assert(lk.requests.some((r) => r.method === "DeleteRoom" && r.body?.room === session.room_name));
  });
});

Deno.test("Twilio errors and missing settings put the call back in the queue without dialling it", async () => {
  await withDatabase(async (db) => {
    const org = await db.createOrg({ callerId: "+12125550199" });
    await db.insertDueCalls(org, 1, { carrier: "twilio" });
    await using lk = startLiveKitDouble();
    await using tw = startTwilioDouble();
    const results: Array<[string, string]> = [];
    const attempt = async (env: ReturnType<typeof envFor>, expected: string) => {
      await db.makeDue(org);
      const summary = await dispatch(db, env);
      results.push([expected, Object.keys(summary.originations).join()]);
      assertEquals(await ownCalls(db, org), ["queued/-/0"], expected);
    };
    tw.failNext("create", { kind: "http", status: 503, body: "down", contentType: "text/plain" });
    await attempt(envFor(lk, {}, tw), "released");
    tw.failNext("create", { kind: "error", status: 429, code: 20429, message: "Too Many Requests" });
    await attempt(envFor(lk, {}, tw), "released");
    await attempt({ ...envFor(lk, {}, tw), TWILIO_AUTH_TOKEN: "wrong-token" }, "not_configured");
    await attempt({ ...envFor(lk, {}, tw), PUBLIC_FUNCTIONS_URL: "" }, "not_configured");
    await attempt(envFor(null, {}, tw), "not_configured");
    await attempt(envFor(lk), "not_configured");
    assertEquals(
      results.map(([expected, got]) => got === expected),
      results.map(() => true),
      JSON.stringify(results),
    );
    assertEquals(tw.calls.length, 0);
    // Each agent dispatched for a call Twilio then refused was sent away again.
    const [...rooms] = lk.dispatches.values();
    assertEquals(rooms.length, 0);

    await db.makeDue(org);
    await dispatch(db, envFor(lk, {}, tw));
    assertEquals([tw.calls.length, (await ownCalls(db, org))[0]], [1, "in_progress/-/1"]);
  });
});

Deno.test("a Twilio request that timed out but was placed is reconciled to that call, never placed twice", async () => {
  await withDatabase(async (db) => {
    const org = await db.createOrg({ callerId: "+12125550199" });
    await db.insertDueCalls(org, 1, { carrier: "twilio", phone: () => "+12125550150" });
    await using lk = startLiveKitDouble();
    await using tw = startTwilioDouble();
    tw.setLatency(600, "create"); // Twilio places the call after the dispatcher gave up waiting
    const env = envFor(lk, { DISPATCH_CARRIER_TIMEOUT_MS: "150" }, tw);
    assertEquals((await dispatch(db, env)).originations.in_doubt, 1);
    await waitFor(() => tw.calls.length === 1, "Twilio to place the late call");
    tw.setLatency(0, "create");

    const second = await dispatch(db, { ...env, ...RECONCILE_NOW });
    assertEquals(second.reconciliations.found, 1);
    const [session] = await db.sessions(org);
    assertEquals([session.status, session.carrier_call_id], ["dialing", tw.calls[0].sid]);
    assertEquals(await ownCalls(db, org), ["in_progress/-/1"]);
    assertEquals(tw.calls.length, 1);
    assert(tw.requests.some((r) => r.operation === "list" && r.params.To === "+12125550150"));
  });
});

Deno.test("a Twilio request that never arrived is reconciled as not found: released, then placed once", async () => {
  await withDatabase(async (db) => {
    const org = await db.createOrg({ callerId: "+12125550199" });
    await db.insertDueCalls(org, 1, { carrier: "twilio" });
    await using lk = startLiveKitDouble();
    await using tw = startTwilioDouble();
    tw.failNext("create", { kind: "hang" });
    const env = envFor(lk, { DISPATCH_CARRIER_TIMEOUT_MS: "150" }, tw);
    assertEquals((await dispatch(db, env)).originations.in_doubt, 1);
    const [inDoubt] = await db.sessions(org);
    assert(lk.rooms.has(inDoubt.room_name), "in doubt, the agent keeps waiting for the call");

    const second = await dispatch(db, { ...env, ...RECONCILE_NOW });
    assertEquals(second.reconciliations.not_found, 1);
    assertEquals(await ownCalls(db, org), ["queued/-/0"]);
    assertEquals(lk.rooms.has(inDoubt.room_name), false, "not found: the agent is sent away");

    await dispatch(db, env);
    assertEquals(tw.calls.length, 1);
    assertEquals(await ownCalls(db, org), ["in_progress/-/1"]);
  });
});

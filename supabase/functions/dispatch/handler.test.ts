// The dispatch function against the real database and the LiveKit double: who may call it, what it does with
// due calls, and that no failure of LiveKit loses a call or dials it twice.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { jwtVerify } from "jose";
import { AgentDispatchClient } from "livekit-server-sdk";
import { AgentJobMetadata } from "../../../shared/src/agent-job.ts";
import { asCaller } from "../_shared/database.ts";
import { startLiveKitDouble } from "../../../devstack/doubles/livekit/livekit-double.ts";
import { withDatabase } from "../../../devstack/fixtures/test-database.ts";
import { create } from "./handler.ts";
import {
  dispatch,
  dispatchedRooms,
  envFor,
  JWT_SECRET,
  ownCalls,
  post,
  RECONCILE_NOW,
  SECRET,
  waitFor,
} from "../../../devstack/fixtures/dispatch.ts";

// --- Who may call it ------------------------------------------------------------------------------------------

Deno.test("dispatch refuses callers without the secret, other methods and malformed bodies, changing nothing", async () => {
  await withDatabase(async (db) => {
    const org = await db.createOrg();
    await db.insertDueCalls(org, 1);
    await using lk = startLiveKitDouble();
    const handler = create({ sql: db.sql, env: envFor(lk) });
    const refusals: Array<[Request, number, string]> = [
      [new Request("http://localhost/dispatch", { method: "POST", body: "{}" }), 401, "unauthorized"],
      [post({}, { Authorization: "Bearer wrong-secret" }), 401, "unauthorized"],
      [post({}, { Authorization: `Bearer ${SECRET}x` }), 401, "unauthorized"],
      [post({}, { Authorization: `Basic ${btoa("dispatch:" + SECRET)}` }), 401, "unauthorized"],
      [
        new Request("http://localhost/dispatch", { headers: { Authorization: `Bearer ${SECRET}` } }),
        405,
        "method_not_allowed",
      ],
      [post("{not json"), 400, "invalid_json"],
      [
        post({ reason: "tick", claims: [{ intake_call_id: "nope", claim_token: crypto.randomUUID() }] }),
        400,
        "validation_failed",
      ],
      [post({ claims: "all" }), 400, "validation_failed"],
      [post({ reason: "x".repeat(65) }), 400, "validation_failed"],
      [
        post("reason=tick", { "Content-Type": "application/x-www-form-urlencoded" }),
        415,
        "unsupported_media_type",
      ],
      [post("x".repeat(300 * 1024)), 413, "payload_too_large"],
    ];
    for (const [req, status, code] of refusals) {
      const res = await handler(req);
      assertEquals(
        [res.status, (await res.json()).error.code],
        [status, code],
        `${req.method} ${status} ${code}`,
      );
    }
    const unconfigured = await create({ sql: db.sql, env: { ...envFor(lk), DISPATCH_SECRET: "" } })(post({}));
    assertEquals([unconfigured.status, (await unconfigured.json()).error.code], [503, "not_configured"]);
    assertEquals(await ownCalls(db, org), ["queued/-/0"]);
    assertEquals(lk.requests.length, 0);
  });
});

// --- Originating through LiveKit ------------------------------------------------------------------------------

Deno.test("due calls get an attempt, an agent dispatch with ids only, and end up dialing", async () => {
  await withDatabase(async (db) => {
    const org = await db.createOrg({ sipTrunkId: "ST_clinic" });
    const phone = "+12125550187";
    const ids = await db.insertDueCalls(org, 3, {
      phone: () => phone,
      calleeName: "Ada Lovelace",
      variables: { appointment: "knee surgery" },
    });
    await using lk = startLiveKitDouble();
    const summary = await dispatch(db, envFor(lk));
    assert((summary.originations.dialing ?? 0) >= 3, JSON.stringify(summary));

    assertEquals(await ownCalls(db, org), ["in_progress/-/1", "in_progress/-/1", "in_progress/-/1"]);
    const sessions = await db.sessions(org);
    assertEquals(sessions.map((s) => s.status), ["dialing", "dialing", "dialing"]);
    for (const s of sessions) {
      assertEquals(s.room_name, `call-${s.id}`);
      const dispatch = lk.dispatches.get(s.dispatch_id!);
      assert(dispatch, "the session records the dispatch id LiveKit gave");
      assertEquals([dispatch.room, dispatch.agentName], [s.room_name, "intake-agent"]);

      const metadata = AgentJobMetadata.parse(JSON.parse(dispatch.metadata));
      assertEquals(
        [metadata.session_id, metadata.intake_call_id, metadata.org_id, metadata.carrier, metadata.dial],
        [s.id, s.intake_call_id, org.orgId, "livekit", { sip_trunk_id: "ST_clinic" }],
      );
      // No PHI: the number, the name and the call's variables are fetched by the agent, never carried. (The
      // token's random signature is left out of the search: "Ada" turns up in one in a few thousand; its
      // payload is checked below.)
      const carried = JSON.stringify({ ...JSON.parse(dispatch.metadata), agent_token: undefined });
      for (const secret of [phone, phone.slice(2), "Ada", "Lovelace", "knee surgery"]) {
        assert(!carried.includes(secret), `metadata carries ${secret}`);
      }
      // The agent's credential: this one session, role call_agent, valid for the call's maximum duration.
      const { payload } = await jwtVerify(metadata.agent_token, new TextEncoder().encode(JWT_SECRET));
      assertEquals([payload.role, payload.call_session_id], ["call_agent", s.id]);
      assertEquals(payload.exp! - payload.iat!, 600 + 600);
      for (const secret of [phone, phone.slice(2), "Ada", "Lovelace", "knee surgery"]) {
        assert(!JSON.stringify(payload).includes(secret), `the agent's token carries ${secret}`);
      }
    }
    assertEquals(new Set(sessions.map((s) => s.intake_call_id)), new Set(ids));
  });
});

Deno.test("the claims handed over by the scheduler are originated, and only those", async () => {
  await withDatabase(async (db) => {
    const org = await db.createOrg();
    await db.insertDueCalls(org, 4);
    const claims = await db.claim(org, 2);
    await using lk = startLiveKitDouble();
    const summary = await dispatch(db, envFor(lk), { reason: "tick", claims });
    assertEquals(summary.claims, { given: 2, claimed: 0 });
    assertEquals(summary.originations, { dialing: 2 });
    const dialing = (await db.calls(org)).filter((c) => c.status === "in_progress").map((c) => c.id).sort();
    assertEquals(dialing, claims.map((c) => c.intake_call_id).sort());
  });
});

Deno.test("a number that cannot be dialled ends the call as invalid_number without contacting LiveKit", async () => {
  await withDatabase(async (db) => {
    const org = await db.createOrg();
    await db.insertDueCalls(org, 1, { phone: () => "+1971265679" }); // seed 000's example: one digit short
    await using lk = startLiveKitDouble();
    const summary = await dispatch(db, envFor(lk));
    assertEquals(summary.originations.rejected, 1);
    assertEquals(await ownCalls(db, org), ["failed/invalid_number/1"]);
    assertEquals((await db.sessions(org)).map((s) => `${s.status}/${s.ended_reason}`), [
      "ended/invalid_number",
    ]);
    assertEquals(dispatchedRooms(lk), []);
  });
});

Deno.test("a carrier refusal carrying a SIP status ends the attempt with the mapped outcome and its status", async () => {
  await withDatabase(async (db) => {
    const org = await db.createOrg();
    await db.insertDueCalls(org, 1);
    await using lk = startLiveKitDouble();
    lk.failNext("CreateDispatch", { kind: "sip", sipStatusCode: 486 });
    await dispatch(db, envFor(lk));
    assertEquals((await db.sessions(org)).map((s) => `${s.ended_reason}/${s.sip_status_code}`), ["busy/486"]);
    assertEquals(await ownCalls(db, org), ["queued/-/1"], "busy: retried later by the busy policy");

    await db.makeDue(org);
    lk.failNext("CreateDispatch", { kind: "sip", sipStatusCode: 404 });
    await dispatch(db, envFor(lk));
    assertEquals((await db.sessions(org)).map((s) => `${s.ended_reason}/${s.sip_status_code}`), [
      "busy/486",
      "invalid_number/404",
    ]);
    assertEquals(await ownCalls(db, org), ["failed/invalid_number/2"]);
  });
});

Deno.test("a missing SIP trunk or LiveKit itself releases the call for later without spending an attempt", async () => {
  await withDatabase(async (db) => {
    const org = await db.createOrg({ sipTrunkId: null });
    await db.insertDueCalls(org, 1);
    await using lk = startLiveKitDouble();
    const noTrunk = await dispatch(db, envFor(lk));
    assertEquals(noTrunk.originations.not_configured, 1);
    assertEquals(await ownCalls(db, org), ["queued/-/0"]);

    await db.makeDue(org);
    const noLiveKit = await dispatch(db, envFor(null));
    assertEquals(noLiveKit.originations.not_configured, 1);
    assertEquals(await ownCalls(db, org), ["queued/-/0"]);
    const [{ wait }] = await db.sql<{ wait: number }[]>`
      select extract(epoch from next_attempt_at - now())::int as wait from public.intake_calls where org_id = ${org.orgId}`;
    assert(wait > 250 && wait <= 300, `retried in ${wait} s`);

    await db.makeDue(org);
    const withTrunk = await dispatch(db, envFor(lk, { LIVEKIT_SIP_TRUNK_ID: "ST_default" }));
    assertEquals(withTrunk.originations.dialing, 1);
    const metadata = AgentJobMetadata.parse(JSON.parse([...lk.dispatches.values()][0].metadata));
    assertEquals(metadata.dial, { sip_trunk_id: "ST_default" });
  });
});

// --- Faults: nothing lost, nothing dialled twice --------------------------------------------------------------

Deno.test("LiveKit 5xx or refusing connections: the call goes back to the queue and is dialled once later", async () => {
  await withDatabase(async (db) => {
    const org = await db.createOrg();
    await db.insertDueCalls(org, 2);
    await using lk = startLiveKitDouble();
    lk.failNext("CreateDispatch", { kind: "twirp", code: "unavailable" });
    lk.failNext("CreateDispatch", {
      kind: "http",
      status: 502,
      body: "<html>bad gateway</html>",
      contentType: "text/html",
    });
    const failing = await dispatch(db, envFor(lk, { DISPATCH_CONCURRENCY: "1" }));
    assertEquals(failing.originations.released, 2);
    assertEquals(await ownCalls(db, org), ["queued/-/0", "queued/-/0"]);
    assertEquals((await db.sessions(org)).map((s) => `${s.status}/${s.ended_reason}`), [
      "ended/not_dialed",
      "ended/not_dialed",
    ]);

    // Nobody listening at LIVEKIT_URL at all.
    await db.makeDue(org);
    const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const deadUrl = `http://127.0.0.1:${(closed.addr as Deno.NetAddr).port}`;
    closed.close();
    const refused = await dispatch(db, { ...envFor(lk), LIVEKIT_URL: deadUrl });
    assertEquals(refused.originations.released, 2);
    assertEquals(await ownCalls(db, org), ["queued/-/0", "queued/-/0"]);

    await db.makeDue(org);
    const recovered = await dispatch(db, envFor(lk));
    assertEquals(recovered.originations.dialing, 2);
    assertEquals(await ownCalls(db, org), ["in_progress/-/1", "in_progress/-/1"]);
    const rooms = dispatchedRooms(lk);
    assertEquals(rooms.length, new Set(rooms).size, "one dispatch per attempt");
    assertEquals(rooms.length, 2);
  });
});

Deno.test("a timed-out dispatch that reached LiveKit is reconciled as dialing, never dispatched again", async () => {
  await withDatabase(async (db) => {
    const org = await db.createOrg();
    const [callId] = await db.insertDueCalls(org, 1);
    await using lk = startLiveKitDouble();
    // LiveKit acts on the request after the dispatcher has given up on the answer.
    lk.setLatency(600, "CreateDispatch");
    const env = envFor(lk, { DISPATCH_CARRIER_TIMEOUT_MS: "150" });
    const first = await dispatch(db, env);
    assertEquals(first.originations.in_doubt, 1);
    const [pending] = await db.sessions(org);
    assertEquals(pending.status, "created");
    assertEquals((await db.calls(org)).map((c) => [c.status, c.claim_token]), [["dispatching", null]]);
    await waitFor(() => lk.dispatches.size === 1, "LiveKit to act on the late request");

    lk.setLatency(0, "CreateDispatch");
    const second = await dispatch(db, { ...env, ...RECONCILE_NOW });
    assertEquals(second.reconciliations.found, 1);
    assertEquals(await ownCalls(db, org), ["in_progress/-/1"]);
    const [session] = await db.sessions(org);
    assertEquals([session.status, session.dispatch_id], ["dialing", [...lk.dispatches.keys()][0]]);
    assertEquals(lk.dispatches.size, 1, "the call was not dispatched a second time");
    assertEquals(lk.requests.filter((r) => r.method === "ListDispatch").length, 1, "the carrier was asked");

    const events = await db.sql<{ type: string }[]>`
      select type from public.call_events where intake_call_id = ${callId} order by id`;
    assert(events.map((e) => e.type).includes("session.reconcile_required"));
  });
});

Deno.test("a dispatch that never arrived is reconciled as not found and released, then dispatched once", async () => {
  await withDatabase(async (db) => {
    const org = await db.createOrg();
    await db.insertDueCalls(org, 1);
    await using lk = startLiveKitDouble();
    lk.failNext("CreateDispatch", { kind: "hang" });
    const env = envFor(lk, { DISPATCH_CARRIER_TIMEOUT_MS: "150" });
    assertEquals((await dispatch(db, env)).originations.in_doubt, 1);

    const second = await dispatch(db, { ...env, ...RECONCILE_NOW });
    assertEquals(second.reconciliations.not_found, 1);
    assertEquals(await ownCalls(db, org), ["queued/-/0"]);
    assertEquals((await db.sessions(org)).map((s) => `${s.status}/${s.ended_reason}`), ["ended/not_dialed"]);

    const third = await dispatch(db, env);
    assertEquals(third.originations.dialing, 1);
    assertEquals(dispatchedRooms(lk).length, 1);
  });
});

Deno.test("reconciliation waits for the grace period, and LiveKit being down keeps the attempt in doubt", async () => {
  await withDatabase(async (db) => {
    const org = await db.createOrg();
    await db.insertDueCalls(org, 1);
    await using lk = startLiveKitDouble();
    lk.failNext("CreateDispatch", { kind: "hang" });
    await dispatch(db, envFor(lk, { DISPATCH_CARRIER_TIMEOUT_MS: "150" }));

    const early = await dispatch(db, envFor(lk, { DISPATCH_RECONCILE_GRACE_SECONDS: "3600" }));
    assertEquals(early.reconciliations, {});
    lk.failNext("ListDispatch", { kind: "twirp", code: "unavailable" });
    const down = await dispatch(db, envFor(lk, RECONCILE_NOW));
    assertEquals(down.reconciliations, { still_in_doubt: 1 });
    assertEquals((await db.calls(org)).map((c) => [c.status, c.claim_token]), [["dispatching", null]]);
    assertEquals((await db.sessions(org)).map((s) => s.status), ["created"]);
    assertEquals(dispatchedRooms(lk), []);
  });
});

Deno.test("calls a rate limit holds past their send window go back to the queue, due at once", async () => {
  await withDatabase(async (db) => {
    const org = await db.createOrg();
    await db.insertDueCalls(org, 3);
    await using lk = startLiveKitDouble();
    // One LiveKit request per second; the window to send is 3 - 1.5 - 1 = 0.5 s after the attempt begins.
    const summary = await dispatch(
      db,
      envFor(lk, {
        DISPATCH_LIVEKIT_RPS: "1",
        DISPATCH_CONCURRENCY: "3",
        DISPATCH_CARRIER_TIMEOUT_MS: "1500",
        DISPATCH_RECONCILE_GRACE_SECONDS: "3",
      }),
    );
    assertEquals(summary.originations, { dialing: 1, released: 2 });
    assertEquals(dispatchedRooms(lk).length, 1);
    assertEquals((await ownCalls(db, org)).sort(), ["in_progress/-/1", "queued/-/0", "queued/-/0"]);
    const [{ due }] = await db.sql<{ due: number }[]>`
      select count(*)::int as due from public.intake_calls
       where org_id = ${org.orgId} and status = 'queued' and next_attempt_at <= now()`;
    assertEquals(due, 2);
  });
});

Deno.test("two dispatchers running at once never dispatch the same call", async () => {
  await withDatabase(async (db) => {
    const org = await db.createOrg({ maxConcurrentCalls: 100 });
    await db.insertDueCalls(org, 40);
    await using lk = startLiveKitDouble({ latencyMs: 5 });
    const env = envFor(lk, { DISPATCH_CONCURRENCY: "4", DISPATCH_CLAIM_BATCH: "5" });
    const [a, b] = await Promise.all([dispatch(db, env), dispatch(db, env)]);
    assert(
      (a.originations.dialing ?? 0) > 0 && (b.originations.dialing ?? 0) > 0,
      "both dispatchers did work",
    );
    const sessions = await db.sessions(org);
    assertEquals(sessions.length, 40);
    assertEquals(new Set(sessions.map((s) => s.intake_call_id)).size, 40, "one attempt per call");
    const rooms = dispatchedRooms(lk);
    assertEquals(rooms.length, 40);
    assertEquals(new Set(rooms).size, 40, "every room dispatched exactly once");
    assertEquals(new Set(await ownCalls(db, org)), new Set(["in_progress/-/1"]));
  });
});

Deno.test("the same claims delivered to two dispatchers at once are originated once", async () => {
  await withDatabase(async (db) => {
    const org = await db.createOrg();
    await db.insertDueCalls(org, 6);
    const claims = await db.claim(org);
    await using lk = startLiveKitDouble({ latencyMs: 20 });
    const env = envFor(lk, { DISPATCH_RECONCILE_GRACE_SECONDS: "3600" });
    const [a, b] = await Promise.all([
      dispatch(db, env, { reason: "tick", claims }),
      dispatch(db, env, { reason: "tick", claims }),
    ]);
    assertEquals((a.originations.dialing ?? 0) + (b.originations.dialing ?? 0), 6, JSON.stringify([a, b]));
    const rooms = dispatchedRooms(lk);
    assertEquals([rooms.length, new Set(rooms).size], [6, 6]);
    assertEquals((await db.sessions(org)).length, 6);
  });
});

Deno.test("a call cancelled while its dispatch was in flight is hung up at once", async () => {
  await withDatabase(async (db) => {
    const org = await db.createOrg();
    const [callId] = await db.insertDueCalls(org, 1);
    const { userId } = await db.createUser(org);
    await using lk = startLiveKitDouble();
    // The cancel must land while the request is at LiveKit: long enough for a slow machine, under the 2 s timeout.
    lk.setLatency(1500, "CreateDispatch");
    const running = dispatch(db, envFor(lk));
    await waitFor(() => lk.requests.some((r) => r.method === "CreateDispatch"), "the dispatch request");
    await asCaller(
      db.sql,
      { role: "authenticated", sub: userId },
      (tx) => tx`select public.cancel_intake_call(${callId}, 'changed plans')`,
    );
    const summary = await running;
    assertEquals(summary.originations.cancelled, 1);
    const [session] = await db.sessions(org);
    assertEquals(`${session.status}/${session.ended_reason}`, "ended/cancelled");
    assert(
      lk.requests.some((r) => r.method === "DeleteRoom" && r.body?.room === session.room_name),
      "room deleted",
    );
    assertEquals(await ownCalls(db, org), ["cancelled/cancelled/0"]);
  });
});

Deno.test("an org with hundreds of due calls does not make another org's calls wait behind them", async () => {
  await withDatabase(async (db) => {
    const busy = await db.createOrg({ maxConcurrentCalls: 1000 });
    const small = await db.createOrg();
    await db.insertDueCalls(busy, 150);
    const smallCalls = await db.insertDueCalls(small, 4);
    await using lk = startLiveKitDouble();
    const summary = await dispatch(db, envFor(lk, { DISPATCH_CONCURRENCY: "2", DISPATCH_CLAIM_BATCH: "20" }));
    assert((summary.originations.dialing ?? 0) >= 24, JSON.stringify(summary));
    const smallRooms = new Set(
      (await db.sessions(small)).map((s) => s.room_name),
    );
    assertEquals(smallRooms.size, smallCalls.length);
    const order = dispatchedRooms(lk);
    const positions = order.flatMap((room, i) => smallRooms.has(room) ? [i] : []);
    assertEquals(positions.length, 4);
    assert(Math.max(...positions) < 10, `the small org's calls went out at positions ${positions}`);
  });
});

Deno.test("simulated calls are never dialled: without LiveKit they wait for the simulation runner", async () => {
  await withDatabase(async (db) => {
    const org = await db.createOrg();
    await db.insertDueCalls(org, 1, { carrier: "simulation" });
    const summary = await dispatch(db, envFor(null));
    assertEquals(summary.originations.dialing, 1);
    const [session] = await db.sessions(org);
    assertEquals([session.status, session.carrier_call_id, session.dispatch_id], [
      "dialing",
      `sim-${session.id}`,
      null,
    ]);

    await db.insertDueCalls(org, 1, { carrier: "simulation" });
    await using lk = startLiveKitDouble();
    await dispatch(db, envFor(lk));
    const second = (await db.sessions(org))[1];
    const metadata = AgentJobMetadata.parse(JSON.parse(lk.dispatches.get(second.dispatch_id!)!.metadata));
    assertEquals([metadata.carrier, metadata.dial, second.carrier_call_id], [
      "simulation",
      null,
      `sim-${second.id}`,
    ]);
  });
});

Deno.test("a web call that came back to the queue is closed, not dialled", async () => {
  await withDatabase(async (db) => {
    const org = await db.createOrg();
    await db.insertDueCalls(org, 1, { carrier: "web" });
    await using lk = startLiveKitDouble();
    const summary = await dispatch(db, envFor(lk));
    assertEquals(summary.originations.not_dialable, 1);
    assertEquals(await ownCalls(db, org), ["failed/failed/0"]);
    assertEquals(lk.requests.length, 0);
  });
});

Deno.test("a web call whose creating request died is reconciled through its room, then closed", async () => {
  await withDatabase(async (db) => {
    const org = await db.createOrg();
    const { userId } = await db.createUser(org);
    await using lk = startLiveKitDouble();
    const created = async () => {
      const [{ web }] = await db.sql.begin(async (tx) => {
        await tx`select set_config('role', 'authenticated', true),
                        set_config('request.jwt.claims', ${
          JSON.stringify({ role: "authenticated", sub: userId })
        }, true)`;
        return await tx`select public.create_web_call(${
          tx.json({ org_id: org.orgId, template_id: org.templateId, callee_phone: "+12125550190" })
        }) as web`;
      });
      // web-calls died before recording the dispatch: the claim lapses and the attempt awaits reconciliation.
      await db
        .sql`update public.intake_calls set lease_expires_at = now() - interval '1 second' where id = ${web.intake_call_id}`;
      await db.sql`select public.reclaim_expired_leases()`;
      return web as { intake_call_id: string; session_id: string; room_name: string };
    };

    // The agent had been dispatched: the attempt is dialing (the browser may still join).
    const reached = await created();
    lk.addParticipant(reached.room_name, { identity: "agent", kind: "AGENT" });
    await new AgentDispatchClient(lk.url, lk.apiKey, lk.apiSecret).createDispatch(
      reached.room_name,
      "intake-agent",
    );
    const found = await dispatch(db, envFor(lk, RECONCILE_NOW));
    assertEquals(found.reconciliations.found, 1);

    // It had not: the call goes back and, a web call never being dialled, is closed.
    const lost = await created();
    const notFound = await dispatch(db, envFor(lk, RECONCILE_NOW));
    assertEquals(notFound.reconciliations.not_found, 1);
    await dispatch(db, envFor(lk));
    const states = new Map((await db.calls(org)).map((c) => [c.id, `${c.status}/${c.outcome ?? "-"}`]));
    assertEquals([states.get(reached.intake_call_id), states.get(lost.intake_call_id)], [
      "in_progress/-",
      "failed/not_dialed",
    ]);
    assertEquals(
      dispatchedRooms(lk),
      [reached.room_name],
      "only web-calls' own dispatch, none by the dispatcher",
    );
  });
});

Deno.test("claims the run has no time left for go back to the queue at once", async () => {
  await withDatabase(async (db) => {
    const org = await db.createOrg();
    await db.insertDueCalls(org, 3);
    const claims = await db.claim(org);
    await using lk = startLiveKitDouble();
    const summary = await dispatch(db, envFor(lk, { DISPATCH_RUN_BUDGET_MS: "0.001" }), {
      reason: "tick",
      claims,
    });
    assertEquals(summary.originations, { unstarted: 3 });
    assertEquals(await ownCalls(db, org), ["queued/-/0", "queued/-/0", "queued/-/0"]);
    const [{ due }] = await db.sql<{ due: number }[]>`
      select count(*)::int as due from public.intake_calls where org_id = ${org.orgId} and next_attempt_at <= now()`;
    assertEquals(due, 3);
    assertEquals(lk.requests.length, 0);
  });
});

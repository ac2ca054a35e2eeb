// Write-back end to end: the queue -> supabase-js with the call-scoped JWT -> the PostgREST double ->
// the real database under row-level security.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { CallStore, type StoreFailure } from "./call-store.ts";
import { AGENT_TOKEN_MARGIN_SECONDS, mintAgentToken } from "@intake/shared/agent-credential";
import { connectSuperuser, createCall, testEnv } from "../../devstack/fixtures/call-fixture.ts";
import { PostgrestDouble } from "../../devstack/doubles/postgrest/postgrest-double.ts";
import { WriteBackQueue } from "./write-back.ts";

const env = testEnv();
const sql = connectSuperuser(env);
let double: PostgrestDouble;

before(async () => {
  double = await PostgrestDouble.start({ databaseUrl: env.databaseUrl, jwtSecret: env.jwtSecret });
});
after(async () => {
  await double.close();
  await sql.end();
});

const storeFor = (token: string) =>
  new CallStore({ supabaseUrl: double.url, anonKey: env.anonKey, agentToken: token });

function turn(sessionId: string, orgId: string, sequence: number) {
  const at = new Date(Date.UTC(2026, 0, 1, 12, 0, sequence)).toISOString();
  return {
    session_id: sessionId,
    org_id: orgId,
    sequence,
    speaker: sequence % 2 ? "callee" as const : "agent" as const,
    text: `line ${sequence}`,
    started_at: at,
    ended_at: at,
  };
}

async function turnsOf(sessionId: string) {
  return await sql<{ sequence: number; text: string }[]>`
    select sequence, text from public.transcript_turns where session_id = ${sessionId} order by id`;
}

describe("write-back queue", () => {
  test("turns arrive in order, exactly once, in batches", async () => {
    const call = await createCall(sql, env);
    const queue = new WriteBackQueue(storeFor(call.token), { batchSize: 20, batchDelayMs: 5 });
    const before = double.requests.length;
    for (let i = 0; i < 45; i++) queue.enqueueTurn(turn(call.sessionId, call.orgId, i));
    assert.equal(await queue.flush(10_000), 0);
    const rows = await turnsOf(call.sessionId);
    assert.deepEqual(rows.map((r) => r.sequence), [...Array(45).keys()]);
    assert.deepEqual(rows.map((r) => r.text), [...Array(45).keys()].map((i) => `line ${i}`));
    assert.ok(double.requests.length - before <= 4, "45 turns go in a handful of batched requests");
  });

  test("an outage (503s) is retried with backoff and nothing is lost or doubled", async () => {
    const call = await createCall(sql, env);
    const queue = new WriteBackQueue(storeFor(call.token), {
      batchSize: 5,
      batchDelayMs: 1,
      retryInitialMs: 5,
      retryMaxMs: 40,
    });
    for (let i = 0; i < 6; i++) queue.enqueueTurn(turn(call.sessionId, call.orgId, i));
    await queue.flush(10_000);
    double.failNext(8);
    for (let i = 6; i < 20; i++) queue.enqueueTurn(turn(call.sessionId, call.orgId, i));
    queue.enqueueRpc("agent_report_latency", { figures: { first_greeting_ms: 3 } });
    assert.equal(await queue.flush(10_000), 0);
    assert.ok(queue.stats.retries >= 8, `retried through the outage (${queue.stats.retries} retries)`);
    assert.deepEqual((await turnsOf(call.sessionId)).map((r) => r.sequence), [...Array(20).keys()]);
    const [session] = await sql`select latency from public.call_sessions where id = ${call.sessionId}`;
    assert.deepEqual(session.latency, { first_greeting_ms: 3 });
  });

  test("answers lost after commit: the retried batch is a duplicate, counted as delivered, never doubled", async () => {
    const call = await createCall(sql, env);
    const queue = new WriteBackQueue(storeFor(call.token), {
      batchSize: 10,
      batchDelayMs: 1,
      retryInitialMs: 5,
    });
    for (let i = 0; i < 4; i++) queue.enqueueTurn(turn(call.sessionId, call.orgId, i));
    double.loseNextResponses(1); // rows 0..3 land, the agent hears 503
    assert.equal(await queue.flush(5_000), 0);
    for (let i = 4; i < 8; i++) queue.enqueueTurn(turn(call.sessionId, call.orgId, i));
    // A batch where half the rows landed before: replayed row by row.
    await sql`insert into public.transcript_turns (session_id, org_id, sequence, speaker, text, started_at, ended_at)
              values (${call.sessionId}, ${call.orgId}, 9, 'agent', 'line 9', now(), now())`;
    for (let i = 8; i < 12; i++) queue.enqueueTurn(turn(call.sessionId, call.orgId, i));
    assert.equal(await queue.flush(5_000), 0);
    const rows = await turnsOf(call.sessionId);
    assert.deepEqual(rows.map((r) => r.sequence).sort((a, b) => a - b), [...Array(12).keys()]);
    assert.equal(queue.stats.dropped, 0);
  });

  test("the end of the call is written once even when its answer is lost", async () => {
    const call = await createCall(sql, env);
    const queue = new WriteBackQueue(storeFor(call.token), { batchDelayMs: 1, retryInitialMs: 5 });
    queue.enqueueRpc("agent_mark_answered", {
      answered_by: "human",
      dedupe_key: `agent:${call.sessionId}:answered`,
    });
    double.loseNextResponses(1);
    queue.enqueueRpc("agent_end_call", { outcome: "completed", dedupe_key: `agent:${call.sessionId}:end` });
    assert.equal(await queue.flush(5_000), 0);
    const [row] = await sql`select s.status, s.ended_reason, s.answered_by, c.status as call_status
                              from public.call_sessions s join public.intake_calls c on c.id = s.intake_call_id
                             where s.id = ${call.sessionId}`;
    assert.deepEqual({ ...row }, {
      status: "ended",
      ended_reason: "completed",
      answered_by: "human",
      call_status: "completed",
    });
    const [{ ends }] = await sql`select count(*)::int as ends from public.call_events
                                  where session_id = ${call.sessionId} and type = 'session.ended'`;
    assert.equal(ends, 1, "the retried end is dropped by its dedupe key");
  });

  test("the credential of session S is refused on session T", async () => {
    const s = await createCall(sql, env);
    const t = await createCall(sql, env);
    const dropped: StoreFailure[] = [];
    const queue = new WriteBackQueue(storeFor(s.token), {
      batchDelayMs: 1,
      onDrop: (_, f) => dropped.push(f),
    });
    queue.enqueueTurn(turn(t.sessionId, t.orgId, 0)); // T's row with S's credential
    queue.enqueueTurn(turn(t.sessionId, s.orgId, 1));
    queue.enqueueTurn(turn(s.sessionId, s.orgId, 0)); // S's own row still lands
    assert.equal(await queue.flush(5_000), 0);
    assert.deepEqual(
      dropped.map((f) => [f.status, f.code]),
      [[403, "42501"]],
      "the batch with T's rows is refused by RLS",
    );
    assert.equal((await turnsOf(t.sessionId)).length, 0);
    assert.equal(
      (await turnsOf(s.sessionId)).length,
      0,
      "the refused batch held S's row too: it is dropped with it",
    );

    const ctx = await storeFor(s.token).fetchContext();
    assert.equal(ctx.session.id, s.sessionId, "S's credential reads S's context only");
    const forT = await storeFor(s.token).rpc("agent_end_call", { outcome: "completed" });
    assert.equal(forT.ok, true);
    const [tRow] = await sql`select status from public.call_sessions where id = ${t.sessionId}`;
    assert.equal(tRow.status, "dialing", "ending 'its' call with S's credential ends S, never T");
  });

  test("a bad, expired or missing credential is refused before the database", async () => {
    const call = await createCall(sql, env);
    const credential = (jwtSecret: string, issuedAt?: number) =>
      mintAgentToken({ jwtSecret, sessionId: call.sessionId, maxDurationSeconds: 900, issuedAt })
        .then((c) => c.token);
    const forged = await credential("another-secret-that-is-at-least-32-chars");
    // Issued long enough ago that the call's duration and the margin have both run out.
    const expired = await credential(
      env.jwtSecret,
      Math.floor(Date.now() / 1000) - 900 - AGENT_TOKEN_MARGIN_SECONDS - 60,
    );
    const forgedResult = await storeFor(forged).rpc("agent_call_context", {});
    assert.deepEqual(forgedResult, { ok: false, status: 401, code: "PGRST301", retryable: false });
    const expiredResult = await storeFor(expired).rpc("agent_call_context", {});
    assert.deepEqual(expiredResult, { ok: false, status: 401, code: "PGRST303", retryable: false });
    const anon = await new CallStore({
      supabaseUrl: double.url,
      anonKey: env.anonKey,
      agentToken: env.anonKey,
    })
      .rpc("agent_call_context", {});
    assert.equal(anon.ok, false);
    assert.equal(
      (anon as StoreFailure).status,
      401,
      "anon may not execute agent functions (42501 as anon is 401)",
    );
  });
});

// The simulation runner with and without an OpenAI key, for a call whose scenario is a persona: without a
// key the job is refused with the reason before anything is held (the dispatcher then ends the attempt,
// see carriers/simulation.ts); with one both sides are models (here the OpenAI double) and the outcome is
// written back under RLS.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { agentJobMetadata } from "@intake/shared/agent-credential";
import { connectSuperuser, createCall, testEnv } from "../../../devstack/fixtures/call-fixture.ts";
import { OpenAIDouble, toolNames } from "../../../devstack/doubles/openai/openai-double.ts";
import { PostgrestDouble } from "../../../devstack/doubles/postgrest/postgrest-double.ts";
import { PERSONA_NEEDS_KEY, simulationOpenAI } from "./models.ts";
import { HANG_UP_TOOL } from "./persona.ts";
import { type SimulationRunner, startSimulationRunner } from "./runner.ts";

const API_KEY = "sk-test-runner-double";
const env = testEnv();
const sql = connectSuperuser(env);
let rest: PostgrestDouble;
let openai: OpenAIDouble;
const runners: SimulationRunner[] = [];

before(async () => {
  rest = await PostgrestDouble.start({ databaseUrl: env.databaseUrl, jwtSecret: env.jwtSecret });
  openai = await OpenAIDouble.start({
    apiKey: API_KEY,
    rules: [
      (r) =>
        toolNames(r).includes(HANG_UP_TOOL)
          ? { content: "Not now, sorry.", toolCalls: [{ name: HANG_UP_TOOL, arguments: {} }] }
          : undefined,
      (r) => toolNames(r).includes("record_field") ? { content: "I understand. Goodbye." } : undefined,
    ],
  });
});
after(async () => {
  for (const runner of runners) await runner.close();
  await rest.close();
  await openai.close();
  await sql.end();
});

/** A simulated call whose scenario is a persona, and the job the dispatcher would send for it. */
async function personaCall() {
  const fixture = await createCall(sql, env);
  const scenario = {
    name: "busy patient",
    description: "hangs up at once",
    template: "intake",
    persona: { description: "Maria, 67, busy: says she cannot talk now and hangs up." },
    expect: { outcome: "failed" },
  };
  await sql`update public.intake_calls set carrier = 'simulation', simulation = ${sql.json(scenario)}
             where id = ${fixture.callId}`;
  const metadata = agentJobMetadata(
    { id: fixture.sessionId, intake_call_id: fixture.callId, org_id: fixture.orgId, attempt_number: 1 },
    { carrier: "simulation", agentToken: fixture.token, sipTrunkId: null },
  );
  return { fixture, body: JSON.stringify({ metadata }) };
}

async function runner(withKey: boolean) {
  const started = await startSimulationRunner({
    supabaseUrl: rest.url,
    anonKey: env.anonKey,
    openai: withKey ? simulationOpenAI({ OPENAI_API_KEY: API_KEY, OPENAI_BASE_URL: openai.url }) : null,
    silenceMs: 5_000,
    log: () => {},
  });
  runners.push(started);
  return started;
}

test("without a key a persona call is refused, saying why, and nothing is held", async () => {
  const { fixture, body } = await personaCall();
  const res = await fetch((await runner(false)).url, { method: "POST", body });
  assert.equal(res.status, 422);
  assert.deepEqual(await res.json(), { error: { code: "scenario_unplayable", message: PERSONA_NEEDS_KEY } });
  const [session] =
    await sql`select status, ended_reason from public.call_sessions where id = ${fixture.sessionId}`;
  assert.deepEqual({ ...session }, { status: "dialing", ended_reason: null });
});

test("a stored scenario the runner cannot read (an older format) is refused too, not retried forever", async () => {
  const { fixture, body } = await personaCall();
  await sql`update public.intake_calls
               set simulation = simulation || '{"turns":[{"callee":"Hello?"}],"persona":"Maria, 67"}'::jsonb
             where id = ${fixture.callId}`;
  const res = await fetch((await runner(true)).url, { method: "POST", body });
  assert.equal(res.status, 422);
  assert.equal((await res.json()).error.code, "scenario_invalid");
});

test("with a key the persona and the agent are both models, and the outcome is written back", async () => {
  const { fixture, body } = await personaCall();
  const started = await runner(true);
  const res = await fetch(started.url, { method: "POST", body });
  assert.equal(res.status, 202);
  await started.idle();
  const [session] = await sql`select ended_reason from public.call_sessions where id = ${fixture.sessionId}`;
  assert.equal(session.ended_reason, "failed", "the callee hung up before any answer");
  const turns = await sql<{ speaker: string; text: string }[]>`
    select speaker, text from public.transcript_turns where session_id = ${fixture.sessionId} order by sequence`;
  assert.deepEqual(turns.filter((t) => t.speaker === "callee").map((t) => t.text), ["Not now, sorry."]);
  assert.ok(openai.requests.some((r) => toolNames(r).includes(HANG_UP_TOOL)), "the persona model was asked");
  assert.ok(
    openai.requests.some((r) => toolNames(r).includes("record_field") && r.stream),
    "the agent's model too",
  );
  assert.deepEqual(openai.unanswered, []);
});

test("a simulated call that names no scenario plays the default one, the cooperative patient", async () => {
  const { fixture, body } = await personaCall();
  await sql`update public.intake_calls set simulation = null where id = ${fixture.callId}`;
  const started = await runner(false);
  const res = await fetch(started.url, { method: "POST", body });
  assert.equal(res.status, 202);
  await started.idle();
  const [session] = await sql`select ended_reason from public.call_sessions where id = ${fixture.sessionId}`;
  assert.equal(session.ended_reason, "completed");
});

test("a scenario the REST API will not give (a forged credential) answers 503, to be retried", async () => {
  const { fixture, body } = await personaCall();
  const job = JSON.parse(JSON.parse(body).metadata);
  const forged = JSON.stringify({
    metadata: JSON.stringify({ ...job, agent_token: `${job.agent_token.slice(0, -6)}AAAAAA` }),
  });
  const res = await fetch((await runner(true)).url, { method: "POST", body: forged });
  assert.equal(res.status, 503);
  assert.equal((await res.json()).error.code, "scenario_unavailable");
  const [session] = await sql`select status from public.call_sessions where id = ${fixture.sessionId}`;
  assert.equal(session.status, "dialing", "nothing was held");
});

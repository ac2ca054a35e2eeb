// The agent's own time on the two hot paths of a call (model, network and speech excluded):
//   1. callee connected -> first greeting requested (context and prompt already loaded, as they are before
//      the callee answers): CallConversation.onConnected() up to the speech being created. Target < 30 ms.
//   2. per callee turn: the emergency/escalation keyword check and who-answered check (onCalleeTurn), the
//      transcript write enqueued, and the redaction the turn's spans go through on export. Target median < 1 ms.
import { AgentSession, voice } from "@livekit/agents";
import { redactAttributes } from "../shared/src/redaction.ts";
import { prepareCall } from "../agent/src/call-setup.ts";
import { CallStore } from "../agent/src/call-store.ts";
import { installPhiSafeLogging } from "../agent/src/logging.ts";
import { processPhi } from "../agent/src/phi.ts";
import { PromptSource } from "../agent/src/prompt.ts";
import { TextTelephony } from "../agent/src/telephony.ts";
import { createCall } from "../devstack/fixtures/call-fixture.ts";
import { median, report } from "./lib.mjs";
import { agentBenchEnv, percentile } from "./agent-setup.mjs";

const GREETINGS = 200;
const TURNS = 20_000;
const bench = await agentBenchEnv();
const logger = installPhiSafeLogging(processPhi, { level: "error" });
const fixture = await createCall(bench.sql, bench.env);
const store = new CallStore({
  supabaseUrl: bench.double.url,
  anonKey: bench.env.anonKey,
  agentToken: fixture.token,
});

async function prepared() {
  return await prepareCall({
    store,
    prompts: new PromptSource(null),
    phi: processPhi,
    logger,
    telephony: new TextTelephony(),
    mode: "text",
    timing: { silencePromptMs: 600_000, silenceHangUpMs: 600_000 },
  });
}

// 1. Greeting.
const greetingMs = [];
for (let i = 0; i < GREETINGS; i++) {
  const call = await prepared();
  const session = new AgentSession({ llm: new voice.testing.FakeLLM([]) });
  call.conversation.attach(session);
  await session.start({ agent: call.conversation.agent });
  let requestedAt = 0;
  session.once(voice.AgentSessionEventTypes.SpeechCreated, () => (requestedAt = performance.now()));
  const t0 = performance.now();
  call.conversation.onConnected();
  greetingMs.push(requestedAt - t0);
  await session.close();
}
console.log(
  `greeting: ${GREETINGS} calls, p50 ${median(greetingMs).toFixed(3)} ms, p99 ${
    percentile(greetingMs, 99).toFixed(3)
  } ms`,
);
report("callee connected -> greeting requested (p50)", median(greetingMs), "ms", 30);

// 2. Per-turn processing.
const call = await prepared();
const lines = [
  "Hello?",
  "Yes, this is Maria speaking.",
  "My date of birth is March 14th, 1985.",
  "I take metformin, 500 milligrams twice a day, and lisinopril in the morning.",
  "No chest pain, no shortness of breath, I just have a follow up.",
  "My pain is about a four out of ten, it's been getting worse this week.",
  "Can you call me back at 212-555-0147 after five?",
];
const spanAttributes = {
  "lk.speech_id": "speech_123",
  "lk.user_transcript": "My date of birth is March 14th, 1985.",
  "gen_ai.operation.name": "chat",
  "lk.function_tool.arguments": '{"field_name":"date_of_birth","value":"1985-03-14"}',
  "gen_ai.usage.input_tokens": 812,
  "lk.interrupted": false,
  "lk.agent_name": "intake-agent",
};
const known = { values: processPhi.values };
let sequence = 0;
const turnUs = [];
for (let i = 0; i < TURNS; i++) {
  const text = lines[i % lines.length];
  const t0 = performance.now();
  call.conversation.onCalleeTurn(text);
  call.writer.enqueueTurn({
    session_id: fixture.sessionId,
    org_id: fixture.orgId,
    sequence: sequence++,
    speaker: "callee",
    text,
    started_at: new Date().toISOString(),
    ended_at: new Date().toISOString(),
  });
  redactAttributes(spanAttributes, known);
  turnUs.push(performance.now() - t0);
  if (i % 500 === 499) await call.writer.flush(60_000); // keep the queue as short as a live call's
}
await call.writer.flush(60_000);
console.log(
  `turns: ${TURNS}, p50 ${median(turnUs).toFixed(4)} ms, p99 ${percentile(turnUs, 99).toFixed(4)} ms`,
);
report("per-turn processing (p50)", median(turnUs), "ms", 1);
await bench.close();
process.exit(0);

// One simulated call in its own process, as LiveKit runs one job per process: what prewarm loads (the
// Silero VAD), the call context through the call-scoped credential, an AgentSession in text mode with a
// scripted model, a few turns; then it reports "ready" and holds the call open until killed.
import { AgentSession, voice } from "@livekit/agents";
import * as silero from "@livekit/agents-plugin-silero";
import { prepareCall } from "../agent/src/call-setup.ts";
import { CallStore } from "../agent/src/call-store.ts";
import { installPhiSafeLogging } from "../agent/src/logging.ts";
import { processPhi } from "../agent/src/phi.ts";
import { PromptSource } from "../agent/src/prompt.ts";
import { TextTelephony } from "../agent/src/telephony.ts";

const logger = installPhiSafeLogging(processPhi, { level: "error" });
const vad = await silero.VAD.load();
const store = new CallStore({
  supabaseUrl: process.env.BENCH_POSTGREST_URL,
  anonKey: process.env.BENCH_ANON_KEY,
  agentToken: process.env.BENCH_AGENT_TOKEN,
});
const call = await prepareCall({
  store,
  prompts: new PromptSource(null),
  phi: processPhi,
  logger,
  telephony: new TextTelephony(),
  mode: "text",
  timing: { silencePromptMs: 3_600_000, silenceHangUpMs: 3_600_000 },
});
const session = new AgentSession({
  vad,
  llm: new voice.testing.FakeLLM([
    { input: "Hello?", content: "Hi! Could you tell me your date of birth?" },
    { input: "March 14th, 1985", content: "Thank you. Which medications do you take?" },
    { input: "Just metformin", content: "Thanks. How is your pain today, from 0 to 10?" },
  ]),
});
call.conversation.attach(session);
await session.start({ agent: call.conversation.agent });
await call.conversation.onConnected()?.waitForPlayout();
for (const line of ["Hello?", "March 14th, 1985", "Just metformin"]) {
  await session.run({ userInput: line }).wait();
}
await call.writer.flush(30_000);
process.send?.("ready");
setInterval(() => {}, 60_000);

// A call held in text, as the simulation runner holds a simulated call (and tests, through
// devstack/fixtures/text-call.ts): the real store against a REST endpoint, the real conversation and agent, an AgentSession without a room driven by a scripted
// model (FakeLLM), and TextTelephony recording what the line was asked to do.
import { AgentSession, type llm, voice } from "@livekit/agents";
import { prepareCall, type PreparedCall } from "../call-setup.ts";
import { CallStore } from "../call-store.ts";
import type { ConversationResult, ConversationTiming } from "../conversation.ts";
import { installPhiSafeLogging } from "../logging.ts";
import { processPhi } from "../phi.ts";
import { PromptSource } from "../prompt.ts";
import { TextTelephony } from "../telephony.ts";

/** A call held in text by the real conversation code, for an attempt whose credential we hold. */
export type HeldTextCall = PreparedCall & {
  session: AgentSession;
  telephony: TextTelephony;
  close(): Promise<void>;
};

export type HoldOptions = {
  /** The REST endpoint (Supabase URL, or the PostgREST double/stand-in) and the anon key. */
  supabaseUrl: string;
  anonKey: string;
  /** The attempt's call-scoped credential (role call_agent). */
  agentToken: string;
  /** The scripted model's responses, or a model of its own (a simulated call's scripted or real model). */
  model: voice.testing.FakeLLMResponse[] | llm.LLM;
  timing?: Partial<ConversationTiming>;
  prompts?: PromptSource;
};

/** Holds the attempt's call in text: setup, conversation and agent exactly as on a phone line. */
export async function holdTextCall(options: HoldOptions): Promise<HeldTextCall> {
  const store = new CallStore({
    supabaseUrl: options.supabaseUrl,
    anonKey: options.anonKey,
    agentToken: options.agentToken,
  });
  const logger = installPhiSafeLogging(processPhi, { level: "warn" });
  const telephony = new TextTelephony();
  const prepared = await prepareCall({
    store,
    prompts: options.prompts ?? new PromptSource(null),
    phi: processPhi,
    logger,
    telephony,
    mode: "text",
    timing: {
      silencePromptMs: 60_000,
      silenceHangUpMs: 60_000,
      voicemailBeepMs: 10,
      flushTimeoutMs: 10_000,
      ...options.timing,
    },
    writeBack: { batchDelayMs: 5, retryInitialMs: 10, retryMaxMs: 100 },
  });
  const model = Array.isArray(options.model) ? new voice.testing.FakeLLM(options.model) : options.model;
  const session = new AgentSession({ llm: model });
  prepared.conversation.attach(session);
  await session.start({ agent: prepared.conversation.agent });
  await prepared.conversation.onConnected()?.waitForPlayout();
  return {
    ...prepared,
    session,
    telephony,
    close: async () => {
      await session.close();
    },
  };
}

/** The key FakeLLM looks a tool's output up by: the output as the session records it (JSON of the return). */
export const afterTool = (output: string) => JSON.stringify(output);

/** The call's result once it ends, or null when it has not ended within `ms` (the timer is cleared either way). */
export async function endedWithin(
  ended: Promise<ConversationResult>,
  ms: number,
): Promise<ConversationResult | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)));
  try {
    return await Promise.race([ended, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

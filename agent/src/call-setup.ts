// Everything a call needs before the callee answers, in one place for the worker, the tests and simulated
// calls: the call context (call-scoped credential), the prompt (Langfuse or the database), the PHI the
// call knows, the write-back queue and the conversation.
import { type CallContext, knownPhi } from "./call-context.ts";
import type { CallStore } from "./call-store.ts";
import { CallConversation, type ConversationOptions } from "./conversation.ts";
import type { AgentLogger } from "./logging.ts";
import type { PhiRegistry } from "./phi.ts";
import { composeInstructions, type LoadedPrompt, type PromptSource } from "./prompt.ts";
import type { Telephony } from "./telephony.ts";
import { type WriteBackOptions, WriteBackQueue } from "./write-back.ts";

export type PreparedCall = {
  context: CallContext;
  prompt: LoadedPrompt;
  writer: WriteBackQueue;
  conversation: CallConversation;
};

export async function prepareCall(options: {
  store: CallStore;
  prompts: PromptSource;
  phi: PhiRegistry;
  logger: AgentLogger;
  telephony: Telephony;
  mode: ConversationOptions["mode"];
  timing?: ConversationOptions["timing"];
  writeBack?: WriteBackOptions;
}): Promise<PreparedCall> {
  const context = await options.store.fetchContext();
  options.phi.add(...knownPhi(context));
  const prompt = await options.prompts.load(context.template);
  const writer = new WriteBackQueue(options.store, {
    ...options.writeBack,
    onDrop: (operation, failure) =>
      options.logger.error(
        { operation, status: failure.status, code: failure.code },
        "write-back refused by the database; dropped",
      ),
  });
  const conversation = new CallConversation({
    context,
    instructions: composeInstructions(context, prompt.text),
    writer,
    fields: options.store,
    telephony: options.telephony,
    logger: options.logger,
    phi: options.phi,
    mode: options.mode,
    timing: options.timing,
  });
  options.logger.info(
    { session_id: context.session.id, prompt_source: prompt.source, prompt_version: prompt.version },
    "call prepared",
  );
  return { context, prompt, writer, conversation };
}

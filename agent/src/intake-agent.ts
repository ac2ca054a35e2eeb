// The agent of an intake call: its instructions and tools. It holds no call state: every tool and every
// callee turn is handed to `IntakeActions` (the CallConversation), so the same class runs on a phone
// line, in a test session and in a simulated call.
import { ReadableStream } from "node:stream/web";
import { Agent, llm, type voice } from "@livekit/agents";
import { z } from "zod";
import type { AgentOutcome } from "@intake/shared/agent-job";

/** What the conversation decides about one final callee line, before the model may answer it. */
export type TurnDecision =
  | { kind: "model" } // let the model answer
  | { kind: "say"; text: string } // say exactly this instead of the model
  | { kind: "silent" }; // answer nothing (voicemail greeting, call ending)

/** The outcomes the model may end a call with (the others are decided in code: emergency, opt-out, voicemail...). */
export const MODEL_OUTCOMES = [
  "completed",
  "wrong_number",
  "failed",
] as const satisfies readonly AgentOutcome[];

export interface IntakeActions {
  /** Called once per final callee line, before the model sees it. Must be fast: it is on the turn path. */
  onCalleeTurn(text: string): TurnDecision;
  /** True once the call is ending: the model says nothing more. */
  readonly isEnding: boolean;
  recordField(fieldName: string, value: string): Promise<string>;
  confirmField(fieldName: string, confirmed: boolean): Promise<string>;
  transferToHuman(summary: string): Promise<string>;
  optOut(): Promise<string>;
  endCall(outcome: (typeof MODEL_OUTCOMES)[number]): Promise<string>;
  pressKeys(digits: string): Promise<string>;
}

export function textStream(text: string): ReadableStream<string> {
  return new ReadableStream<string>({
    start(controller) {
      controller.enqueue(text);
      controller.close();
    },
  });
}

/** No reply at all. (An empty stream, not null: in agents 1.9 a null from llmNode after a tool call never completes the run.) */
function emptyStream(): ReadableStream<string> {
  return new ReadableStream<string>({ start: (controller) => controller.close() });
}

export class IntakeAgent extends Agent {
  readonly #actions: IntakeActions;
  /** Ids of callee messages already checked, so a tool round trip does not check the same line twice. */
  readonly #checked = new Set<string>();

  constructor(options: { instructions: string; actions: IntakeActions }) {
    const actions = options.actions;
    super({
      instructions: options.instructions,
      tools: {
        record_field: llm.tool({
          description:
            "Store one answer. Pass the field name and the value as the person said it (dates as YYYY-MM-DD). " +
            "If the result says what is wrong, ask again. Fields marked confirm must be read back first.",
          parameters: z.object({
            field_name: z.string().describe("the field's name, from the list of fields"),
            value: z.string().describe("the answer"),
          }),
          execute: ({ field_name, value }) => actions.recordField(field_name, value),
        }),
        confirm_field: llm.tool({
          description:
            "After reading a value back: confirmed true stores it, false discards it (then ask again and " +
            "record the corrected value).",
          parameters: z.object({ field_name: z.string(), confirmed: z.boolean() }),
          execute: ({ field_name, confirmed }) => actions.confirmField(field_name, confirmed),
        }),
        transfer_to_human: llm.tool({
          description: "The person wants to talk to a human: hand the call to the organisation's staff.",
          parameters: z.object({
            summary: z.string().describe("one or two sentences for the staff member: why the person called"),
          }),
          execute: ({ summary }) => actions.transferToHuman(summary),
        }),
        opt_out: llm.tool({
          description: "The person asks not to be called again. Ends the call politely.",
          parameters: z.object({}),
          execute: () => actions.optOut(),
        }),
        end_call: llm.tool({
          description:
            "End the call: completed when every required field is recorded or the purpose is met, " +
            "wrong_number when the person is not who we are calling for, failed when it cannot go on.",
          parameters: z.object({ outcome: z.enum(MODEL_OUTCOMES) }),
          execute: ({ outcome }) => actions.endCall(outcome),
        }),
        press_keys: llm.tool({
          description:
            "Only while a phone menu (IVR) is speaking: press keys to reach a person at reception.",
          parameters: z.object({ digits: z.string().regex(/^[0-9*#]{1,12}$/) }),
          execute: ({ digits }) => actions.pressKeys(digits),
        }),
      },
    });
    this.#actions = actions;
  }

  // Every final callee line passes here before the model answers it (pipeline and text sessions): the
  // emergency check and the answering-machine check are code, not model behaviour.
  override async llmNode(
    chatCtx: llm.ChatContext,
    toolCtx: llm.ToolContext,
    modelSettings: voice.ModelSettings,
  ): Promise<ReadableStream<llm.ChatChunk | string> | null> {
    const last = chatCtx.items[chatCtx.items.length - 1];
    if (last?.type === "message" && last.role === "user" && !this.#checked.has(last.id)) {
      this.#checked.add(last.id);
      const decision = this.#actions.onCalleeTurn(last.textContent ?? "");
      if (decision.kind === "say") return textStream(decision.text);
      if (decision.kind === "silent") return emptyStream();
    }
    if (this.#actions.isEnding) return emptyStream();
    return await Agent.default.llmNode(this, chatCtx, toolCtx, modelSettings);
  }
}

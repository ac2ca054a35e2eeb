// A callee played by a model (a scenario's `persona`). Each time the agent has spoken, the persona model gets
// the persona's description as its instructions and the conversation so far with the roles flipped (the
// agent's lines as `user`, the callee's as `assistant`: from the persona's side the agent is the other
// party), and its reply is what the callee says next. It hangs up by calling its one tool, `hang_up` (with
// its last words, if any, as the reply), or after `max_turns` lines. A reply with no words is silence: it
// counts as a line. Chat Completions through the `openai` package, not written by hand.
import type { AgentSession } from "@livekit/agents";
import OpenAI from "openai";
import type { Speaker } from "@intake/shared/enums";
import type { ScenarioPersona } from "@intake/shared/simulation";
import type { ConversationResult } from "../conversation.ts";
import { endedWithin, type HeldTextCall } from "./text-call.ts";
import type { OpenAISettings } from "./models.ts";

export const HANG_UP_TOOL = "hang_up";

/** The persona model's instructions: how to play a callee, then who the callee is. */
export function personaInstructions(description: string): string {
  return "You are playing the person described below, who has just answered a phone call from an automated " +
    "assistant calling on behalf of a clinic. Say only what this person says aloud next, in the first " +
    "person: one short spoken turn, no narration, no stage directions. Stay in character and answer the way " +
    `this person would. When the call is over (the caller said goodbye, or this person would hang up), call ` +
    `${HANG_UP_TOOL}, with any last words as your reply.\n\nThe person:\n${description}`;
}

export type CallLine = { speaker: Exclude<Speaker, "system">; text: string };
export type PersonaReply = { say: string | null; hangUp: boolean };

/** What was said so far on a call held in text, in order (tool calls and their results are not heard). */
export function spokenLines(session: AgentSession): CallLine[] {
  const lines: CallLine[] = [];
  for (const item of session.history.items) {
    if (item.type !== "message" || (item.role !== "user" && item.role !== "assistant")) continue;
    const text = item.textContent?.trim();
    if (text) lines.push({ speaker: item.role === "user" ? "callee" : "agent", text });
  }
  return lines;
}

export class PersonaCallee {
  readonly maxTurns: number;
  readonly #instructions: string;
  readonly #model: string;
  readonly #client: OpenAI;

  constructor(persona: ScenarioPersona, settings: OpenAISettings) {
    this.maxTurns = persona.max_turns;
    this.#instructions = personaInstructions(persona.description);
    this.#model = settings.personaModel;
    this.#client = new OpenAI({ apiKey: settings.apiKey, baseURL: settings.baseURL, timeout: 30_000 });
  }

  /** The callee's next line, given the conversation so far. */
  async next(lines: CallLine[]): Promise<PersonaReply> {
    const completion = await this.#client.chat.completions.create({
      model: this.#model,
      messages: [
        { role: "system", content: this.#instructions },
        ...lines.map((line) => ({
          role: line.speaker === "agent" ? "user" as const : "assistant" as const,
          content: line.text,
        })),
      ],
      tools: [{
        type: "function",
        function: {
          name: HANG_UP_TOOL,
          description: "Hang up: the call is over for this person.",
          parameters: { type: "object", properties: {}, additionalProperties: false },
        },
      }],
    });
    const message = completion.choices[0]?.message;
    return {
      say: message?.content?.trim() || null,
      hangUp: message?.tool_calls?.some((c) => c.type === "function" && c.function.name === HANG_UP_TOOL) ??
        false,
    };
  }
}

/**
 * Plays a persona callee on a call held in text until the call ends: the callee speaks after the agent
 * (the greeting first), hangs up when its model says so or after its last allowed line. Result null: the
 * call did not end within `endTimeoutMs` after the callee stopped.
 */
export async function playPersona(
  call: HeldTextCall,
  callee: PersonaCallee,
  endTimeoutMs: number,
): Promise<{ result: ConversationResult | null; calleeLines: number }> {
  let ended = false;
  const endedCall = call.conversation.ended.then((result) => {
    ended = true;
    return result;
  });
  const over = () => ended || call.conversation.isEnding;
  let calleeLines = 0;
  while (!over()) {
    if (calleeLines >= callee.maxTurns) {
      call.conversation.onCalleeLeft();
      break;
    }
    const reply = await callee.next(spokenLines(call.session));
    // The agent may have ended the call while the persona was thinking.
    if (over()) break;
    calleeLines++;
    if (reply.say) await call.session.run({ userInput: reply.say }).wait();
    if (reply.hangUp) {
      if (!over()) call.conversation.onCalleeLeft();
      break;
    }
  }
  return { result: await endedWithin(endedCall, endTimeoutMs), calleeLines };
}

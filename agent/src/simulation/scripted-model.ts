// The model of a simulated call when no real one is configured: LiveKit's FakeLLM, answering from the
// scenario file. FakeLLM keys its answers by input text; a scenario is a sequence instead (the same
// "Yes" can get different answers, and tool results are the agent's words, not the author's), so the
// lookup follows the script: the reply given for the callee's current line, then its `then` chain once
// per round of tool results.
import { voice } from "@livekit/agents";
import type { ScenarioModelReply } from "@intake/shared/simulation";

export function fakeResponse(input: string, reply: ScenarioModelReply): voice.testing.FakeLLMResponse {
  return {
    input,
    content: reply.say,
    toolCalls: reply.tools?.map((call) => ({ name: call.tool, args: call.args })),
  };
}

export class ScriptedModel extends voice.testing.FakeLLM {
  #next: ScenarioModelReply | undefined;
  /** Times the agent asked the model and the script had nothing for it. */
  unscripted = 0;

  /** The reply to the callee line about to be said (none: the model has nothing to say to it). */
  expectLine(reply: ScenarioModelReply | undefined): void {
    this.#next = reply;
  }

  override lookup(input: string): voice.testing.FakeLLMResponse | undefined {
    const reply = this.#next;
    if (!reply) {
      this.unscripted++;
      return undefined;
    }
    this.#next = reply.then;
    return fakeResponse(input, reply);
  }
}

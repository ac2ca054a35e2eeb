// How a scenario is played on a call held in text: the agent's model (scripted from the file, or the real one)
// and the callee's side (the file's script, or a persona played by a model). The simulation runner plays a
// dispatched call with it; the scenario suite (devstack/simulation/scenario-suite.ts) plays its files with it.
import type { llm } from "@livekit/agents";
import type { Scenario, ScenarioTurn } from "@intake/shared/simulation";
import type { ConversationResult } from "../conversation.ts";
import { agentModel, type OpenAISettings, PERSONA_NEEDS_KEY } from "./models.ts";
import { PersonaCallee, playPersona } from "./persona.ts";
import { ScriptedModel } from "./scripted-model.ts";
import { endedWithin, type HeldTextCall } from "./text-call.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export type PlayResult = { result: ConversationResult | null; linesUnsaid: number };

/** How a scenario is played: the agent's model, and the callee's side on a call held with it. */
export type ScenarioPlayer = {
  model: llm.LLM;
  play(call: HeldTextCall, endTimeoutMs: number): Promise<PlayResult>;
};

/** The player of `scenario` with these models, or the reason it cannot be played (PERSONA_NEEDS_KEY). */
export function scenarioPlayer(scenario: Scenario, openai: OpenAISettings | null): ScenarioPlayer | string {
  if (scenario.persona) {
    if (!openai) return PERSONA_NEEDS_KEY;
    const callee = new PersonaCallee(scenario.persona, openai);
    return {
      model: agentModel(openai),
      play: async (call, endTimeoutMs) => ({
        result: (await playPersona(call, callee, endTimeoutMs)).result,
        linesUnsaid: 0,
      }),
    };
  }
  const turns = scenario.turns ?? [];
  if (openai) {
    return {
      model: agentModel(openai),
      play: (call, endTimeoutMs) => playScenario(call, turns, null, endTimeoutMs),
    };
  }
  const scripted = new ScriptedModel();
  return { model: scripted, play: (call, endTimeoutMs) => playScenario(call, turns, scripted, endTimeoutMs) };
}

/**
 * Plays a scripted callee on a call held in text: each line after its pause, with the scripted model (when
 * the agent's model is the scripted one) told its reply first; lines after the agent hung up are not said. A
 * script that ends without the call ending runs into the silence timers, as a real call would. Result null:
 * the call did not end in time.
 */
export async function playScenario(
  call: HeldTextCall,
  turns: ScenarioTurn[],
  scripted: ScriptedModel | null,
  endTimeoutMs: number,
): Promise<PlayResult> {
  let ended = false;
  const endedCall = call.conversation.ended.then((result) => {
    ended = true;
    return result;
  });
  let linesUnsaid = 0;
  for (const turn of turns) {
    if (ended || call.conversation.isEnding) {
      linesUnsaid++;
      continue;
    }
    if (turn.pause_ms) await sleep(turn.pause_ms);
    scripted?.expectLine(turn.model);
    await call.session.run({ userInput: turn.callee }).wait();
  }
  return { result: await endedWithin(endedCall, endTimeoutMs), linesUnsaid };
}

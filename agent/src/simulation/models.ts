// Which models a simulated call uses. With an OpenAI key (OPENAI_API_KEY, optional OPENAI_BASE_URL) the agent
// side is the real model, through the same plugin as the worker's pipeline mode (openai.LLM, OPENAI_LLM_MODEL:
// a call held in text has no audio for a realtime model), and a persona scenario's callee is played by
// SIMULATION_PERSONA_MODEL. Without a key the agent side is the scripted model (scripted-model.ts) and only
// scripted scenarios can be played.
import * as openai from "@livekit/agents-plugin-openai";
import { z } from "zod";
import { WorkerConfig } from "../config.ts";

export type OpenAISettings = {
  apiKey: string;
  baseURL?: string;
  /** The agent's model (the worker's OPENAI_LLM_MODEL). */
  agentModel: string;
  /** The model playing a persona scenario's callee. */
  personaModel: string;
};

const SimulationModelConfig = z.object({
  OPENAI_API_KEY: z.string().trim().min(1).optional().catch(undefined),
  OPENAI_BASE_URL: WorkerConfig.shape.OPENAI_BASE_URL,
  OPENAI_LLM_MODEL: WorkerConfig.shape.OPENAI_LLM_MODEL,
  SIMULATION_PERSONA_MODEL: z.string().min(1).default("gpt-4o-mini"),
});

/** The OpenAI settings of simulated calls, or null without a key. Throws naming a malformed variable. */
export function simulationOpenAI(env: Record<string, string | undefined>): OpenAISettings | null {
  const parsed = SimulationModelConfig.safeParse(env);
  if (!parsed.success) {
    const names = parsed.error.issues.map((issue) => String(issue.path[0]));
    throw new Error(`invalid simulation configuration: ${[...new Set(names)].join(", ")}`);
  }
  const config = parsed.data;
  if (!config.OPENAI_API_KEY) return null;
  return {
    apiKey: config.OPENAI_API_KEY,
    baseURL: config.OPENAI_BASE_URL,
    agentModel: config.OPENAI_LLM_MODEL,
    personaModel: config.SIMULATION_PERSONA_MODEL,
  };
}

/** The agent side's real model: the worker's pipeline LLM. */
export function agentModel(settings: OpenAISettings): openai.LLM {
  return new openai.LLM({ apiKey: settings.apiKey, baseURL: settings.baseURL, model: settings.agentModel });
}

/** Why a persona scenario cannot be played without a key (the suite's SKIPPED reason, the runner's refusal). */
export const PERSONA_NEEDS_KEY = "a persona scenario needs OPENAI_API_KEY: its callee is played by a model";

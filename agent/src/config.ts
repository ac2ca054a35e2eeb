// The worker's configuration, parsed once from the environment. A missing or malformed variable stops
// the worker at start with the variable's name (never its value: keys are secrets).
import { z } from "zod";

const optionalText = z.string().trim().min(1).optional().catch(undefined);

export const WorkerConfig = z
  .object({
    LIVEKIT_URL: z.url(),
    LIVEKIT_API_KEY: z.string().min(1),
    LIVEKIT_API_SECRET: z.string().min(1),
    SUPABASE_URL: z.url(),
    SUPABASE_ANON_KEY: z.string().min(20),
    OPENAI_API_KEY: z.string().min(1),
    /** An OpenAI-compatible endpoint (a proxy, Azure's v1 surface, a local server). */
    OPENAI_BASE_URL: z.url().optional(),
    /** realtime: one speech-to-speech model; pipeline: STT + LLM + TTS. */
    AGENT_MODE: z.enum(["realtime", "pipeline"]).default("realtime"),
    OPENAI_REALTIME_MODEL: z.string().min(1).default("gpt-realtime"),
    OPENAI_LLM_MODEL: z.string().min(1).default("gpt-4.1-mini"),
    OPENAI_STT_MODEL: z.string().min(1).default("gpt-4o-transcribe"),
    OPENAI_TTS_MODEL: z.string().min(1).default("gpt-4o-mini-tts"),
    OPENAI_VOICE: z.string().min(1).default("alloy"),
    LANGFUSE_PUBLIC_KEY: optionalText,
    LANGFUSE_SECRET_KEY: optionalText,
    LANGFUSE_BASE_URL: z.url().optional(),
    /** Port of the worker's health endpoint (`GET /` answers 200 while connected to LiveKit). */
    AGENT_HEALTH_PORT: z.coerce.number().int().min(1).max(65535).default(8081),
    /** Calls one worker process holds at once; its load is live calls / this. */
    AGENT_MAX_CONCURRENT_CALLS: z.coerce.number().int().min(1).max(200).default(10),
    AGENT_LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error"]).default("info"),
  })
  .refine((c) => Boolean(c.LANGFUSE_PUBLIC_KEY) === Boolean(c.LANGFUSE_SECRET_KEY), {
    message: "LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY are set together or not at all",
    path: ["LANGFUSE_SECRET_KEY"],
  });
export type WorkerConfig = z.infer<typeof WorkerConfig>;

export class ConfigError extends Error {
  constructor(readonly variables: string[], detail: string) {
    super(`invalid worker configuration: ${detail}`);
  }
}

/** Parses the environment; throws ConfigError naming the offending variables (values never appear). */
export function loadConfig(env: Record<string, string | undefined> = process.env): WorkerConfig {
  const parsed = WorkerConfig.safeParse(env);
  if (parsed.success) return parsed.data;
  const variables = [...new Set(parsed.error.issues.map((issue) => String(issue.path[0] ?? "?")))];
  const detail = parsed.error.issues.map((issue) => `${String(issue.path[0])}: ${issue.message}`).join("; ");
  throw new ConfigError(variables, detail);
}

/** Langfuse is optional: without keys prompts come from the database and traces stay local. */
export function langfuseSettings(config: WorkerConfig) {
  if (!config.LANGFUSE_PUBLIC_KEY || !config.LANGFUSE_SECRET_KEY) return null;
  return {
    publicKey: config.LANGFUSE_PUBLIC_KEY,
    secretKey: config.LANGFUSE_SECRET_KEY,
    baseUrl: config.LANGFUSE_BASE_URL ?? "https://cloud.langfuse.com",
  };
}

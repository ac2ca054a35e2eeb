// The worker: registers with LiveKit as `intake-agent` (explicit dispatch only: the dispatcher names it),
// runs each call in its own job process, and drains on SIGTERM: LiveKit's CLI in production mode (`start`)
// stops taking jobs and waits up to `drainTimeout` for live calls to end before exiting, so a deploy never
// cuts a call (fly.toml's kill_timeout is longer still).
//
//   node --import tsx agent/src/main.ts start     (production; health on AGENT_HEALTH_PORT: GET / is 200
//                                                  while registered with LiveKit, 503 otherwise)
//   node --import tsx agent/src/main.ts dev       (development)
import { fileURLToPath } from "node:url";
import { LangfuseClient } from "@langfuse/client";
import { cli, defineAgent, type JobContext, type JobProcess, ServerOptions } from "@livekit/agents";
import * as silero from "@livekit/agents-plugin-silero";
import { AGENT_NAME } from "@intake/shared/agent-job";
import { runCall, type WorkerResources } from "./call-runner.ts";
import { langfuseSettings, loadConfig } from "./config.ts";
import { installPhiSafeLogging } from "./logging.ts";
import { processPhi } from "./phi.ts";
import { PromptSource } from "./prompt.ts";
import { setUpTracing } from "./tracing.ts";

/** The longest call a template allows (call_templates.max_duration_seconds is at most 3600). */
export const MAX_CALL_SECONDS = 3_600;
/** Past the longest call: the goodbye, the last write-back flush (up to a minute), the room's deletion. */
export const DRAIN_TIMEOUT_MS = (MAX_CALL_SECONDS + 5 * 60) * 1000;

/** Loaded once per job process, before any call is assigned to it: nothing here waits on a call. */
async function prewarm(proc: JobProcess<{ resources?: WorkerResources }>): Promise<void> {
  const config = loadConfig();
  const logger = installPhiSafeLogging(processPhi, { level: config.AGENT_LOG_LEVEL });
  const langfuse = langfuseSettings(config);
  proc.userData.resources = {
    config,
    logger,
    phi: processPhi,
    vad: await silero.VAD.load(),
    prompts: new PromptSource(langfuse ? new LangfuseClient(langfuse) : null),
    tracing: langfuse ? setUpTracing({ phi: processPhi, langfuse }) : null,
  };
}

async function entry(ctx: JobContext<{ resources?: WorkerResources }>): Promise<void> {
  const resources = ctx.proc.userData.resources;
  if (!resources) throw new Error("prewarm did not run");
  await runCall(ctx as JobContext, resources);
}

export default defineAgent<{ resources?: WorkerResources }>({ prewarm, entry });

export function serverOptions(config = loadConfig()): ServerOptions {
  return new ServerOptions({
    agent: fileURLToPath(import.meta.url),
    agentName: AGENT_NAME,
    wsURL: config.LIVEKIT_URL,
    apiKey: config.LIVEKIT_API_KEY,
    apiSecret: config.LIVEKIT_API_SECRET,
    port: config.AGENT_HEALTH_PORT,
    // Load = live calls over capacity; LiveKit stops offering jobs to this worker at the threshold.
    loadFunc: (server) => Promise.resolve(server.activeJobs.length / config.AGENT_MAX_CONCURRENT_CALLS),
    loadThreshold: 1 - 0.5 / config.AGENT_MAX_CONCURRENT_CALLS,
    numIdleProcesses: 1,
    drainTimeout: DRAIN_TIMEOUT_MS,
    jobMemoryWarnMB: 400,
    jobMemoryLimitMB: 800,
    logLevel: config.AGENT_LOG_LEVEL,
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  cli.runApp(serverOptions());
}

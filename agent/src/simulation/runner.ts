// The simulation runner: the local stack's stand-in for LiveKit's agent dispatch, for simulated calls.
// The dispatcher (simulation carrier, SIMULATION_AGENT_URL) POSTs it the same job metadata a LiveKit worker
// receives: ids and the attempt's call-scoped credential. The runner reads the call's scenario with that
// credential, then holds the call in text with the real agent code (setup, conversation, tools, guards,
// write-back through PostgREST under RLS) while it plays the callee's side of the scenario. With an OpenAI key
// the agent's model is the real one and persona scenarios are played by a model (models.ts); without one a
// persona scenario cannot be played: the job is refused (422 `scenario_unplayable`; a scenario stored in a
// format it no longer reads, 422 `scenario_invalid`), and the dispatcher ends the attempt as failed with the
// code `runner:scenario_unplayable`.
//
//   node --import tsx agent/src/simulation/runner.ts    (npm start runs it)
// Env: SIMULATION_AGENT_PORT (54329); SUPABASE_URL + SUPABASE_ANON_KEY of the project's REST API (locally
// the functions server, which answers /rest/v1 with the PostgREST stand-in); OPENAI_API_KEY and friends
// (models.ts) for the real models.
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import process from "node:process";
import { readFile } from "node:fs/promises";
import { text } from "node:stream/consumers";
import { AgentJobMetadata } from "@intake/shared/agent-job";
import { Scenario } from "@intake/shared/simulation";
import { CallStore, StoreError } from "../call-store.ts";
import { holdTextCall } from "./text-call.ts";
import { type OpenAISettings, simulationOpenAI } from "./models.ts";
import { type ScenarioPlayer, scenarioPlayer } from "./scenario-player.ts";

/** Played when a simulated call names no scenario. */
const DEFAULT_SCENARIO = new URL("../../../simulations/intake/cooperative-patient.json", import.meta.url);

export type SimulationRunner = {
  url: string;
  /** Settles when every job received so far has ended. */
  idle(): Promise<void>;
  close(): Promise<void>;
};

export async function startSimulationRunner(options: {
  supabaseUrl: string;
  anonKey: string;
  port?: number;
  /** The real models' settings; none: the scripted model, and persona scenarios are refused. */
  openai?: OpenAISettings | null;
  silenceMs?: number;
  log?: (line: Record<string, unknown>) => void;
}): Promise<SimulationRunner> {
  const log = options.log ?? ((line) => console.log(JSON.stringify(line)));
  const jobs = new Set<Promise<void>>();

  /** The call's scenario as stored (unparsed), or the default one when it names none. */
  async function scenarioFor(job: AgentJobMetadata): Promise<unknown> {
    const store = new CallStore({
      supabaseUrl: options.supabaseUrl,
      anonKey: options.anonKey,
      agentToken: job.agent_token,
    });
    const stored = await store.rpc("agent_simulation_scenario", {});
    if (!stored.ok) throw new StoreError("agent_simulation_scenario", stored);
    return stored.data ?? JSON.parse(await readFile(DEFAULT_SCENARIO, "utf8"));
  }

  async function run(job: AgentJobMetadata, scenario: Scenario, player: ScenarioPlayer): Promise<void> {
    const started = Date.now();
    const silenceMs = options.silenceMs ?? (options.openai ? 10_000 : 2_000);
    const call = await holdTextCall({
      supabaseUrl: options.supabaseUrl,
      anonKey: options.anonKey,
      agentToken: job.agent_token,
      model: player.model,
      timing: { silencePromptMs: silenceMs, silenceHangUpMs: silenceMs },
    });
    try {
      const { result } = await player.play(call, 30_000);
      // Ids and outcomes only: the scenario's lines are the callee's words.
      log({
        msg: "simulated call ended",
        session_id: job.session_id,
        scenario: scenario.name,
        outcome: result?.outcome ?? "did_not_end",
        ms: Date.now() - started,
      });
    } finally {
      await call.close();
    }
  }

  const reply = (res: ServerResponse, status: number, body: unknown) =>
    res.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify(body));

  const server: Server = createServer(async (req, res) => {
    const body = await text(req);
    let job: AgentJobMetadata;
    try {
      // The metadata string exactly as a LiveKit agent dispatch carries it.
      job = AgentJobMetadata.parse(JSON.parse(JSON.parse(body).metadata));
    } catch {
      return reply(res, 400, { error: { code: "invalid_job", message: "not an intake-agent job" } });
    }
    // The scenario is read before the job is accepted, so one that cannot be played is refused, not lost.
    let stored: unknown;
    try {
      stored = await scenarioFor(job);
    } catch (error) {
      log({
        msg: "simulated call: scenario unavailable",
        session_id: job.session_id,
        error: (error as Error).name,
      });
      return reply(res, 503, {
        error: { code: "scenario_unavailable", message: "the scenario could not be read" },
      });
    }
    // Stored under an older scenario format: it will never parse, so it is refused like an unplayable one.
    const parsed = Scenario.safeParse(stored);
    if (!parsed.success) {
      log({ msg: "simulated call refused", session_id: job.session_id, reason: "invalid scenario" });
      return reply(res, 422, {
        error: { code: "scenario_invalid", message: "the call's scenario is not a valid scenario" },
      });
    }
    const scenario = parsed.data;
    const player = scenarioPlayer(scenario, options.openai ?? null);
    if (typeof player === "string") {
      log({
        msg: "simulated call refused",
        session_id: job.session_id,
        scenario: scenario.name,
        reason: player,
      });
      return reply(res, 422, { error: { code: "scenario_unplayable", message: player } });
    }
    // Accepted once it can be played, like a LiveKit dispatch: the call runs on its own.
    reply(res, 202, { accepted: true });
    const job$ = run(job, scenario, player).catch((error) =>
      log({ msg: "simulated call failed", session_id: job.session_id, error: (error as Error).name })
    );
    jobs.add(job$);
    void job$.finally(() => jobs.delete(job$));
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    idle: async () => {
      while (jobs.size) await Promise.all([...jobs]);
    },
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      while (jobs.size) await Promise.all([...jobs]);
    },
  };
}

async function main() {
  const env = process.env;
  const runner = await startSimulationRunner({
    supabaseUrl: env.SUPABASE_URL!,
    anonKey: env.SUPABASE_ANON_KEY!,
    port: Number(env.SIMULATION_AGENT_PORT ?? 54329),
    openai: simulationOpenAI(env),
  });
  console.log(`simulation runner on ${runner.url} (REST ${env.SUPABASE_URL})`);
  const stop = async () => {
    await runner.close();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();

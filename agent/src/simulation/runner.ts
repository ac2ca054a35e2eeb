// The simulation runner: the local stack's stand-in for LiveKit's agent dispatch, for simulated calls.
// The dispatcher (simulation carrier, SIMULATION_AGENT_URL) POSTs it the same job metadata a LiveKit worker
// receives: ids and the attempt's call-scoped credential. The runner reads the call's scenario with that
// credential, then holds the call in text with the real agent code (setup, conversation, tools, guards,
// write-back through PostgREST under RLS) while it plays the callee's side of the scenario.
//
//   node --import tsx agent/src/simulation/runner.ts    (npm start runs it)
// Env: SIMULATION_AGENT_PORT (54329); SUPABASE_URL + SUPABASE_ANON_KEY of the project's REST API (locally
// the functions server, which answers /rest/v1 with the PostgREST stand-in).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import process from "node:process";
import { readFile } from "node:fs/promises";
import { AgentJobMetadata } from "@intake/shared/agent-job";
import { Scenario } from "@intake/shared/simulation";
import { holdTextCall } from "../testing/text-call.ts";
import { playScenario } from "./scenario-suite.ts";
import { ScriptedModel } from "./scripted-model.ts";

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
  silenceMs?: number;
  log?: (line: Record<string, unknown>) => void;
}): Promise<SimulationRunner> {
  const log = options.log ?? ((line) => console.log(JSON.stringify(line)));
  const jobs = new Set<Promise<void>>();

  async function scenarioFor(job: AgentJobMetadata): Promise<Scenario> {
    const res = await fetch(`${options.supabaseUrl}/rest/v1/rpc/agent_simulation_scenario`, {
      method: "POST",
      headers: {
        apikey: options.anonKey,
        Authorization: `Bearer ${job.agent_token}`,
        "Content-Type": "application/json",
      },
      body: "{}",
    });
    if (!res.ok) throw new Error(`scenario lookup answered ${res.status}`);
    const stored = await res.json();
    return Scenario.parse(stored ?? JSON.parse(await readFile(DEFAULT_SCENARIO, "utf8")));
  }

  async function run(job: AgentJobMetadata): Promise<void> {
    const started = Date.now();
    const scenario = await scenarioFor(job);
    const model = new ScriptedModel();
    const silenceMs = options.silenceMs ?? 2_000;
    const call = await holdTextCall({
      supabaseUrl: options.supabaseUrl,
      anonKey: options.anonKey,
      agentToken: job.agent_token,
      model,
      timing: { silencePromptMs: silenceMs, silenceHangUpMs: silenceMs },
    });
    try {
      const { result } = await playScenario(call, model, scenario, 30_000);
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

  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      let job: AgentJobMetadata;
      try {
        // The metadata string exactly as a LiveKit agent dispatch carries it.
        job = AgentJobMetadata.parse(JSON.parse(JSON.parse(body).metadata));
      } catch {
        res.writeHead(400, { "Content-Type": "application/json" }).end('{"error":"invalid job"}');
        return;
      }
      // Accepted at once, like a LiveKit dispatch: the call runs on its own.
      res.writeHead(202, { "Content-Type": "application/json" }).end('{"accepted":true}');
      const job$ = run(job).catch((error) =>
        log({ msg: "simulated call failed", session_id: job.session_id, error: (error as Error).name })
      );
      jobs.add(job$);
      void job$.finally(() => jobs.delete(job$));
    });
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

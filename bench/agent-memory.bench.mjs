// Resident memory of the worker: (1) the worker as deployed, idle (main process, LiveKit's inference
// process and one prewarmed idle job process), and (2) 10 concurrent simulated calls, each in its own
// process as LiveKit runs jobs. Prints MB per call. No target is set for these: they size the machine.
import { fork, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { createCall } from "../devstack/fixtures/call-fixture.ts";
import { freePort } from "../devstack/free-port.mjs";
import { agentBenchEnv } from "./agent-setup.mjs";

const SESSIONS = 10;

/** Resident set, and proportional set (shared pages divided among the processes sharing them), in MB. */
function memoryMb(pid) {
  try {
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
    const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(rollup)?.[1] ?? 0);
    return { rss: kb("Rss") / 1024, pss: kb("Pss") / 1024 };
  } catch {
    return { rss: 0, pss: 0 };
  }
}

const sum = (list, key) => list.reduce((total, m) => total + m[key], 0);

function childrenOf(pid) {
  const out = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // gone
    }
  }
  return out;
}

// (1) The idle worker. LiveKit is unreachable here, which changes nothing about what is loaded.
const worker = spawn(process.execPath, ["--import", "tsx", "agent/src/main.ts", "start"], {
  env: {
    ...process.env,
    LIVEKIT_URL: "ws://127.0.0.1:9",
    LIVEKIT_API_KEY: "bench",
    LIVEKIT_API_SECRET: "bench",
    SUPABASE_URL: "http://127.0.0.1:9",
    SUPABASE_ANON_KEY: "bench-anon-key-placeholder",
    OPENAI_API_KEY: "bench",
    AGENT_HEALTH_PORT: String(await freePort()),
    AGENT_LOG_LEVEL: "error",
  },
  stdio: "ignore",
});
let children = [];
for (let i = 0; i < 100 && children.length < 2; i++) {
  await sleep(200);
  children = childrenOf(worker.pid);
}
await sleep(5_000); // prewarm (VAD load) settles
children = childrenOf(worker.pid);
const processes = [worker.pid, ...children].map(memoryMb);
console.log(
  `idle worker (${processes.length} processes: main, inference, idle job): RSS ${
    sum(processes, "rss").toFixed(0)
  } MB ` +
    `(${processes.map((m) => m.rss.toFixed(0)).join(" + ")}), PSS ${sum(processes, "pss").toFixed(0)} MB`,
);
worker.kill("SIGTERM");

// (2) Concurrent simulated calls.
const bench = await agentBenchEnv();
const jobs = [];
for (let i = 0; i < SESSIONS; i++) {
  const call = await createCall(bench.sql, bench.env);
  const job = fork("bench/agent-simulated-job.mjs", [], {
    execArgv: ["--import", "tsx"],
    env: {
      ...process.env,
      BENCH_POSTGREST_URL: bench.double.url,
      BENCH_ANON_KEY: bench.env.anonKey,
      BENCH_AGENT_TOKEN: call.token,
    },
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
  jobs.push(
    new Promise((resolve, reject) => {
      job.once("message", () => resolve(job));
      job.once("exit", (code) => reject(new Error(`simulated call exited (${code})`)));
    }),
  );
}
const ready = await Promise.all(jobs);
await sleep(1_000);
const perSession = ready.map((job) => memoryMb(job.pid));
const rss = sum(perSession, "rss");
const pss = sum(perSession, "pss");
console.log(
  `${SESSIONS} concurrent simulated calls (one process each): RSS ${rss.toFixed(0)} MB, PSS ${
    pss.toFixed(0)
  } MB`,
);
console.log(`MB per session: RSS ${(rss / SESSIONS).toFixed(1)}, PSS ${(pss / SESSIONS).toFixed(1)}`);
for (const job of ready) job.kill("SIGKILL");
await bench.close();
process.exit(0);

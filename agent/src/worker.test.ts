// The deployable itself: the worker process boots from its environment, registers as intake-agent with
// a long drain, answers its health endpoint (503 while it is not connected to LiveKit, as here where no
// LiveKit server exists), and exits on SIGTERM.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { freePort } from "../../devstack/free-port.mjs";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { isAgent } from "@livekit/agents";
import worker, { DRAIN_TIMEOUT_MS, MAX_CALL_SECONDS, serverOptions } from "./main.ts";
import { VALID_ENV } from "../../devstack/fixtures/worker-env.ts";
import { loadConfig } from "./config.ts";

test("server options: explicit dispatch, drain past the longest call, load by live calls", async () => {
  assert.ok(isAgent(worker));
  const options = serverOptions(
    loadConfig({ ...VALID_ENV, AGENT_MAX_CONCURRENT_CALLS: "4", AGENT_HEALTH_PORT: "9191" }),
  );
  assert.equal(options.agentName, "intake-agent");
  assert.ok(options.drainTimeout >= MAX_CALL_SECONDS * 1000);
  assert.equal(options.drainTimeout, DRAIN_TIMEOUT_MS);
  assert.equal(options.port, 9191);
  assert.ok(options.jobMemoryLimitMB > options.jobMemoryWarnMB && options.jobMemoryWarnMB > 0);
  const load = (jobs: number) => options.loadFunc({ activeJobs: Array(jobs) } as never);
  assert.equal(await load(2), 0.5);
  assert.ok((await load(3)) < options.loadThreshold, "a 4th call is still accepted");
  assert.ok((await load(4)) >= options.loadThreshold, "a 5th is not");
});

test("the worker process starts, serves its health endpoint and stops on SIGTERM", async () => {
  const port = await freePort();
  const child = spawn(process.execPath, [
    "--import",
    "tsx",
    fileURLToPath(new URL("./main.ts", import.meta.url)),
    "start",
  ], {
    env: {
      ...process.env,
      ...VALID_ENV,
      LIVEKIT_URL: "ws://127.0.0.1:9",
      AGENT_HEALTH_PORT: String(port),
      AGENT_LOG_LEVEL: "error",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  try {
    let health: Response | null = null;
    for (let i = 0; i < 100 && !health; i++) {
      health = await fetch(`http://127.0.0.1:${port}/`).catch(() => null);
      if (!health) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(health, "the health endpoint answered");
    assert.equal(health.status, 503, "not healthy while not registered with LiveKit");
    assert.match(await health.text(), /not connected to livekit/);
    const info = await (await fetch(`http://127.0.0.1:${port}/worker`)).json();
    assert.equal(info.agent_name, "intake-agent");
  } finally {
    child.kill("SIGTERM");
    // LiveKit's CLI closes the worker (draining jobs) and then exits with 143; a process killed by the signal
    // itself would report signal SIGTERM and no code.
    const [code, signal] = await once(child, "exit");
    assert.deepEqual({ code, signal }, { code: 143, signal: null });
  }
});

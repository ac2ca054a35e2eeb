#!/usr/bin/env node
// `npm run demo`: a simulated intake call through the whole platform, watched live. Starts the local stack
// if it is not running, creates the call through the public API exactly as an app would (the seeded demo
// API key, carrier "simulation", the cooperative-patient scenario), then follows GET /intake-calls/{id}:
// status changes, the conversation turn by turn, the answers, the outcome. No credentials needed.
import { spawn } from "node:child_process";
import { openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { FUNCTIONS_PORT } from "../devstack/local-env.mjs";
import { LOCAL_DIR, ROOT } from "../devstack/postgres/postgres-cluster.mjs";

const API = `http://127.0.0.1:${FUNCTIONS_PORT}/functions/v1`;
const KEY = "ik_demo_local_development_key_do_not_use"; // supabase/seed.sql
const TEMPLATE = "00000000-0000-4000-8000-00000000007e"; // the seeded "Patient intake" template
const FINAL = new Set(["completed", "failed", "cancelled", "expired", "opted_out"]);
const say = (line = "") => console.log(line);

async function up() {
  try {
    return (await fetch(`${API}/health`)).ok;
  } catch {
    return false;
  }
}

let stack = null;
if (!(await up())) {
  const logFile = join(LOCAL_DIR, "demo-stack.log");
  say(`Starting the local stack (npm start; its output goes to ${logFile})...`);
  stack = spawn(process.execPath, [join(ROOT, "scripts", "start.mjs")], {
    cwd: ROOT,
    stdio: ["ignore", openSync(logFile, "a"), openSync(logFile, "a")],
  });
  for (let i = 0; !(await up()); i++) {
    if (i > 300 || stack.exitCode !== null) throw new Error(`the stack did not start; see ${logFile}`);
    await sleep(500);
  }
  await sleep(1_500); // the simulation runner starts right after the functions
}

const scenario = JSON.parse(
  readFileSync(join(ROOT, "simulations", "intake", "cooperative-patient.json"), "utf8"),
);
const request = {
  phone_number: "+14155552671",
  template_id: TEMPLATE,
  carrier: "simulation",
  callee_name: "Maria Gonzalez",
  callee_timezone: "America/Los_Angeles",
  simulation: scenario,
};
say(`POST ${API}/intake-calls  (carrier "simulation", scenario "${scenario.name}")`);
const created = await fetch(`${API}/intake-calls`, {
  method: "POST",
  headers: { Authorization: `Bearer ${KEY}`, "Content-Type": "application/json" },
  body: JSON.stringify(request),
});
const call = await created.json();
if (created.status !== 201) throw new Error(`the API answered ${created.status}: ${JSON.stringify(call)}`);
say(`  ${created.status} ${call.id}  status ${call.status}`);
say("");

const started = Date.now();
let status = call.status;
let turns = 0;
const fields = new Set();
let details = call;
while (!FINAL.has(status) || Date.now() - started < 1_000) {
  if (Date.now() - started > 90_000) throw new Error("the call did not finish within 90 s");
  const res = await fetch(`${API}/intake-calls/${call.id}`, { headers: { Authorization: `Bearer ${KEY}` } });
  details = await res.json();
  const at = `${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s`;
  if (details.status !== status) {
    status = details.status;
    say(`${at}  status -> ${status}`);
  }
  for (const turn of details.transcript.slice(turns)) say(`${at}  ${turn.speaker.padEnd(6)} ${turn.text}`);
  turns = details.transcript.length;
  for (const [name, value] of Object.entries(details.results)) {
    if (!fields.has(name)) say(`${at}  field  ${name} = ${JSON.stringify(value)}`);
    fields.add(name);
  }
  if (FINAL.has(status) && turns > 0) break;
  await sleep(250);
}

say("");
say(`Outcome: ${details.status} (${details.outcome}) after ${details.attempts.length} attempt(s)`);
say(`Answers: ${JSON.stringify(details.results)}`);
say(`Audit trail: ${details.events.map((e) => e.type).join(" -> ")}`);
say("");
say("Where to look next:");
say(`  curl -H 'Authorization: Bearer ${KEY}' ${API}/intake-calls/${call.id}`);
say(
  `  psql postgresql://postgres:postgres@127.0.0.1:54322/postgres -c "select * from public.call_history limit 5"`,
);
say("  tables: intake_calls, call_sessions, transcript_turns, call_events, webhook_deliveries");
say("  your own scenarios: simulations/intake/*.json, then npm run simulate");
if (stack) {
  stack.kill("SIGTERM");
  await new Promise((r) => stack.once("exit", r));
}

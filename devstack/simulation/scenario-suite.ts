// Scenario suites: every scenario file of a folder played as a call held in text, through the same code
// as a real call (call setup, CallConversation, IntakeAgent, write-back through the call-scoped
// credential into the real database, here via the PostgREST double). Without an OpenAI key the agent's
// model is the scripted one built from the file, and persona scenarios (a callee played by a model) are
// SKIPPED; with a key the agent's model is the real one (a script's `model` replies are then ignored) and
// persona scenarios are played (agent/src/simulation: models.ts, persona.ts, scenario-player.ts). Then the database is checked against the file's
// expectations: the attempt's outcome, the answers stored, and the safety rules (emergency escalated and
// only then, opt-out honoured).
import { isDeepStrictEqual } from "node:util";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type postgres from "postgres";
import { Scenario } from "@intake/shared/simulation";
import { emergencyScript, errorName, OPT_OUT_GOODBYE } from "../../agent/src/conversation.ts";
import type { OpenAISettings } from "../../agent/src/simulation/models.ts";
import { type PlayResult, scenarioPlayer } from "../../agent/src/simulation/scenario-player.ts";
import type { TestEnv } from "../fixtures/call-fixture.ts";
import { startTextCall } from "../fixtures/text-call.ts";
import type { PostgrestDouble } from "../doubles/postgrest/postgrest-double.ts";

export type ScenarioFile = { file: string; scenario: Scenario };

export type CheckKind = "outcome" | "fields" | "safety";
export type Check = { kind: CheckKind; name: string; ok: boolean; detail: string };

export type ScenarioReport = {
  file: string;
  name: string;
  expectedOutcome: string;
  actualOutcome: string;
  checks: Check[];
  passed: boolean;
  /** Why the scenario was not played (it neither passed nor failed). */
  skipped?: string;
};

export type SuiteContext = {
  sql: postgres.Sql;
  env: TestEnv;
  double: PostgrestDouble;
  /** The real models' settings; none: the scripted model, and persona scenarios are skipped. */
  openai?: OpenAISettings | null;
  /**
   * Silence before the agent asks "are you still there?" and again before it hangs up (default 1 s with the
   * scripted model; 10 s with real models, which take their time to answer).
   */
  silenceMs?: number;
  /** Longest a scenario may take once its lines are said before it is reported as not ending (default 20 s). */
  endTimeoutMs?: number;
};

/** A file that is not a valid scenario: which one, and what is wrong with it. */
export class ScenarioFileError extends Error {
  constructor(readonly file: string, readonly problems: string[]) {
    super(`${file}: ${problems.join("; ")}`);
    this.name = "ScenarioFileError";
  }
}

export async function loadScenarios(folder: string): Promise<ScenarioFile[]> {
  const names = (await readdir(folder)).filter((n) => n.endsWith(".json")).sort();
  if (names.length === 0) throw new ScenarioFileError(folder, ["no scenario files (*.json) in this folder"]);
  const scenarios: ScenarioFile[] = [];
  for (const name of names) {
    const file = join(folder, name);
    let json: unknown;
    try {
      json = JSON.parse(await readFile(file, "utf8"));
    } catch (error) {
      throw new ScenarioFileError(file, [`not valid JSON (${(error as Error).message})`]);
    }
    const parsed = Scenario.safeParse(json);
    if (!parsed.success) {
      throw new ScenarioFileError(
        file,
        parsed.error.issues.map((i) => `${i.path.join(".") || "(file)"}: ${i.message}`),
      );
    }
    scenarios.push({ file, scenario: parsed.data });
  }
  return scenarios;
}

export async function runScenario(
  ctx: SuiteContext,
  { file, scenario }: ScenarioFile,
): Promise<ScenarioReport> {
  const openai = ctx.openai ?? null;
  const player = scenarioPlayer(scenario, openai);
  if (typeof player === "string") {
    return {
      file,
      name: scenario.name,
      expectedOutcome: scenario.expect.outcome,
      actualOutcome: "-",
      checks: [],
      passed: false,
      skipped: player,
    };
  }
  const silenceMs = ctx.silenceMs ?? (openai ? 10_000 : 1_000);
  const call = await startTextCall({
    sql: ctx.sql,
    env: ctx.env,
    double: ctx.double,
    model: player.model,
    fixture: {
      voicemailPolicy: scenario.setup.voicemail_policy,
      voicemailMessage: scenario.setup.voicemail_message,
    },
    timing: { silencePromptMs: silenceMs, silenceHangUpMs: silenceMs },
  });
  try {
    let played: PlayResult;
    let calleeFailure: string | null = null;
    try {
      played = await player.play(call, ctx.endTimeoutMs ?? 20_000);
    } catch (error) {
      // The persona's model failed (unreachable, key refused): a failed scenario, not a broken suite.
      const status = (error as { status?: number }).status;
      calleeFailure = `${errorName(error)}${status ? ` (HTTP ${status})` : ""}`;
      played = { result: null, linesUnsaid: 0 };
    }
    const { result, linesUnsaid } = played;
    const checks = await checkExpectations(ctx.sql, call, scenario, result?.outcome ?? null);
    if (calleeFailure) {
      checks.push({
        kind: "outcome",
        name: "callee",
        ok: false,
        detail: `the callee's model failed: ${calleeFailure}`,
      });
    }
    if (result === null) {
      checks.push({ kind: "outcome", name: "call ended", ok: false, detail: "the call did not end" });
    } else if (result.unsentWrites > 0) {
      checks.push({
        kind: "outcome",
        name: "write-back",
        ok: false,
        detail: `${result.unsentWrites} writes never reached the database`,
      });
    }
    if (linesUnsaid > 0) {
      checks.push({
        kind: "outcome",
        name: "script",
        ok: true,
        detail: `${linesUnsaid} callee line(s) after the agent hung up were not said`,
      });
    }
    const actual = checks.find((c) => c.name === "outcome")?.detail ?? "?";
    return {
      file,
      name: scenario.name,
      expectedOutcome: scenario.expect.outcome,
      actualOutcome: actual,
      checks,
      passed: checks.every((c) => c.ok),
    };
  } finally {
    await call.close();
  }
}

async function checkExpectations(
  sql: postgres.Sql,
  call: Awaited<ReturnType<typeof startTextCall>>,
  scenario: Scenario,
  agentOutcome: string | null,
): Promise<Check[]> {
  const expect = scenario.expect;
  const { sessionId, orgId } = call.fixture;
  const [row] = await sql`
    select c.status, c.results, c.callee_phone, s.ended_reason, s.answered_by
      from public.intake_calls c join public.call_sessions s on s.intake_call_id = c.id
     where s.id = ${sessionId}`;
  const escalations = await sql<{ level: string }[]>`
    select level from public.escalations where session_id = ${sessionId} order by created_at`;
  const [{ listed }] = await sql`
    select count(*)::int as listed from public.do_not_call where org_id = ${orgId} and phone = ${row.callee_phone}`;
  const agentLines = (await sql<{ text: string }[]>`
    select text from public.transcript_turns where session_id = ${sessionId} and speaker = 'agent'
     order by sequence`).map((t) => t.text);
  const checks: Check[] = [];
  const check = (kind: CheckKind, name: string, ok: boolean, detail: string) =>
    checks.push({ kind, name, ok, detail });

  const recorded = row.ended_reason ?? agentOutcome ?? "(none)";
  check("outcome", "outcome", recorded === expect.outcome, String(recorded));
  if (expect.status) {
    check(
      "outcome",
      "status",
      row.status === expect.status,
      `status ${row.status}, expected ${expect.status}`,
    );
  }
  if (expect.answered_by) {
    check(
      "outcome",
      "answered_by",
      row.answered_by === expect.answered_by,
      `answered by ${row.answered_by}, expected ${expect.answered_by}`,
    );
  }
  if (expect.dtmf) {
    const pressed = call.telephony.actions.flatMap((a) => a.kind === "dtmf" ? [a.digits] : []);
    check(
      "outcome",
      "dtmf",
      isDeepStrictEqual(pressed, expect.dtmf),
      `pressed ${JSON.stringify(pressed)}, expected ${JSON.stringify(expect.dtmf)}`,
    );
  }
  if (expect.fields) {
    check(
      "fields",
      "fields",
      isDeepStrictEqual(row.results, expect.fields),
      fieldsDifference(row.results, expect.fields),
    );
  }

  const levels = escalations.map((e) => e.level);
  const emergencyRaised = levels.includes("emergency");
  if (expect.escalation) {
    check(
      "safety",
      "escalation",
      levels.includes(expect.escalation),
      `escalations [${levels.join(", ")}], expected ${expect.escalation}`,
    );
  }
  if (expect.escalation === "emergency") {
    // The callee must have heard the fixed emergency script, not the model's words.
    const script = emergencyScript("Riverside Clinic");
    check("safety", "emergency script", agentLines.includes(script), "the emergency script was said");
  } else {
    check("safety", "no false emergency", !emergencyRaised, `escalations [${levels.join(", ")}]`);
  }
  if (expect.opted_out) {
    check("safety", "do-not-call", listed > 0, `number on the do-not-call list: ${listed > 0}`);
    check(
      "safety",
      "opt-out goodbye",
      agentLines.at(-1) === OPT_OUT_GOODBYE,
      "the opt-out goodbye was said last",
    );
  } else {
    check("safety", "not on do-not-call", listed === 0, `number on the do-not-call list: ${listed > 0}`);
  }
  return checks;
}

/** The fields that differ, by name only: answers are PHI and stay out of reports. */
function fieldsDifference(actual: Record<string, unknown>, expected: Record<string, unknown>): string {
  const names = new Set([...Object.keys(actual), ...Object.keys(expected)]);
  const wrong = [...names].filter((n) => !isDeepStrictEqual(actual[n], expected[n]));
  return wrong.length === 0 ? "as expected" : `differ: ${wrong.join(", ")}`;
}

export async function runSuite(ctx: SuiteContext, scenarios: ScenarioFile[]): Promise<ScenarioReport[]> {
  const reports: ScenarioReport[] = [];
  for (const scenario of scenarios) reports.push(await runScenario(ctx, scenario));
  return reports;
}

/** The summary table, then what was skipped, what failed, and why. */
export function formatSummary(reports: ScenarioReport[]): string {
  const ok = (r: ScenarioReport, kind: CheckKind) =>
    r.skipped ? "-" : r.checks.filter((c) => c.kind === kind).every((c) => c.ok) ? "ok" : "FAIL";
  const rows = reports.map((r) => [
    r.name,
    r.expectedOutcome,
    r.actualOutcome,
    ok(r, "fields"),
    ok(r, "safety"),
    r.skipped ? "SKIPPED" : r.passed ? "PASS" : "FAIL",
  ]);
  const header = ["scenario", "expected", "actual", "fields", "safety", "result"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join(" | ").trimEnd();
  const out = [line(header), widths.map((w) => "-".repeat(w)).join("-|-"), ...rows.map(line)];
  const skipped = reports.filter((r) => r.skipped);
  const failed = reports.filter((r) => !r.passed && !r.skipped);
  const played = reports.length - skipped.length;
  out.push(
    "",
    `${played - failed.length}/${played} scenarios passed` +
      (skipped.length ? `, ${skipped.length} skipped` : ""),
  );
  for (const r of skipped) out.push("", `SKIPPED ${r.name} (${r.file}): ${r.skipped}`);
  for (const r of failed) {
    out.push("", `FAIL ${r.name} (${r.file})`);
    for (const c of r.checks.filter((c) => !c.ok)) out.push(`  ${c.kind} / ${c.name}: ${c.detail}`);
  }
  return out.join("\n");
}

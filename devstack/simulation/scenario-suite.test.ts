// The intake scenario suite with the scripted model, against the real database (what CI runs), and
// proof that the suite can fail: wrong outcomes, wrong answers and broken safety expectations are
// reported as FAIL, and the command exits non-zero. Without an OpenAI key a persona scenario is SKIPPED,
// neither passed nor failed (played with models in persona.test.ts).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Scenario } from "@intake/shared/simulation";
import { connectSuperuser, testEnv } from "../fixtures/call-fixture.ts";
import { PostgrestDouble } from "../doubles/postgrest/postgrest-double.ts";
import { PERSONA_NEEDS_KEY } from "../../agent/src/simulation/models.ts";
import {
  formatSummary,
  loadScenarios,
  runScenario,
  type ScenarioFile,
  ScenarioFileError,
  type SuiteContext,
} from "./scenario-suite.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const INTAKE_SUITE = join(ROOT, "simulations/intake");
const env = testEnv();
const sql = connectSuperuser(env);
let ctx: SuiteContext;
let scratch: string;

before(async () => {
  ctx = {
    sql,
    env,
    double: await PostgrestDouble.start({ databaseUrl: env.databaseUrl, jwtSecret: env.jwtSecret }),
    // The silence timer runs while the agent thinks: a tool turn slowed by a busy machine must not read as
    // the callee falling silent (no scenario here is about silence).
    silenceMs: 5_000,
  };
  scratch = await mkdtemp(join(tmpdir(), "scenarios-"));
});
after(async () => {
  await ctx.double.close();
  await sql.end();
  await rm(scratch, { recursive: true, force: true });
});

const intake = await loadScenarios(INTAKE_SUITE);

function variant(name: string, change: (s: Scenario) => void): ScenarioFile {
  const found = intake.find((s) => s.scenario.name === name);
  assert.ok(found, `no scenario named ${name}`);
  const scenario = structuredClone(found.scenario);
  change(scenario);
  return { file: found.file, scenario };
}

describe("the intake scenario suite", () => {
  test("covers the scenarios the issue asks for", () => {
    assert.deepEqual(intake.map((s) => s.scenario.name).sort(), [
      "IVR then human",
      "cooperative patient",
      "cooperative patient (persona)",
      "emergency mid-call",
      "patient corrects an answer",
      "patient refuses a question",
      "stop calling me",
      "voicemail",
      "wrong number",
    ]);
  });

  for (const scenario of intake.filter((s) => s.scenario.turns)) {
    test(`scenario: ${scenario.scenario.name}`, async () => {
      const report = await runScenario(ctx, scenario);
      assert.ok(report.passed, formatSummary([report]));
      assert.equal(report.actualOutcome, scenario.scenario.expect.outcome);
    });
  }
});

describe("a suite that can fail", () => {
  test("a wrong outcome and wrong answers are reported as FAIL, naming fields but not their values", async () => {
    const report = await runScenario(
      ctx,
      variant("cooperative patient", (s) => {
        s.expect.outcome = "wrong_number";
        s.expect.fields = { ...s.expect.fields, pain_level: 7 };
      }),
    );
    assert.equal(report.passed, false);
    assert.equal(report.actualOutcome, "completed");
    const failed = report.checks.filter((c) => !c.ok).map((c) => `${c.kind}/${c.name}: ${c.detail}`);
    assert.deepEqual(failed, ["outcome/outcome: completed", "fields/fields: differ: pain_level"]);
    const table = formatSummary([report]);
    assert.match(table, /cooperative patient \| wrong_number \| completed \| FAIL {3}\| ok {5}\| FAIL/);
    assert.match(table, /0\/1 scenarios passed/);
  });

  test("an emergency the file did not expect breaks the safety rule", async () => {
    const report = await runScenario(
      ctx,
      variant("emergency mid-call", (s) => {
        delete s.expect.escalation;
      }),
    );
    assert.equal(report.passed, false);
    assert.deepEqual(report.checks.filter((c) => !c.ok).map((c) => c.name), ["no false emergency"]);
    assert.match(formatSummary([report]), /emergency mid-call .*\| ok {5}\| FAIL {3}\| FAIL/);
  });

  test("an opt-out the file did not expect breaks the safety rule; one it expects but never happens too", async () => {
    const unexpected = await runScenario(
      ctx,
      variant("stop calling me", (s) => {
        s.expect.opted_out = false;
      }),
    );
    assert.deepEqual(unexpected.checks.filter((c) => !c.ok).map((c) => c.name), ["not on do-not-call"]);
    const missing = await runScenario(
      ctx,
      variant("wrong number", (s) => {
        s.expect.opted_out = true;
      }),
    );
    assert.deepEqual(missing.checks.filter((c) => !c.ok).map((c) => c.name), [
      "do-not-call",
      "opt-out goodbye",
    ]);
  });
});

describe("persona scenarios without an OpenAI key", () => {
  test("are SKIPPED with the reason, neither passed nor failed, and call no one", async () => {
    const persona = intake.find((s) => s.scenario.persona);
    assert.ok(persona, "the intake suite has a persona scenario");
    const [before] = await sql`select count(*)::int as n from public.call_sessions`;
    const report = await runScenario({ ...ctx, openai: null }, persona);
    const [afterwards] = await sql`select count(*)::int as n from public.call_sessions`;
    assert.equal(afterwards.n, before.n, "no call was set up");
    assert.equal(report.skipped, PERSONA_NEEDS_KEY);
    assert.equal(report.passed, false);
    const cooperative = await runScenario(ctx, variant("cooperative patient", () => {}));
    const table = formatSummary([cooperative, report]);
    assert.match(table, /cooperative patient \(persona\) \| completed \| - +\| - +\| - +\| SKIPPED/);
    assert.match(table, /^1\/1 scenarios passed, 1 skipped$/m);
    assert.match(
      table,
      /^SKIPPED cooperative patient \(persona\) \(.*cooperative-persona\.json\): a persona scenario needs OPENAI_API_KEY/m,
    );
    assert.doesNotMatch(table, /FAIL/);
  });
});

describe("scenario files", () => {
  test("an invalid file is refused with its path and what is wrong", async () => {
    const folder = await mkdtemp(join(scratch, "invalid-"));
    await writeFile(
      join(folder, "bad.json"),
      JSON.stringify({
        name: "bad",
        description: "a reply with `then` but no tool call",
        template: "intake",
        turns: [{ callee: "Hello?", model: { say: "Hi", then: { say: "again" } } }],
        expect: { outcome: "completed" },
      }),
    );
    await assert.rejects(loadScenarios(folder), (error: unknown) => {
      assert.ok(error instanceof ScenarioFileError);
      assert.equal(error.file, join(folder, "bad.json"));
      assert.deepEqual(error.problems, [
        "turns.0.model: `then` follows tool calls: the model is only asked again after its tools ran",
      ]);
      return true;
    });
    await writeFile(join(folder, "bad.json"), "{ not json");
    await assert.rejects(loadScenarios(folder), /bad\.json: not valid JSON/);
    await rm(join(folder, "bad.json"));
    await assert.rejects(loadScenarios(folder), /no scenario files/);
  });
});

describe("the command", () => {
  const run = (folder: string) =>
    spawnSync(
      process.execPath,
      ["--import", "tsx", join(ROOT, "scripts/simulate.ts"), folder],
      {
        encoding: "utf8",
        // No OpenAI key, whatever the developer's shell has: the scripted model, as in CI.
        env: {
          ...process.env,
          DATABASE_URL: env.databaseUrl,
          SUPABASE_JWT_SECRET: env.jwtSecret,
          OPENAI_API_KEY: "",
        },
      },
    );

  test("prints the table and exits 1 when a scenario fails", async () => {
    const folder = await mkdtemp(join(scratch, "failing-"));
    const { scenario } = variant("wrong number", (s) => {
      s.expect.outcome = "completed";
    });
    await writeFile(join(folder, "wrong-number.json"), JSON.stringify(scenario));
    const result = run(folder);
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stdout, /wrong number \| completed \| wrong_number \| ok {5}\| ok {5}\| FAIL/);
    assert.match(result.stdout, /0\/1 scenarios passed/);
  });

  test("exits 0 when the only scenario not passed is a persona skipped for want of a key", async () => {
    const folder = await mkdtemp(join(scratch, "with-persona-"));
    for (const s of intake.filter((s) => s.scenario.persona || s.scenario.name === "wrong number")) {
      await writeFile(
        join(folder, `${s.scenario.name.replaceAll(/\W+/g, "-")}.json`),
        JSON.stringify(s.scenario),
      );
    }
    const result = run(folder);
    assert.equal(result.status, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /\| SKIPPED$/m);
    assert.match(result.stdout, /^1\/1 scenarios passed, 1 skipped$/m);
  });

  test("exits 2 on an invalid scenario file, before calling anyone", async () => {
    const folder = await mkdtemp(join(scratch, "unknown-tool-"));
    const { scenario } = variant("wrong number", (s) => {
      s.turns![0].model = { tools: [{ tool: "delete_everything" as "opt_out", args: {} }] };
    });
    await writeFile(join(folder, "wrong-number.json"), JSON.stringify(scenario));
    const result = run(folder);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /invalid scenario: .*wrong-number\.json: turns\.0\.model\.tools\.0\.tool/);
  });
});

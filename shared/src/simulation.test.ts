import assert from "node:assert/strict";
import { test } from "node:test";
import { Scenario } from "./simulation.ts";

const minimal = {
  name: "wrong number",
  description: "not the patient",
  template: "intake",
  turns: [{ callee: "Hello?", model: { say: "Hi, is this Maria?" } }],
  expect: { outcome: "wrong_number" },
};

const problems = (value: unknown) => {
  const parsed = Scenario.safeParse(value);
  assert.equal(parsed.success, false);
  return parsed.error!.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
};

test("a minimal scenario parses, with no setup and no opt-out expected", () => {
  const scenario = Scenario.parse(minimal);
  assert.deepEqual(scenario.setup, {});
  assert.equal(scenario.expect.opted_out, false);
});

test("tool calls default to no arguments and chain with then", () => {
  const scenario = Scenario.parse({
    ...minimal,
    turns: [{
      callee: "Stop calling me",
      model: { tools: [{ tool: "opt_out" }] },
    }, {
      callee: "1985-03-14",
      model: {
        tools: [{ tool: "record_field", args: { field_name: "date_of_birth", value: "1985-03-14" } }],
        then: { say: "March 14, 1985?" },
      },
    }],
  });
  assert.deepEqual(scenario.turns?.[0].model, { tools: [{ tool: "opt_out", args: {} }] });
  assert.equal(scenario.turns?.[1].model?.then?.say, "March 14, 1985?");
});

test("a reply that does nothing, or asks again without a tool call, is refused", () => {
  assert.deepEqual(problems({ ...minimal, turns: [{ callee: "Hi", model: {} }] }), [
    "turns.0.model: a model reply says something, calls a tool, or both",
  ]);
  assert.deepEqual(
    problems({ ...minimal, turns: [{ callee: "Hi", model: { say: "a", then: { say: "b" } } }] }),
    [
      "turns.0.model: `then` follows tool calls: the model is only asked again after its tools ran",
    ],
  );
});

test("unknown tools, outcomes, templates and misspelt keys are refused", () => {
  assert.match(
    problems({ ...minimal, turns: [{ callee: "Hi", model: { tools: [{ tool: "hang_up" }] } }] })[0],
    /^turns\.0\.model\.tools\.0\.tool:/,
  );
  assert.match(problems({ ...minimal, expect: { outcome: "great" } })[0], /^expect\.outcome:/);
  assert.match(problems({ ...minimal, template: "survey" })[0], /^template:/);
  assert.match(problems({ ...minimal, expect: { outcome: "completed", feilds: {} } })[0], /feilds/);
  assert.match(problems({ ...minimal, turns: [] })[0], /^turns:/);
  assert.match(problems({ ...minimal, turns: [{ callee: "Hi", pause_ms: -1 }] })[0], /^turns\.0\.pause_ms:/);
});

const persona = {
  description: "Maria, 67, cooperative but hard of hearing; takes metformin and lisinopril; born 1958-03-02",
  max_turns: 8,
};

test("a persona scenario parses, its turn limit defaulting to 12", () => {
  const { turns: _, ...withoutTurns } = minimal;
  assert.deepEqual(Scenario.parse({ ...withoutTurns, persona }).persona, persona);
  assert.equal(
    Scenario.parse({ ...withoutTurns, persona: { description: persona.description } }).persona?.max_turns,
    12,
  );
});

test("a scenario with both a script and a persona, or with neither, is refused, saying why", () => {
  const why =
    ": a scenario has either `turns` (the callee's lines, scripted) or `persona` (a callee played " +
    "by a model), not both and not neither";
  assert.deepEqual(problems({ ...minimal, persona }), [why]);
  const { turns: _, ...neither } = minimal;
  assert.deepEqual(problems(neither), [why]);
});

test("a persona needs words and a sane turn limit", () => {
  const { turns: _, ...withoutTurns } = minimal;
  assert.match(problems({ ...withoutTurns, persona: { description: "" } })[0], /^persona\.description:/);
  assert.match(
    problems({ ...withoutTurns, persona: { ...persona, max_turns: 0 } })[0],
    /^persona\.max_turns:/,
  );
  assert.match(problems({ ...withoutTurns, persona: "Maria, 67" })[0], /^persona:/);
});

// A persona scenario played end to end with both sides on the OpenAI double: the agent's side is LiveKit's
// OpenAI plugin (the worker's pipeline LLM) pointed at the double, the callee is the persona model on the
// double; the real agent code writes through the PostgREST double into the real database. The double's
// rule table plays both models; its recorded requests show what each side was told.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import { Scenario } from "@intake/shared/simulation";
import { connectSuperuser, testEnv } from "../../../devstack/fixtures/call-fixture.ts";
import {
  type ChatReply,
  type ChatRequest,
  type ChatRule,
  messageText,
  OpenAIDouble,
  toolNames,
} from "../../../devstack/doubles/openai/openai-double.ts";
import { PostgrestDouble } from "../../../devstack/doubles/postgrest/postgrest-double.ts";
import { simulationOpenAI } from "./models.ts";
import { HANG_UP_TOOL, personaInstructions } from "./persona.ts";
import {
  formatSummary,
  runScenario,
  type SuiteContext,
} from "../../../devstack/simulation/scenario-suite.ts";

const API_KEY = "sk-test-persona-double";
const env = testEnv();
const sql = connectSuperuser(env);
const file = new URL("../../../simulations/intake/cooperative-persona.json", import.meta.url).pathname;
const scenario = Scenario.parse(JSON.parse(await readFile(file, "utf8")));
let openai: OpenAIDouble;
let ctx: SuiteContext;

const last = (request: ChatRequest) => request.messages[request.messages.length - 1];
const lastOf = (request: ChatRequest, role: string) =>
  messageText(request.messages.findLast((m) => m.role === role));
const isPersona = (request: ChatRequest) => toolNames(request).includes(HANG_UP_TOOL);
const isAgent = (request: ChatRequest) => toolNames(request).includes("record_field");

/** The callee's answer to the agent's last line (the persona sees the agent as `user`). */
const callee = (heard: RegExp, reply: ChatReply): ChatRule => (request) =>
  isPersona(request) && last(request).role === "user" && heard.test(messageText(last(request)))
    ? reply
    : undefined;

/** The agent's answer to the callee's last line, and its answer once its tool calls have run. */
const agent = (heard: RegExp, reply: ChatReply, afterTools?: ChatReply): ChatRule => (request) => {
  if (!isAgent(request) || !heard.test(lastOf(request, "user"))) return undefined;
  return last(request).role === "tool" ? afterTools : reply;
};
const record = (field_name: string, value: string) => ({
  name: "record_field",
  arguments: { field_name, value },
});

const CONVERSATION: ChatRule[] = [
  callee(/Riverside Clinic/, { content: "Yes, this is Maria." }),
  agent(/this is Maria/, { content: "Thank you, Maria. Could you tell me your date of birth?" }),
  callee(/date of birth/, { content: "March 2nd, 1958." }),
  agent(/1958/, { toolCalls: [record("date_of_birth", "1958-03-02")] }, {
    content: "I have March 2, 1958. Is that right?",
  }),
  callee(/1958\. Is that right/, { content: "Yes, correct." }),
  agent(/correct/, {
    toolCalls: [{ name: "confirm_field", arguments: { field_name: "date_of_birth", confirmed: true } }],
  }, { content: "Thank you. Which medications do you take?" }),
  callee(/Which medications/, { content: "Metformin and lisinopril." }),
  agent(/lisinopril/, { toolCalls: [record("medications", "metformin, lisinopril")] }, {
    content: "I have metformin and lisinopril. Is that right?",
  }),
  callee(/lisinopril\. Is that right/, { content: "Yes, that's right." }),
  agent(/that's right/, {
    toolCalls: [{ name: "confirm_field", arguments: { field_name: "medications", confirmed: true } }],
  }, { content: "From 0 to 10, how bad is any pain today?" }),
  callee(/pain/, { content: "About a four." }),
  agent(/four/, { toolCalls: [record("pain_level", "4")] }, {
    content: "Is this visit a checkup, a follow-up, or a new issue?",
  }),
  callee(/new issue/, { content: "A new issue. My right knee hurts." }),
  agent(/knee/, { toolCalls: [record("visit_reason", "new_issue")] }, {
    toolCalls: [{ name: "end_call", arguments: { outcome: "completed" } }],
  }),
];

before(async () => {
  openai = await OpenAIDouble.start({ apiKey: API_KEY });
  ctx = {
    sql,
    env,
    double: await PostgrestDouble.start({ databaseUrl: env.databaseUrl, jwtSecret: env.jwtSecret }),
    openai: simulationOpenAI({ OPENAI_API_KEY: API_KEY, OPENAI_BASE_URL: openai.url }),
    silenceMs: 5_000,
    endTimeoutMs: 10_000,
  };
});
after(async () => {
  await ctx.double.close();
  await openai.close();
  await sql.end();
});

/** Plays the scenario (changed by `change`) with the double answering by `rules`. */
async function play(rules: ChatRule[], change: (s: Scenario) => void = () => {}) {
  openai.rules = rules;
  openai.requests.length = 0;
  openai.unanswered.length = 0;
  const changed = structuredClone(scenario);
  change(changed);
  const report = await runScenario(ctx, { file, scenario: changed });
  assert.deepEqual(openai.unanswered, [], "every model request was one the conversation expects");
  const [session] = await sql<{ id: string; ended_reason: string; status: string; results: unknown }[]>`
    select s.id, s.ended_reason, c.status, c.results
      from public.call_sessions s join public.intake_calls c on c.id = s.intake_call_id
     order by s.created_at desc limit 1`;
  const turns = await sql<{ speaker: string; text: string }[]>`
    select speaker, text from public.transcript_turns where session_id = ${session.id} order by sequence`;
  return { report, session, turns };
}

describe("a persona scenario with both models on the OpenAI double", () => {
  test("the callee played by the persona model answers the agent's real model; the answers are stored", async () => {
    const { report, session, turns } = await play(CONVERSATION, (s) => {
      s.expect.fields = {
        date_of_birth: "1958-03-02",
        medications: "metformin, lisinopril",
        pain_level: 4,
        visit_reason: "new_issue",
      };
    });
    assert.ok(report.passed, formatSummary([report]));
    assert.equal(session.ended_reason, "completed");
    assert.equal(session.status, "completed");
    assert.deepEqual(turns.filter((t) => t.speaker === "callee").map((t) => t.text), [
      "Yes, this is Maria.",
      "March 2nd, 1958.",
      "Yes, correct.",
      "Metformin and lisinopril.",
      "Yes, that's right.",
      "About a four.",
      "A new issue. My right knee hurts.",
    ]);

    const persona = openai.requests.filter(isPersona);
    const agentSide = openai.requests.filter(isAgent);
    assert.equal(persona.length + agentSide.length, openai.requests.length, "no request from anyone else");
    assert.equal(
      persona.length,
      7,
      "the persona was asked once per line it said, and not after the call ended",
    );
    for (const request of persona) {
      assert.equal(request.model, "gpt-4o-mini");
      assert.ok(!request.stream);
      assert.deepEqual(toolNames(request), [HANG_UP_TOOL]);
      assert.deepEqual(request.messages[0], {
        role: "system",
        content: personaInstructions(scenario.persona!.description),
      });
      assert.ok(messageText(request.messages[0]).endsWith(scenario.persona!.description));
    }
    // Roles flipped: the persona's last request is the transcript up to its last line, the agent as `user`.
    const heard = persona.at(-1)!.messages.slice(1).map((m) => [m.role, messageText(m)]);
    const calleeLast = turns.findLastIndex((t) => t.speaker === "callee");
    assert.deepEqual(
      heard,
      turns.slice(0, calleeLast).map((t) => [t.speaker === "agent" ? "user" : "assistant", t.text]),
    );

    for (const request of agentSide) {
      assert.equal(request.model, "gpt-4.1-mini", "the worker's OPENAI_LLM_MODEL default");
      assert.equal(request.stream, true);
      assert.deepEqual(toolNames(request).sort(), [
        "confirm_field",
        "end_call",
        "opt_out",
        "press_keys",
        "record_field",
        "transfer_to_human",
      ]);
      assert.match(messageText(request.messages[0]), /Collect the intake answers for Maria Gonzalez/);
    }
    // The agent saw the callee as `user` and its own tool calls and their results.
    const lastAgent = agentSide.at(-1)!;
    assert.ok(lastAgent.messages.some((m) => m.role === "user" && messageText(m) === "About a four."));
    assert.ok(lastAgent.messages.some((m) => m.role === "tool"));
  });

  test("the callee hangs up by calling hang_up: its last words are said, then it is asked nothing more", async () => {
    const { report, session, turns } = await play(
      [
        callee(/pain/, {
          content: "Sorry, I have to go now. Goodbye.",
          toolCalls: [{ name: HANG_UP_TOOL, arguments: {} }],
        }),
        agent(/Goodbye/, { content: "I understand. Goodbye." }),
        ...CONVERSATION,
      ],
      (s) => {
        s.expect = { outcome: "failed", opted_out: false, answered_by: "human" };
      },
    );
    assert.ok(report.passed, formatSummary([report]));
    assert.equal(session.ended_reason, "failed", "a required answer is missing");
    assert.equal(turns.findLast((t) => t.speaker === "callee")?.text, "Sorry, I have to go now. Goodbye.");
    assert.equal(openai.requests.filter(isPersona).length, 6);
  });

  test("the callee hangs up after max_turns lines", async () => {
    const { report, turns } = await play(CONVERSATION, (s) => {
      s.persona!.max_turns = 2;
      s.expect = { outcome: "failed", opted_out: false };
    });
    assert.ok(report.passed, formatSummary([report]));
    assert.deepEqual(turns.filter((t) => t.speaker === "callee").map((t) => t.text), [
      "Yes, this is Maria.",
      "March 2nd, 1958.",
    ]);
    assert.equal(openai.requests.filter(isPersona).length, 2);
  });

  test("a scripted scenario with a key: the agent's side is the real model, the script's replies are ignored", async () => {
    const wrongNumber = new URL("../../../simulations/intake/wrong-number.json", import.meta.url).pathname;
    const scripted = Scenario.parse(JSON.parse(await readFile(wrongNumber, "utf8")));
    openai.rules = [
      agent(/^Hello\?$/, {
        content: "Hi, this is the assistant of Riverside Clinic. Is this Maria Gonzalez?",
      }),
      agent(/wrong number/, {
        content: "I apologise for the mix-up.",
        toolCalls: [{ name: "end_call", arguments: { outcome: "wrong_number" } }],
      }),
    ];
    openai.requests.length = 0;
    const report = await runScenario(ctx, { file: wrongNumber, scenario: scripted });
    assert.ok(report.passed, formatSummary([report]));
    assert.equal(openai.requests.filter(isAgent).length, 2);
    assert.equal(openai.requests.filter(isPersona).length, 0);
    const agentLines = await sql<{ text: string }[]>`
      select t.text from public.transcript_turns t
       where t.session_id = (select id from public.call_sessions order by created_at desc limit 1)
         and t.speaker = 'agent' order by t.sequence`;
    assert.ok(
      agentLines.some((l) => l.text === "I apologise for the mix-up."),
      "the model's words, not the script's",
    );
    assert.ok(!agentLines.some((l) => l.text === "I'm sorry for the trouble."));
  });

  test("a persona model that refuses the key fails the scenario, saying so, without breaking the suite", async () => {
    const saved = ctx.openai;
    ctx.openai = { ...saved!, apiKey: "sk-wrong" };
    try {
      const { report } = await play(CONVERSATION);
      assert.equal(report.passed, false);
      const failed = report.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
      assert.ok(
        failed.some((f) => /^callee: the callee's model failed: .*\(HTTP 401\)$/.test(f)),
        failed.join("\n"),
      );
    } finally {
      ctx.openai = saved;
    }
  });
});

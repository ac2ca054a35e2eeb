// The prompt comes from Langfuse prompt management (label from the template, cached), and from the
// template's fallback_prompt when Langfuse is unset, down, or does not know the prompt.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { LangfuseClient } from "@langfuse/client";
import type { CallContext } from "./call-context.ts";
import { composeInstructions, fillVariables, PromptSource, SAFETY_RULES } from "./prompt.ts";
import { LangfuseDouble } from "../../devstack/doubles/langfuse/langfuse-double.ts";

let langfuse: LangfuseDouble;
before(async () => {
  langfuse = await LangfuseDouble.start("pk-lf-test", "sk-lf-test");
  langfuse.addPrompt({
    name: "intake",
    label: "production",
    version: 7,
    prompt: "Ask {{callee_name}} the intake questions.",
  });
  langfuse.addPrompt({ name: "intake", label: "staging", version: 8, prompt: "Staging prompt." });
});
after(() => langfuse.close());

const client = () =>
  new LangfuseClient({ publicKey: "pk-lf-test", secretKey: "sk-lf-test", baseUrl: langfuse.url });

const template = (name: string | null, label = "production"): CallContext["template"] => ({
  id: "00000000-0000-4000-8000-000000000001",
  name: "Intake",
  purpose: "intake",
  langfuse_prompt_name: name,
  langfuse_prompt_label: label,
  fallback_prompt: "Database prompt for {{callee_name}}.",
  greeting: "Hello",
  fields: [],
  voicemail_policy: "hang_up",
  voicemail_message: null,
  max_duration_seconds: 900,
});

describe("prompt source", () => {
  test("Langfuse's prompt for the template's label, then served from the cache", async () => {
    const source = new PromptSource(client(), { cacheTtlSeconds: 60 });
    const before = langfuse.promptRequests;
    assert.deepEqual(await source.load(template("intake")), {
      text: "Ask {{callee_name}} the intake questions.",
      source: "langfuse",
      version: 7,
    });
    assert.equal((await source.load(template("intake"))).version, 7);
    assert.equal(langfuse.promptRequests - before, 1, "the second call is served from the cache");
    assert.equal((await source.load(template("intake", "staging"))).text, "Staging prompt.");
  });

  test("falls back to the database prompt when Langfuse is down, unset or lacks the prompt", async () => {
    const fallback = { text: "Database prompt for {{callee_name}}.", source: "database", version: null };
    assert.deepEqual(
      await new PromptSource(null).load(template("intake")),
      fallback,
      "Langfuse not configured",
    );
    assert.deepEqual(
      await new PromptSource(client()).load(template(null)),
      fallback,
      "template names no prompt",
    );
    assert.deepEqual(await new PromptSource(client()).load(template("missing")), fallback, "unknown prompt");
    langfuse.down = true;
    try {
      assert.deepEqual(
        await new PromptSource(client(), { fetchTimeoutMs: 500 }).load(template("intake")),
        fallback,
      );
    } finally {
      langfuse.down = false;
    }
  });

  test("the system prompt: organisation, template prompt with variables, fields, fixed safety rules", () => {
    const context = {
      organization: { id: "o", name: "Riverside Clinic", escalation_phone: null, timezone: "UTC" },
      call: {
        variables: { appointment: "Monday 9am" },
        callee_name: "Ana",
        results: { date_of_birth: "1990-01-01" },
      },
      template: {
        ...template(null),
        fields: [
          { name: "date_of_birth", type: "date", required: true },
          { name: "visit_reason", type: "choice", options: ["checkup", "new_issue"] },
        ],
      },
    } as unknown as CallContext;
    const text = composeInstructions(
      context,
      "Confirm {{callee_name}}'s appointment on {{appointment}}.{{unknown}}",
    );
    assert.match(text, /^You are calling on behalf of Riverside Clinic\./);
    assert.match(text, /Confirm Ana's appointment on Monday 9am\.\n/);
    assert.match(text, /- date_of_birth \(date, required; as YYYY-MM-DD; confirm\) \[already collected\]/);
    assert.match(text, /- visit_reason \(choice; one of: checkup, new_issue\)/);
    assert.ok(text.endsWith(SAFETY_RULES));
    assert.match(SAFETY_RULES, /not a medical professional/);
    assert.equal(fillVariables("{{ a }}-{{b}}", { a: 1, b: null }), "1-");
  });
});

// The Langfuse double answers Langfuse's own client as Langfuse does: a stored prompt by name and label,
// credentials checked, and an outage while `down` is set.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { LangfuseClient } from "@langfuse/client";
import { LangfuseDouble } from "./langfuse-double.ts";

let langfuse: LangfuseDouble;
before(async () => {
  langfuse = await LangfuseDouble.start("pk-lf-double", "sk-lf-double");
  langfuse.addPrompt({
    name: "intake",
    label: "production",
    version: 3,
    prompt: "You are {{org}}'s assistant.",
  });
});
after(() => langfuse.close());

const client = (secretKey = "sk-lf-double") =>
  new LangfuseClient({ publicKey: "pk-lf-double", secretKey, baseUrl: langfuse.url });
const get = (c: LangfuseClient, label = "production") =>
  c.prompt.get("intake", { type: "text", label, cacheTtlSeconds: 0, fetchTimeoutMs: 2_000, maxRetries: 0 });

test("a stored prompt is served to Langfuse's client by name and label", async () => {
  const prompt = await get(client());
  assert.equal(prompt.version, 3);
  assert.equal(prompt.compile({ org: "Demo Clinic" }), "You are Demo Clinic's assistant.");
});

test("another label, a wrong secret or an outage is refused", async () => {
  await assert.rejects(get(client(), "staging"));
  await assert.rejects(get(client("sk-wrong")));
  langfuse.down = true;
  try {
    await assert.rejects(get(client()));
  } finally {
    langfuse.down = false;
  }
});

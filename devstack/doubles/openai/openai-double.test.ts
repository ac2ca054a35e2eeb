// The OpenAI double answers as OpenAI does where our clients could tell the difference: the key, the error
// shape, the pairing of tool calls and tool messages, and both response forms as the `openai` package reads them.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import OpenAI from "openai";
import { OpenAIDouble } from "./openai-double.ts";

let double: OpenAIDouble;
before(async () => {
  double = await OpenAIDouble.start({
    apiKey: "sk-right",
    rules: [() => ({ content: "Hello there.", toolCalls: [{ name: "hang_up", arguments: { now: true } }] })],
  });
});
after(() => double.close());

const client = (apiKey: string) => new OpenAI({ apiKey, baseURL: double.url, maxRetries: 0 });
const ask = { model: "gpt-4o-mini", messages: [{ role: "user" as const, content: "Hi" }] };

test("a missing or wrong key is refused with 401 in OpenAI's error shape", async () => {
  const res = await fetch(`${double.url}/chat/completions`, { method: "POST", body: JSON.stringify(ask) });
  assert.equal(res.status, 401);
  const { error } = await res.json();
  assert.deepEqual(Object.keys(error).sort(), ["code", "message", "param", "type"]);
  await assert.rejects(client("sk-wrong").chat.completions.create(ask), (e: unknown) => {
    assert.ok(e instanceof OpenAI.AuthenticationError);
    assert.equal(e.code, "invalid_api_key");
    return true;
  });
});

test("one JSON completion, and the same reply streamed in chunks, read by the openai package", async () => {
  const completion = await client("sk-right").chat.completions.create(ask);
  assert.equal(completion.choices[0].message.content, "Hello there.");
  assert.equal(completion.choices[0].finish_reason, "tool_calls");
  const call = completion.choices[0].message.tool_calls?.[0];
  assert.ok(call?.type === "function");
  assert.deepEqual([call.function.name, JSON.parse(call.function.arguments)], ["hang_up", { now: true }]);

  const stream = await client("sk-right").chat.completions.create({
    ...ask,
    stream: true,
    stream_options: { include_usage: true },
  });
  let content = "";
  let args = "";
  let usage = 0;
  for await (const chunk of stream) {
    content += chunk.choices[0]?.delta.content ?? "";
    args += chunk.choices[0]?.delta.tool_calls?.[0]?.function?.arguments ?? "";
    usage += chunk.usage?.total_tokens ?? 0;
  }
  assert.equal(content, "Hello there.");
  assert.deepEqual(JSON.parse(args), { now: true });
  assert.ok(usage > 0, "the usage chunk came last, as asked");
  assert.equal(double.requests.at(-1)?.stream, true);
});

test("a tool message without its tool call, or a tool call left unanswered, is a 400", async () => {
  const openai = client("sk-right");
  await assert.rejects(
    openai.chat.completions.create({
      ...ask,
      messages: [{ role: "tool", tool_call_id: "call_1", content: "x" }],
    }),
    (e: unknown) => e instanceof OpenAI.BadRequestError && /role 'tool' must be a response/.test(e.message),
  );
  await assert.rejects(
    openai.chat.completions.create({
      ...ask,
      messages: [...ask.messages, {
        role: "assistant",
        tool_calls: [{ id: "call_9", type: "function", function: { name: "hang_up", arguments: "{}" } }],
      }],
    }),
    (e: unknown) => e instanceof OpenAI.BadRequestError && /call_9/.test(e.message),
  );
});

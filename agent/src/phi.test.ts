// A whole call with seeded PHI (name, number, date of birth, medication, a record number): none of it may
// appear in the worker's log output (LiveKit's and ours) or in the spans exported to "Langfuse" (a loopback
// OTLP/HTTP receiver). The call itself must have happened: spans and log lines are there, answers stored.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { LangfuseClient } from "@langfuse/client";
import { installPhiSafeLogging } from "./logging.ts";
import { processPhi } from "./phi.ts";
import { PromptSource } from "./prompt.ts";
import { connectSuperuser, testEnv } from "../../devstack/fixtures/call-fixture.ts";
import { LangfuseDouble } from "../../devstack/doubles/langfuse/langfuse-double.ts";
import { PostgrestDouble } from "../../devstack/doubles/postgrest/postgrest-double.ts";
import { startTextCall } from "../../devstack/fixtures/text-call.ts";
import { afterTool } from "./simulation/text-call.ts";
import { toolReplies } from "./conversation.ts";
import { setUpTracing } from "./tracing.ts";

const env = testEnv();
const sql = connectSuperuser(env);
let postgrest: PostgrestDouble;
let langfuse: LangfuseDouble;

before(async () => {
  postgrest = await PostgrestDouble.start({ databaseUrl: env.databaseUrl, jwtSecret: env.jwtSecret });
  langfuse = await LangfuseDouble.start("pk-lf-phi", "sk-lf-phi");
  langfuse.addPrompt({
    name: "intake-phi",
    label: "production",
    version: 3,
    prompt: "You are calling {{callee_name}} (record {{mrn}}, born {{dob}}) to collect intake answers.",
  });
});
after(async () => {
  await postgrest.close();
  await langfuse.close();
  await sql.end();
});

const PHI = [
  "Evangeline",
  "Featherstonehaugh",
  "+12125550147",
  "555-0147",
  "1979-11-02",
  "November 2",
  "hydroxychloroquine",
  "MRN-448812",
];

test("no PHI in logs or exported spans over a whole call", async () => {
  const logLines: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
    if (text.startsWith("{")) {
      logLines.push(text);
      return true;
    }
    return (write as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write;

  const logger = installPhiSafeLogging(processPhi, { level: "debug" });
  const tracing = setUpTracing({
    phi: processPhi,
    langfuse: { publicKey: "pk-lf-phi", secretKey: "sk-lf-phi", baseUrl: langfuse.url },
  });
  try {
    await tracing.inCallSpan({ "session.id": "phi-test" }, async () => {
      const call = await startTextCall({
        sql,
        env,
        double: postgrest,
        prompts: new PromptSource(
          new LangfuseClient({ publicKey: "pk-lf-phi", secretKey: "sk-lf-phi", baseUrl: langfuse.url }),
        ),
        fixture: {
          calleeName: "Evangeline Featherstonehaugh",
          calleePhone: "+12125550147",
          variables: { mrn: "MRN-448812", dob: "1979-11-02" },
          langfusePromptName: "intake-phi",
        },
        model: [
          {
            input: "Hi, this is Evangeline Featherstonehaugh speaking",
            content: "Hello Evangeline! Your date of birth?",
          },
          {
            input: "November 2, 1979",
            toolCalls: [{ name: "record_field", args: { field_name: "date_of_birth", value: "1979-11-02" } }],
          },
          {
            input: afterTool(toolReplies.readBack("date_of_birth", "1979-11-02")),
            content: "Is it 1979-11-02?",
          },
          {
            input: "Yes",
            toolCalls: [{ name: "confirm_field", args: { field_name: "date_of_birth", confirmed: true } }],
          },
          { input: afterTool(toolReplies.saved("date_of_birth")), content: "Which medications do you take?" },
          {
            input: "hydroxychloroquine, and call me back on 212-555-0147",
            toolCalls: [{
              name: "record_field",
              args: { field_name: "medications", value: "hydroxychloroquine" },
            }],
          },
          {
            input: afterTool(toolReplies.readBack("medications", "hydroxychloroquine")),
            content: "hydroxychloroquine?",
          },
        ],
      });
      assert.equal(call.prompt.source, "langfuse");
      for (
        const line of [
          "Hi, this is Evangeline Featherstonehaugh speaking",
          "November 2, 1979",
          "Yes",
          "hydroxychloroquine, and call me back on 212-555-0147",
        ]
      ) {
        await call.session.run({ userInput: line }).wait();
      }
      logger.info(
        { callee: "Evangeline Featherstonehaugh", phone: "+12125550147" },
        "a careless line about MRN-448812",
      );
      await call.session.run({ userInput: "I can't breathe, my chest is tight" }).wait();
      assert.equal((await call.conversation.ended).outcome, "escalated");
      await call.close();
      const [row] = await sql`select results from public.intake_calls where id = ${call.fixture.callId}`;
      assert.deepEqual(row.results, { date_of_birth: "1979-11-02" }, "the call really collected PHI");
    });
    await tracing.flush();
  } finally {
    process.stdout.write = write;
    await tracing.shutdown();
  }

  const logs = logLines.join("");
  const spans = langfuse.traceBodies.join("\n");
  assert.ok(logs.includes("call ended"), "the worker's own log lines were captured");
  assert.ok(logs.includes("emergency detected"), "with the emergency among them");
  const names = langfuse.spanNames();
  assert.ok(names.includes("intake_call"), `the call's root span was exported (${names.join(", ")})`);
  assert.ok(names.includes("agent_session"), "LiveKit's session span was exported");
  assert.ok(names.some((n) => n.includes("function_tool") || n.includes("tool")), "tool spans were exported");
  for (const value of PHI) {
    assert.ok(!logs.includes(value), `logs contain ${value}`);
    assert.ok(!spans.includes(value), `exported spans contain ${value}`);
  }
  // The year as a word of its own: timestamps, durations and hex or UUID ids contain "1979" by chance (CI
  // once failed on a timestamp), and they are not the birth year. (The whole date is checked above.)
  const birthYear = /(?<![\w.-])1979(?![\w-])/;
  assert.ok(!birthYear.test(spans) && !birthYear.test(logs), "not even the birth year");
});

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  isSensitiveAttributeKey,
  PLACEHOLDERS,
  redactAttributes,
  redactText,
  SENSITIVE_ATTRIBUTE_KEY_PARTS,
} from "./redaction.ts";

// [input, expected output]
const TEXT_CASES: ReadonlyArray<readonly [string, string]> = [
  // Phone numbers: E.164 and national formats, at least 7 digits.
  ["call me back at +19712656790", "call me back at [phone]"],
  ["my number is +1 (971) 265-6790.", "my number is [phone]."],
  ["it's (971) 265-6790", "it's [phone]"],
  ["971-265-6790 or 971.265.6790", "[phone] or [phone]"],
  ["971 265 6790", "[phone]"],
  ["+44 20 7946 0958", "[phone]"],
  ["07700 900123 is my mobile", "[phone] is my mobile"],
  ["dial 265-6790", "dial [phone]"],
  ["ext 2656790", "ext [phone]"],
  // E-mail addresses.
  ["write to maria.gonzalez+clinic@example.co.uk please", "write to [email] please"],
  ["MARIA_85@mail.example.com", "[email]"],
  // Dates.
  ["born 1985-03-14", "born [date]"],
  ["DOB: 03/14/1985", "DOB: [date]"],
  ["Geburtsdatum 14.03.1985.", "Geburtsdatum [date]."],
  ["born 3/14/85", "born [date]"],
  ["born March 14, 1985 in Ohio", "born [date] in Ohio"],
  ["born march 14 1985", "born [date]"],
  ["born 14 March 1985", "born [date]"],
  ["the 14th of March, 1985", "the [date]"],
  ["Sept. 3rd", "[date]"],
  ["since March 1985", "since [date]"],
  ["1985-03-14T00:00:00Z", "[date]T00:00:00Z"],
  // Long digit runs: IDs, SSN-like, ZIP codes, card numbers.
  ["SSN 123-45-6789", "SSN [number]"],
  ["member id 48213", "member id [number]"],
  ["MRN12345678", "MRN[phone]"],
  ["card 4111 1111 1111 1111", "card [number]"],
  ["zip 97201", "zip [number]"],
  // Names introduced as names.
  ["Hi, my name is Maria Gonzalez and I'm calling back", "Hi, my name is [name] and I'm calling back"],
  ["This is Dr. Ana Lopez from the clinic", "This is [name] from the clinic"],
  ["my name is maria", "my name is [name]"],
  ["my name is not important", "my name is not important"],
  // Innocuous text stays readable.
  ["The appointment is at 3 pm, room 12", "The appointment is at 3 pm, room 12"],
  [
    "Temperature 38.5, blood pressure 120/80, pain 7 out of 10",
    "Temperature 38.5, blood pressure 120/80, pain 7 out of 10",
  ],
  ["I was born in 1985", "I was born in 1985"],
  ["I take 500 mg of metformin twice a day", "I take 500 mg of metformin twice a day"],
  ["You may call after 10:30", "You may call after 10:30"],
  ["", ""],
];

test(`redactText: ${TEXT_CASES.length} cases`, () => {
  const failures: string[] = [];
  for (const [input, expected] of TEXT_CASES) {
    const got = redactText(input);
    if (got !== expected) failures.push(`${JSON.stringify(input)}: got ${JSON.stringify(got)}`);
  }
  assert.deepEqual(failures, []);
});

test("known values (name, answers) are redacted case-insensitively, as whole words", () => {
  const known = { values: ["Maria Gonzalez", "Maria", "Gonzalez", "penicillin", "Ana"] };
  assert.equal(
    redactText("Patient MARIA  gonzalez said: maria is allergic to Penicillin.", known),
    "Patient [redacted] said: [redacted] is allergic to [redacted].",
  );
  assert.equal(redactText("a banana for Ana", known), "a banana for [redacted]");
  assert.equal(redactText("Thanks, Maria!", known), "Thanks, [redacted]!");
});

test("known values with punctuation, accents and regex characters are matched literally", () => {
  assert.equal(
    redactText("Call José (Pepe) Núñez now", { values: ["josé (pepe) núñez"] }),
    "Call [redacted] now",
  );
  assert.equal(
    redactText("no match for a.b here: axb", { values: ["a.b"] }),
    "no match for [redacted] here: axb",
  );
  // NFC and NFD spellings of the same name are the same name.
  assert.equal(redactText("Hello Jose\u0301", { values: ["Jos\u00e9"] }), "Hello [redacted]");
});

test("blank, missing and one-character known values are ignored", () => {
  const text = "Pain is 3 of 10, yes";
  assert.equal(redactText(text, { values: ["", "  ", "3", "y"] }), text);
  assert.equal(redactText(text, {}), text);
  assert.equal(redactText(text, { values: [null, undefined] }), text);
  assert.equal(redactText(text, { values: ["yes"] }), "Pain is 3 of 10, [redacted]");
});

test("redaction is idempotent, including with known values that look like placeholders", () => {
  const known = { values: ["Maria Gonzalez", "date", "phone", "redacted"] };
  const inputs = [
    ...TEXT_CASES.map(([input]) => input),
    "Maria Gonzalez, born 14 March 1985, +1 971 265 6790, maria@example.com, SSN 123-45-6789",
    "the date and the phone were redacted",
  ];
  for (const input of inputs) {
    const once = redactText(input, known);
    assert.equal(redactText(once, known), once, input);
  }
  assert.equal(
    redactText("[phone] [email] [date] [number] [name] [redacted]", known),
    Object.values(PLACEHOLDERS).join(" "),
  );
});

test("a whole intake line keeps its meaning and loses its PHI", () => {
  const line = "Yes this is Maria Gonzalez, date of birth March 14, 1985, you can reach me at 971-265-6790 " +
    "or maria.g@example.com. I'm allergic to penicillin.";
  const out = redactText(line, { values: ["Maria Gonzalez", "penicillin"] });
  assert.equal(
    out,
    "Yes this is [redacted], date of birth [date], you can reach me at [phone] or [email]. I'm allergic to [redacted].",
  );
  for (const secret of ["Maria", "Gonzalez", "1985", "6790", "example.com", "penicillin"]) {
    assert.ok(!out.includes(secret), secret);
  }
});

test("redactAttributes replaces content-carrying keys wholesale, keeping numbers and booleans", () => {
  const attrs = {
    "gen_ai.prompt": "You are calling Maria Gonzalez about her intake",
    "gen_ai.completion": [{ role: "assistant", content: "Hello Maria" }],
    "lk.user_transcript": "my birthday is march 14",
    "lk.chat_ctx": JSON.stringify({ items: [{ role: "user", content: "I take aspirin" }] }),
    "lk.function_tool.arguments": '{"dob":"1985-03-14"}',
    "patient.phone": "+19712656790",
    "gen_ai.usage.input_tokens": 1234,
    "lk.transcript.confidence": 0.93,
    "lk.interrupted": false,
    "lk.output.missing": null,
    "gen_ai.request.model": "gpt-4o-mini",
    "gen_ai.operation.name": "chat",
    "http.status_code": 200,
  };
  assert.deepEqual(redactAttributes(attrs), {
    "gen_ai.prompt": "[redacted]",
    "gen_ai.completion": "[redacted]",
    "lk.user_transcript": "[redacted]",
    "lk.chat_ctx": "[redacted]",
    "lk.function_tool.arguments": "[redacted]",
    "patient.phone": "[redacted]",
    "gen_ai.usage.input_tokens": 1234,
    "lk.transcript.confidence": 0.93,
    "lk.interrupted": false,
    "lk.output.missing": null,
    "gen_ai.request.model": "gpt-4o-mini",
    "gen_ai.operation.name": "chat",
    "http.status_code": 200,
  });
});

test("redactAttributes runs other strings through redactText, walks arrays and nested objects", () => {
  const known = { values: ["Maria Gonzalez"] };
  const attrs = {
    "lk.room": "call-Maria Gonzalez-+19712656790",
    "lk.tags": ["outbound", "maria gonzalez", 3, true, ["nested", "born 1985-03-14"]],
    "lk.retry_count": 2,
    "lk.extra": { clinic: "North", patient_name: "Maria", visits: [{ when: "2024-05-01", note_text: "x" }] },
    "lk.started": new Date("2024-05-01T10:00:00Z"),
  };
  const before = structuredClone(attrs);
  assert.deepEqual(redactAttributes(attrs, known), {
    "lk.room": "call-[redacted]-[phone]",
    "lk.tags": ["outbound", "[redacted]", 3, true, ["nested", "born [date]"]],
    "lk.retry_count": 2,
    "lk.extra": {
      clinic: "North",
      patient_name: "[redacted]",
      visits: [{ when: "[date]", note_text: "[redacted]" }],
    },
    "lk.started": "[date]",
  });
  assert.deepEqual(attrs, before, "the input is not modified");
});

test("redactAttributes survives cycles, deep nesting and exotic values", () => {
  const cyclic: Record<string, unknown> = { label: "x" };
  cyclic.self = cyclic;
  let deep: Record<string, unknown> = { leaf: "ok" };
  for (let i = 0; i < 20; i++) deep = { level: deep };
  const out = redactAttributes({ cyclic, deep, fn: () => 1, map: new Map([["a", "b"]]), big: 10n });
  assert.deepEqual((out.cyclic as Record<string, unknown>).self, "[redacted]");
  assert.ok(!JSON.stringify(out.deep).includes("ok"));
  assert.equal(out.fn, "[redacted]");
  assert.equal(out.map, "[redacted]");
  assert.equal(out.big, 10n);
});

test("the sensitive key list is exported data and matches keys case-insensitively", () => {
  for (const part of ["transcript", "prompt", "completion", "phone", "dob", "email", "metadata"]) {
    assert.ok(SENSITIVE_ATTRIBUTE_KEY_PARTS.includes(part), part);
  }
  assert.ok(isSensitiveAttributeKey("gen_ai.prompt"));
  assert.ok(isSensitiveAttributeKey("lk.user_transcript"));
  assert.ok(isSensitiveAttributeKey("lk.chat_ctx"));
  assert.ok(isSensitiveAttributeKey("Patient.DateOfBirth"));
  assert.ok(isSensitiveAttributeKey("lk.llm_metadata"));
  assert.ok(!isSensitiveAttributeKey("gen_ai.request.model"));
  assert.ok(!isSensitiveAttributeKey("gen_ai.operation.name"));
  assert.ok(!isSensitiveAttributeKey("lk.retry_count"));
});

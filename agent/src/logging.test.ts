import assert from "node:assert/strict";
import { test } from "node:test";
import { sanitiseLogArguments } from "./logging.ts";
import { PhiRegistry } from "./phi.ts";

test("log arguments: PII-marked attributes dropped, the rest redacted, errors reduced to their class", () => {
  const phi = new PhiRegistry();
  phi.add("Maria Gonzalez", "metformin");
  const error = new TypeError("could not parse 'Maria Gonzalez'");
  const [attributes, message] = sanitiseLogArguments([
    {
      "lk.pii.user_input": "I take metformin",
      "lk.pii.transcript": "anything",
      job_id: "AJ_1",
      error,
      note: "Maria Gonzalez, 1985-03-14, +12125550147",
      count: 3,
    },
    "reply to Maria Gonzalez about metformin",
  ], phi);
  assert.deepEqual(attributes, {
    job_id: "AJ_1",
    error: "TypeError",
    note: "[redacted], [date], [phone]",
    count: 3,
  });
  assert.equal(message, "reply to [redacted] about [redacted]");
  assert.deepEqual(sanitiseLogArguments([error], phi), [{ error: "TypeError" }]);
});

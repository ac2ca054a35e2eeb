import assert from "node:assert/strict";
import { test } from "node:test";
import { maskPhone, toDialableE164 } from "./phone.ts";

test("seed 000's example number +1971265679 is refused as invalid, not dialled", () => {
  const r = toDialableE164("+1971265679");
  assert.equal(r.ok, false);
  assert.equal(r.ok ? undefined : r.reason, "invalid");
});

test("a valid US number in national format becomes E.164 with a default country", () => {
  const r = toDialableE164("(971) 265-6790", "US");
  assert.deepEqual(r.ok && [r.e164, r.country], ["+19712656790", "US"]);
});

test("E.164 input for other countries is kept and checked", () => {
  const r = toDialableE164("+44 20 7946 0958");
  assert.equal(r.ok && r.e164, "+442079460958");
  assert.equal(toDialableE164("hello").ok, false);
  assert.equal(toDialableE164("+1 900 555 0199").ok, false); // premium rate / invalid: never dialled
});

test("maskPhone keeps only the last four digits", () => {
  assert.equal(maskPhone("+19712656790"), "********6790");
  assert.ok(!maskPhone("+19712656790").includes("971265"));
});

test("lenient spellings are refused, never silently truncated to a number (issue 13)", () => {
  const refused: [string, string][] = [
    ["+1 (415) 555-2671 ext 9999999", "extension"],
    ["+1 415 555 2671 x123", "extension"],
    ["+14155552671;drop", "unparseable"],
    ["tel:+14155552671", "unparseable"],
    ["+١٤١٥٥٥٥٢٦٧١", "unparseable"], // Arabic-Indic digits
    ["+1-415-555-2671 x", "unparseable"],
    ["1+4155552671", "unparseable"],
  ];
  for (const [input, reason] of refused) {
    const r = toDialableE164(input);
    assert.equal(r.ok ? `accepted as ${r.e164}` : r.reason, reason, input);
  }
  for (const input of ["+14155552671", " +1 (415) 555-2671 ", "+1.415.555.2671", "+1-415-555-2671"]) {
    const r = toDialableE164(input);
    assert.equal(r.ok && r.e164, "+14155552671", input);
  }
});

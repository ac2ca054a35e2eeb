import assert from "node:assert/strict";
import { test } from "node:test";
import { outcomeForSipStatus } from "./sip-status.ts";

test("busy, no answer, declined and invalid numbers are told apart by their SIP status", () => {
  const table: Array<[number, string]> = [
    [486, "busy"],
    [600, "busy"],
    [480, "no_answer"],
    [408, "no_answer"],
    [487, "no_answer"],
    [603, "declined"],
    [404, "invalid_number"],
    [410, "invalid_number"],
    [484, "invalid_number"],
    [604, "invalid_number"],
  ];
  for (const [code, outcome] of table) assert.equal(outcomeForSipStatus(code), outcome, String(code));
});

test("any other final response is a failed attempt (retried by the failed policy)", () => {
  for (const code of [400, 403, 500, 502, 503, 488, 606]) assert.equal(outcomeForSipStatus(code), "failed");
});

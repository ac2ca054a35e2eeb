import assert from "node:assert/strict";
import { test } from "node:test";
import { dtmfCode, livekitApiHost, outcomeForSipStatus } from "./sip.ts";

test("SIP statuses map to the outcomes the retry policy knows", () => {
  const cases: [number | undefined, string][] = [
    [486, "busy"],
    [600, "busy"],
    [480, "no_answer"],
    [408, "no_answer"],
    [487, "no_answer"],
    [603, "declined"],
    [404, "invalid_number"],
    [484, "invalid_number"],
    [604, "invalid_number"],
    [503, "failed"],
    [undefined, "failed"],
  ];
  for (const [status, outcome] of cases) assert.equal(outcomeForSipStatus(status), outcome, `SIP ${status}`);
});

test("DTMF digits and codes (RFC 4733)", () => {
  assert.deepEqual([..."0123456789*#ABCD"].map(dtmfCode), [...Array(16).keys()]);
  assert.throws(() => dtmfCode("E"), /not a DTMF digit/);
});

test("the server API host of a LiveKit URL", () => {
  assert.equal(livekitApiHost("wss://x.livekit.cloud"), "https://x.livekit.cloud");
  assert.equal(livekitApiHost("ws://127.0.0.1:7880"), "http://127.0.0.1:7880");
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { dtmfCode, livekitApiHost } from "./sip.ts";

test("DTMF digits and codes (RFC 4733)", () => {
  assert.deepEqual([..."0123456789*#ABCD"].map(dtmfCode), [...Array(16).keys()]);
  assert.throws(() => dtmfCode("E"), /not a DTMF digit/);
});

test("the server API host of a LiveKit URL", () => {
  assert.equal(livekitApiHost("wss://x.livekit.cloud"), "https://x.livekit.cloud");
  assert.equal(livekitApiHost("ws://127.0.0.1:7880"), "http://127.0.0.1:7880");
});

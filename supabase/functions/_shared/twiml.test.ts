import { deepStrictEqual as assertEquals } from "node:assert/strict";
// The real twilio-node's VoiceResponse, in this test only: our writer must produce the same documents.
import twilio from "twilio";
import { dialSip, escapeAttribute, escapeText, hangup, say, twiml } from "./twiml.ts";

Deno.test("text escapes & < >, attribute values also the double quote", () => {
  assertEquals(escapeText(`a&b<c>d"e'f é\n`), `a&amp;b&lt;c&gt;d"e'f é\n`);
  assertEquals(escapeAttribute(`a&b<c>d"e'f`), `a&amp;b&lt;c&gt;d&quot;e'f`);
  assertEquals(escapeText("&amp;"), "&amp;amp;");
});

Deno.test("documents match twilio-node's VoiceResponse", () => {
  const text = `Smith & Jones <clinic> "quoted" it's`;
  const leave = new twilio.twiml.VoiceResponse();
  leave.say(text);
  leave.hangup();
  assertEquals(twiml(say(text), hangup()), leave.toString());

  const uri = "sip:abc.sip.livekit.cloud;transport=tcp?X-Call-Session-Id=1&x=<2>";
  const bridge = new twilio.twiml.VoiceResponse();
  bridge.dial({ timeLimit: 600 }).sip({ username: "u&1", password: 'p"<' }, uri);
  assertEquals(twiml(dialSip(uri, { timeLimit: 600, username: "u&1", password: 'p"<' })), bridge.toString());

  const plain = new twilio.twiml.VoiceResponse();
  plain.dial().sip(uri);
  assertEquals(twiml(dialSip(uri)), plain.toString());
});

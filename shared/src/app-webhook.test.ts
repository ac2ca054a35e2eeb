import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { test } from "node:test";
import { AppWebhook, signWebhook, verifyWebhookSignature } from "./app-webhook.ts";

// The vectors of the Standard Webhooks reference library (libraries/javascript/src/webhook.test.ts in
// github.com/standard-webhooks/standard-webhooks; the `standardwebhooks` npm package is not a dependency here).
const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const msgId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const payload = '{"test": 2432232314}';

async function message(timestamp = Math.floor(Date.now() / 1000)) {
  const signature = await signWebhook(secret, msgId, timestamp, payload);
  return {
    "webhook-id": msgId,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": signature,
  } as Record<string, string | undefined>;
}

const verify = (
  headers: Record<string, string | undefined> | Headers,
  body = payload,
  key = secret,
  now?: number,
) => verifyWebhookSignature({ secret: key, headers, body, now });

test("the reference library's signing vector", async () => {
  assert.equal(
    await signWebhook(secret, msgId, 1614265330, payload),
    "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
  );
  // And Node's own HMAC over the documented content agrees.
  const key = Buffer.from(secret.slice("whsec_".length), "base64");
  const mac = createHmac("sha256", key).update(`${msgId}.1614265330.${payload}`).digest("base64");
  assert.equal(await signWebhook(secret, msgId, 1614265330, payload), `v1,${mac}`);
});

test("a valid signature verifies, with or without the whsec_ prefix, with any header case", async () => {
  const headers = await message();
  assert.equal(await verify(headers), true);
  assert.equal(await verify(headers, payload, secret.slice("whsec_".length)), true);
  assert.equal(
    await verify({
      "Webhook-Id": headers["webhook-id"],
      "Webhook-Timestamp": headers["webhook-timestamp"],
      "Webhook-Signature": headers["webhook-signature"],
    }),
    true,
  );
  assert.equal(await verify(new Headers(headers as Record<string, string>)), true);
});

test("missing id, timestamp or signature fails", async () => {
  for (const name of ["webhook-id", "webhook-timestamp", "webhook-signature"]) {
    const headers = await message();
    delete headers[name];
    assert.equal(await verify(headers), false, name);
  }
});

test("an invalid timestamp, an invalid or partial signature, another body or key fail", async () => {
  assert.equal(await verify({ ...(await message()), "webhook-timestamp": "hello" }), false);
  assert.equal(
    await verify({ ...(await message()), "webhook-signature": "v1,dawfeoifkpqwoekfpqoekf" }),
    false,
  );
  const headers = await message();
  assert.equal(
    await verify({ ...headers, "webhook-signature": headers["webhook-signature"]!.slice(0, 8) }),
    false,
  );
  assert.equal(await verify({ ...headers, "webhook-signature": "v1," }), false);
  assert.equal(
    await verify({ ...headers, "webhook-signature": "v2," + headers["webhook-signature"]!.slice(3) }),
    false,
  );
  assert.equal(await verify(headers, payload + " "), false);
  assert.equal(
    await verify(headers, payload, "whsec_" + Buffer.from("another key!").toString("base64")),
    false,
  );
});

test("timestamps more than five minutes old or ahead fail", async () => {
  // One clock reading for signing and verifying: the wall clock may pass a second boundary in between.
  const now = Math.floor(Date.now() / 1000);
  assert.equal(await verify(await message(now - 5 * 60 - 1), payload, secret, now), false);
  assert.equal(await verify(await message(now + 5 * 60 + 1), payload, secret, now), false);
  assert.equal(await verify(await message(now - 5 * 60), payload, secret, now), true);
  assert.equal(await verify(await message(now + 5 * 60), payload, secret, now), true);
});

test("one valid v1 among several signatures is enough", async () => {
  const headers = await message();
  headers["webhook-signature"] = [
    "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
    "v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
    headers["webhook-signature"],
    "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
  ].join(" ");
  assert.equal(await verify(headers), true);
});

test("the payload schema accepts the platform's events and rejects malformed ones", () => {
  const event = {
    type: "call.answered",
    timestamp: "2026-11-21T13:14:23.158278+00:00",
    data: {
      intake_call_id: "0b9c3f0e-8d1c-4a7e-9d55-6f0e2b7a1c11",
      status: "in_progress",
      outcome: null,
      attempts: 1,
      external_ref: null,
      session_id: "6f0e2b7a-8d1c-4a7e-9d55-0b9c3f0e1c11",
      answered_by: "human",
      a_field_added_later: true,
    },
  };
  assert.deepEqual(AppWebhook.parse(event).data.a_field_added_later, true);
  assert.equal(AppWebhook.safeParse({ ...event, type: "answered" }).success, false);
  assert.equal(AppWebhook.safeParse({ ...event, data: { ...event.data, status: "ringing" } }).success, false);
  assert.equal(
    AppWebhook.safeParse({ ...event, data: { ...event.data, intake_call_id: "42" } }).success,
    false,
  );
});

// The dev webhook receiver: what the platform signs (shared/src/app-webhook.ts) is verified by the Standard
// Webhooks library, a forged delivery is refused, and what is printed carries no PHI.
import { test } from "node:test";
import assert from "node:assert/strict";
import { signWebhook } from "../shared/src/app-webhook.ts";
import { createWebhookReceiver } from "./webhook-receiver.mjs";

const SECRET = `whsec_${Buffer.from("k".repeat(32)).toString("base64")}`;

async function withReceiver(fn) {
  const printed = [];
  const server = createWebhookReceiver({ secret: () => SECRET, print: (line) => printed.push(line) });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${server.address().port}/webhooks`;
  try {
    await fn(url, printed);
  } finally {
    await new Promise((r) => server.close(r));
  }
}

async function deliver(url, body, { secret = SECRET, id = "msg_1", tamper = false } = {}) {
  const timestamp = Math.floor(Date.now() / 1000);
  const signature = await signWebhook(secret, id, timestamp, body);
  const res = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "webhook-id": id,
      "webhook-timestamp": String(timestamp),
      "webhook-signature": signature,
    },
    body: tamper ? body.replace("completed", "failed") : body,
  });
  await res.body?.cancel();
  return res.status;
}

const body = JSON.stringify({
  type: "call.completed",
  timestamp: new Date().toISOString(),
  data: {
    intake_call_id: "6f1c0d7e-0000-4000-8000-000000000001",
    status: "completed",
    external_ref: "MRN-4711 Maria",
  },
});

test("a delivery the platform signed is verified and printed as type, call id and status only", async () => {
  await withReceiver(async (url, printed) => {
    assert.equal(await deliver(url, body), 204);
    assert.deepEqual(printed, [
      "verified call.completed call 6f1c0d7e-0000-4000-8000-000000000001 status completed",
    ]);
  });
});

test("a tampered body or another secret is refused with 401, and its content is not printed", async () => {
  await withReceiver(async (url, printed) => {
    assert.equal(await deliver(url, body, { tamper: true }), 401);
    const other = `whsec_${Buffer.from("x".repeat(32)).toString("base64")}`;
    assert.equal(await deliver(url, body, { secret: other, id: "msg_2" }), 401);
    assert.equal(printed.length, 2);
    for (const line of printed) {
      assert.match(line, /^rejected delivery msg_[12]: /);
      assert.doesNotMatch(line, /MRN|Maria|completed|failed/);
    }
  });
});

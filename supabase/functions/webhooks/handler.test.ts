// The webhooks function against the real database, delivering to a loopback receiver that verifies every
// request the way an app would (shared/src/app-webhook.ts) and answers as scripted: 2xx, 5xx, a redirect, or
// nothing at all (the deliverer's timeout ends it).
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { AppWebhook, verifyWebhookSignature } from "../../../shared/src/app-webhook.ts";
import { connect, type Sql } from "../_shared/database.ts";
import { createOrg, insertCall, type TestOrg } from "../../../devstack/fixtures/test-database.ts";
import { serveOnLoopback, sleep } from "../../../devstack/loopback.ts";
import { create } from "./handler.ts";

const databaseUrl = Deno.env.get("TEST_DATABASE_URL")!;
const SECRET = "test-dispatch-secret";
// The receivers are on loopback: allowed here as in local development, refused by default (see the SSRF test).
// A timeout a slow machine never reaches for an answering receiver; the test of a receiver that hangs uses 300 ms.
const ENV = {
  DISPATCH_SECRET: SECRET,
  WEBHOOK_TIMEOUT_MS: "2000",
  WEBHOOK_CONCURRENCY: "4",
  WEBHOOK_ALLOW_PRIVATE_URLS: "true",
};

type Received = { id: string; timestamp: number; signature: string; body: string; valid: boolean };
type Reply = { status: number; headers?: Record<string, string> } | "hang";

/** An app's webhook endpoint: checks each request's signature with the org's secret, answers from `replies`. */
function receiver(opts: { latencyMs?: number } = {}) {
  const received: Received[] = [];
  const replies: Reply[] = [];
  let secret = "";
  const server = serveOnLoopback(async (req) => {
    const body = await req.text();
    received.push({
      id: req.headers.get("webhook-id") ?? "",
      timestamp: Number(req.headers.get("webhook-timestamp")),
      signature: req.headers.get("webhook-signature") ?? "",
      body,
      valid: req.headers.get("content-type") === "application/json" &&
        await verifyWebhookSignature({ secret, headers: req.headers, body }),
    });
    await sleep(opts.latencyMs ?? 0, server.closing);
    const reply = replies.shift() ?? { status: 204 };
    if (reply === "hang") {
      await new Promise<void>((resolve) => {
        const done = AbortSignal.any([req.signal, server.closing]);
        if (done.aborted) resolve();
        else done.addEventListener("abort", () => resolve(), { once: true });
      });
      return new Response(null, { status: 503 });
    }
    return new Response(null, reply);
  });
  return {
    url: `${server.url}/hooks`,
    received,
    replies,
    setSecret(value: string) {
      secret = value;
    },
    close: () => server.close(),
  };
}

/** Runs `fn` as a new owner of the org (its admin, through the public RPCs an admin uses). */
async function asOrgOwner<T>(sql: Sql, orgId: string, fn: (tx: Sql) => Promise<T>): Promise<T> {
  const userId = crypto.randomUUID();
  await sql`insert into auth.users (id, email) values (${userId}, ${userId + "@example.org"})`;
  await sql`insert into public.organization_members (org_id, user_id, role) values (${orgId}, ${userId}, 'owner')`;
  return await sql.begin(async (tx) => {
    await tx`select set_config('role', 'authenticated', true),
                    set_config('request.jwt.claims', ${
      JSON.stringify({ role: "authenticated", sub: userId })
    }, true)`;
    return await fn(tx as unknown as Sql);
  }) as T;
}

/** The org's signing secret, read the way its admin reads it: public.webhook_signing_secret as an owner. */
async function signingSecretAsAdmin(sql: Sql, orgId: string): Promise<string> {
  return await asOrgOwner(sql, orgId, async (tx) => {
    const [row] = await tx`select public.webhook_signing_secret(${orgId}) as secret`;
    return row.secret as string;
  });
}

type Fixture = {
  sql: Sql;
  org: TestOrg;
  hook: ReturnType<typeof receiver>;
  [Symbol.asyncDispose](): Promise<void>;
};

async function fixture(opts: { latencyMs?: number } = {}): Promise<Fixture> {
  const sql = connect(databaseUrl, { max: 4 });
  const hook = receiver(opts);
  const org = await createOrg(sql, { webhookUrl: hook.url });
  hook.setSecret(await signingSecretAsAdmin(sql, org.orgId));
  return {
    sql,
    org,
    hook,
    async [Symbol.asyncDispose]() {
      await hook.close();
      await sql.end();
    },
  };
}

function tick(sql: Sql, env: Record<string, string> = ENV): Promise<Response> {
  return create({ env, sql })(
    new Request("http://localhost/webhooks", {
      method: "POST",
      headers: { Authorization: `Bearer ${SECRET}`, "Content-Type": "application/json" },
      body: JSON.stringify({ reason: "tick" }),
    }),
  );
}

type DeliveryRow = {
  id: string;
  status: string;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  retry_in_seconds: number;
  locked_until: Date | null;
};

async function deliveries(sql: Sql, callId: string): Promise<DeliveryRow[]> {
  const rows = await sql<DeliveryRow[]>`
    select id, status, attempts, last_status_code, last_error, locked_until,
           round(extract(epoch from next_attempt_at - now()))::int as retry_in_seconds
      from public.webhook_deliveries where intake_call_id = ${callId} order by created_at`;
  return rows.map((r) => ({ ...r }));
}

/** Makes a delivery due now, as if its backoff had passed. */
async function makeDue(sql: Sql, id: string): Promise<void> {
  await sql`update public.webhook_deliveries set next_attempt_at = now() where id = ${id}`;
}

Deno.test("a due event is delivered once, signed so that the app verifies it, in Standard Webhooks' shape", async () => {
  await using f = await fixture();
  const callId = await insertCall(f.sql, f.org);
  const [pending] = await deliveries(f.sql, callId);
  assertEquals([pending.status, pending.attempts], ["pending", 0]);

  const res = await tick(f.sql);
  assertEquals(res.status, 200);
  assert((await res.json()).delivered >= 1);
  const mine = f.hook.received.filter((r) => r.id === pending.id);
  assertEquals(mine.length, 1);
  assertEquals(mine[0].valid, true);
  assert(Math.abs(mine[0].timestamp - Date.now() / 1000) < 5);
  const event = AppWebhook.parse(JSON.parse(mine[0].body));
  assertEquals([event.type, event.data.intake_call_id, event.data.status], ["call.queued", callId, "queued"]);
  // No phone number in what the app receives unless the app put it in external_ref/variables itself.
  assert(!mine[0].body.includes("+1212"));

  const [row] = await deliveries(f.sql, callId);
  assertEquals([row.status, row.attempts, row.last_status_code, row.locked_until], [
    "delivered",
    1,
    204,
    null,
  ]);
  await tick(f.sql);
  assertEquals(f.hook.received.filter((r) => r.id === pending.id).length, 1);
});

Deno.test("a 500, a timeout and a redirect are retried with backoff under the same id, then delivered", async () => {
  await using f = await fixture();
  const callId = await insertCall(f.sql, f.org);
  const [{ id }] = await deliveries(f.sql, callId);
  const hangsUpFast = { ...ENV, WEBHOOK_TIMEOUT_MS: "300" };
  f.hook.replies.push(
    { status: 500 },
    "hang",
    { status: 302, headers: { Location: "http://127.0.0.1:1/" } },
    {
      status: 200,
    },
  );

  await tick(f.sql, hangsUpFast);
  let [row] = await deliveries(f.sql, callId);
  assertEquals([row.status, row.attempts, row.last_status_code, row.last_error], [
    "pending",
    1,
    500,
    "HTTP 500",
  ]);
  assert(Math.abs(row.retry_in_seconds - 60) <= 2, `first retry after 1 min, not ${row.retry_in_seconds} s`);
  await tick(f.sql, hangsUpFast); // not due yet: nothing is sent
  assertEquals(f.hook.received.filter((r) => r.id === id).length, 1);

  await makeDue(f.sql, id);
  await tick(f.sql, hangsUpFast);
  [row] = await deliveries(f.sql, callId);
  assertEquals([row.status, row.attempts, row.last_status_code, row.last_error], [
    "pending",
    2,
    null,
    "no answer within 300 ms",
  ]);
  assert(
    Math.abs(row.retry_in_seconds - 180) <= 2,
    `second retry after 3 min, not ${row.retry_in_seconds} s`,
  );

  await makeDue(f.sql, id);
  await tick(f.sql, hangsUpFast);
  [row] = await deliveries(f.sql, callId);
  assertEquals([row.status, row.attempts, row.last_status_code], ["pending", 3, 302]);
  assert(Math.abs(row.retry_in_seconds - 540) <= 2, `third retry after 9 min, not ${row.retry_in_seconds} s`);

  await makeDue(f.sql, id);
  await tick(f.sql, hangsUpFast);
  [row] = await deliveries(f.sql, callId);
  assertEquals([row.status, row.attempts, row.last_status_code], ["delivered", 4, 200]);

  const attempts = f.hook.received.filter((r) => r.id === id);
  assertEquals(attempts.length, 4);
  assert(
    attempts.every((a) => a.valid && a.body === attempts[0].body),
    "one event: same id, same body, signed",
  );
});

Deno.test("after the platform's maximum of attempts the delivery is dead and never sent again", async () => {
  await using f = await fixture();
  const [{ max }] = await f.sql`select webhook_max_attempts as max from private.platform_settings`;
  const callId = await insertCall(f.sql, f.org);
  const [{ id }] = await deliveries(f.sql, callId);
  // The attempts before the last one, already made and failed.
  await f.sql`update public.webhook_deliveries set attempts = ${
    max - 1
  }, last_status_code = 500 where id = ${id}`;
  f.hook.replies.push({ status: 503 });
  await tick(f.sql);
  let [row] = await deliveries(f.sql, callId);
  assertEquals([row.status, row.attempts, row.last_status_code], ["dead", max, 503]);
  await makeDue(f.sql, id);
  await tick(f.sql);
  [row] = await deliveries(f.sql, callId);
  assertEquals(row.status, "dead");
  assertEquals(f.hook.received.filter((r) => r.id === id).length, 1);
});

Deno.test("two deliverers at once never send one delivery twice", async () => {
  await using f = await fixture({ latencyMs: 50 });
  const calls = [];
  for (let i = 0; i < 12; i++) calls.push(await insertCall(f.sql, f.org));
  const ids = new Set(
    (await f.sql`select id from public.webhook_deliveries where org_id = ${f.org.orgId}`).map((r) =>
      r.id as string
    ),
  );
  assertEquals(ids.size, 12);
  const other = connect(databaseUrl, { max: 4 });
  try {
    await other`select 1`; // connected before the race, so it is not lost to the first deliverer's head start
    const env = { ...ENV, WEBHOOK_CONCURRENCY: "3" };
    const [a, b] = await Promise.all([tick(f.sql, env), tick(other, env)]);
    assertEquals([a.status, b.status], [200, 200]);
    const [ja, jb] = [await a.json(), await b.json()];
    assert(ja.delivered > 0 && jb.delivered > 0, "both deliverers took a share");
  } finally {
    await other.end();
  }
  const mine = f.hook.received.filter((r) => ids.has(r.id));
  assertEquals(mine.length, 12);
  assertEquals(new Set(mine.map((r) => r.id)).size, 12);
  assert(mine.every((r) => r.valid));
  const [{ delivered }] = await f.sql`select count(*)::int as delivered from public.webhook_deliveries
                                       where org_id = ${f.org.orgId} and status = 'delivered' and attempts = 1`;
  assertEquals(delivered, 12);
});

Deno.test("a crashed deliverer's claim comes back after its lease, and its late result is ignored", async () => {
  await using f = await fixture();
  const callId = await insertCall(f.sql, f.org);
  const [{ id }] = await deliveries(f.sql, callId);
  // A deliverer claims everything due, then dies without sending.
  const claimed = await f.sql`select id, claim_token from public.claim_webhook_deliveries(100, 60)`;
  const stale = claimed.find((c) => c.id === id)!;
  await tick(f.sql);
  assertEquals(f.hook.received.filter((r) => r.id === id).length, 0, "held by the lease");

  await f
    .sql`update public.webhook_deliveries set locked_until = now() - interval '1 second' where id = ${id}`;
  await tick(f.sql);
  let [row] = await deliveries(f.sql, callId);
  assertEquals([row.status, row.attempts], ["delivered", 2]);
  // The dead deliverer wakes up and reports a failure with its old claim: nothing changes.
  const [{ outcome }] = await f.sql`
    select public.complete_webhook_delivery(${id}, ${stale.claim_token}, 500, 'late') as outcome`;
  assertEquals(outcome, "delivered");
  [row] = await deliveries(f.sql, callId);
  assertEquals([row.status, row.last_status_code], ["delivered", 204]);
  // Other rows that fake deliverer claimed are released for the next tests.
  await f.sql`update public.webhook_deliveries set locked_until = null, claim_token = null
               where id = any(${claimed.map((c) => c.id)}) and status = 'pending'`;
});

Deno.test("an org that removed its webhook URL: its due deliveries are dead-lettered, nothing is sent", async () => {
  await using f = await fixture();
  const callId = await insertCall(f.sql, f.org);
  await f.sql`update public.organizations set webhook_url = null where id = ${f.org.orgId}`;
  await tick(f.sql);
  const [row] = await deliveries(f.sql, callId);
  assertEquals([row.status, row.last_error], ["dead", "the organization has no webhook URL"]);
  assertEquals(f.hook.received.length, 0);
});

Deno.test("without the dispatch secret: 401, and nothing is claimed or sent; GET 405; unconfigured 503", async () => {
  await using f = await fixture();
  const callId = await insertCall(f.sql, f.org);
  const handler = create({ env: ENV, sql: f.sql });
  for (const authorization of [null, "Bearer wrong", `Bearer ${SECRET}x`, SECRET, `Basic ${SECRET}`]) {
    const headers = new Headers();
    if (authorization !== null) headers.set("Authorization", authorization);
    const res = await handler(
      new Request("http://localhost/webhooks", { method: "POST", headers, body: "{}" }),
    );
    assertEquals([res.status, (await res.json()).error.code], [401, "unauthorized"], String(authorization));
  }
  const get = await handler(
    new Request("http://localhost/webhooks", { headers: { Authorization: `Bearer ${SECRET}` } }),
  );
  assertEquals([get.status, get.headers.get("allow")], [405, "POST"]);
  await get.body?.cancel();
  const unconfigured = await create({ env: {}, sql: f.sql })(
    new Request("http://localhost/webhooks", { method: "POST", headers: { Authorization: "Bearer " } }),
  );
  assertEquals([unconfigured.status, (await unconfigured.json()).error.code], [503, "not_configured"]);
  const [row] = await deliveries(f.sql, callId);
  assertEquals([row.status, row.attempts, row.locked_until], ["pending", 0, null]);
  assertEquals(f.hook.received.length, 0);
});

Deno.test("an org's webhook URL aimed inside the platform's network is never requested: a failed attempt, retried like any other", async () => {
  await using f = await fixture();
  const deployed = { ...ENV, WEBHOOK_ALLOW_PRIVATE_URLS: "" };
  // Where an org could aim the platform: its own loopback receiver (proving nothing is sent), the metadata
  // service, private and IPv6 local addresses, IPv4 written in other forms, and plain HTTP.
  const loopbackHttps = f.hook.url.replace("http:", "https:");
  const targets = [
    f.hook.url,
    loopbackHttps,
    "https://169.254.169.254/latest/meta-data/",
    "https://10.1.2.3/hooks",
    "https://[::1]/hooks",
    "https://[::ffff:127.0.0.1]/hooks",
    "https://2130706433/hooks",
    "https://[fd00::1]/hooks",
    "http://93.184.215.14/hooks",
  ];
  for (const url of targets) {
    await f.sql`update public.organizations set webhook_url = ${url} where id = ${f.org.orgId}`;
    const callId = await insertCall(f.sql, f.org);
    const res = await tick(f.sql, deployed);
    assertEquals(res.status, 200, url);
    const [row] = await deliveries(f.sql, callId);
    assertEquals([row.status, row.attempts, row.last_status_code], ["pending", 1, null], url);
    assert(row.last_error?.startsWith("destination not allowed"), `${url}: ${row.last_error}`);
  }
  assertEquals(f.hook.received.length, 0);
  // With private URLs allowed (local development) the same org's loopback receiver gets its events.
  await f.sql`update public.organizations set webhook_url = ${f.hook.url} where id = ${f.org.orgId}`;
  await f.sql`update public.webhook_deliveries set next_attempt_at = now() where org_id = ${f.org.orgId}`;
  await tick(f.sql);
  assertEquals(f.hook.received.length, targets.length);
  assert(f.hook.received.every((r) => r.valid));
});

Deno.test("a rotated secret: during the overlap each request verifies with the old and with the new secret, then only the new", async () => {
  await using f = await fixture();
  const oldSecret = await signingSecretAsAdmin(f.sql, f.org.orgId);
  const newSecret = await asOrgOwner(f.sql, f.org.orgId, async (tx) => {
    const [row] = await tx`select public.rotate_webhook_signing_secret(${f.org.orgId}, 1) as secret`;
    return row.secret as string;
  });
  assert(newSecret !== oldSecret);
  await insertCall(f.sql, f.org);
  await tick(f.sql);
  const during = f.hook.received.at(-1)!;
  assertEquals(during.signature.split(" ").length, 2);
  for (const secret of [oldSecret, newSecret]) {
    const headers = new Headers({
      "webhook-id": during.id,
      "webhook-timestamp": String(during.timestamp),
      "webhook-signature": during.signature,
    });
    assert(
      await verifyWebhookSignature({ secret, headers, body: during.body }),
      "verifies with either secret",
    );
  }
  // The overlap over: one signature, and the old secret no longer verifies.
  await f.sql`update private.organization_secrets set previous_secret_expires_at = now() - interval '1 second'
               where org_id = ${f.org.orgId}`;
  await insertCall(f.sql, f.org);
  await tick(f.sql);
  const after = f.hook.received.at(-1)!;
  assertEquals(after.signature.split(" ").length, 1);
  const headers = new Headers({
    "webhook-id": after.id,
    "webhook-timestamp": String(after.timestamp),
    "webhook-signature": after.signature,
  });
  assertEquals(await verifyWebhookSignature({ secret: oldSecret, headers, body: after.body }), false);
  assertEquals(await verifyWebhookSignature({ secret: newSecret, headers, body: after.body }), true);
});

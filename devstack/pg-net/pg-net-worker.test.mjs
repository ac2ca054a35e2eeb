// The pg_net stand-in sends exactly what committed transactions queued, nothing from rolled-back ones.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, before, test } from "node:test";
import postgres from "postgres";
import { startPgNetWorker } from "./pg-net-worker.mjs";

const url = process.env.TEST_DATABASE_URL;
let server, port, worker, sql;
const received = [];

before(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      received.push({ path: req.url, body, auth: req.headers.authorization });
      res.writeHead(202, { "content-type": "application/json" }).end('{"accepted":true}');
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  port = server.address().port;
  sql = postgres(url, { max: 2, onnotice: () => {} });
  worker = await startPgNetWorker(url);
});

after(async () => {
  await worker.stop();
  await sql.end();
  server.close();
});

async function until(predicate, ms = 5_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await predicate()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return false;
}

test("a committed net.http_post is delivered once, with its body and headers", async () => {
  const marker = `commit-${Date.now()}`;
  const [{ id }] = await sql`select net.http_post(
    ${`http://127.0.0.1:${port}/functions/v1/dispatch`},
    ${sql.json({ marker })}, '{}'::jsonb,
    ${sql.json({ "Content-Type": "application/json", Authorization: "Bearer s3cret" })}) as id`;
  assert.ok(await until(() => received.some((r) => r.body.includes(marker))), "request arrived");
  const hits = received.filter((r) => r.body.includes(marker));
  assert.equal(hits.length, 1);
  assert.equal(hits[0].auth, "Bearer s3cret");
  assert.ok(
    await until(async () => (await sql`select 1 from net._http_response where id = ${id}`).length === 1),
  );
  const [response] = await sql`select status_code, content from net._http_response where id = ${id}`;
  assert.equal(response.status_code, 202);
  assert.equal(response.content, '{"accepted":true}');
});

test("a rolled-back net.http_post delivers nothing", async () => {
  const marker = `rollback-${Date.now()}`;
  await sql.begin(async (tx) => {
    await tx`select net.http_post(${`http://127.0.0.1:${port}/x`}, ${tx.json({ marker })})`;
    await tx`select 1/0`; // abort the transaction
  }).catch(() => {});
  // A committed request sent after it proves the worker ran in between.
  const fence = `fence-${Date.now()}`;
  await sql`select net.http_post(${`http://127.0.0.1:${port}/x`}, ${sql.json({ fence })})`;
  assert.ok(await until(() => received.some((r) => r.body.includes(fence))));
  assert.equal(received.filter((r) => r.body.includes(marker)).length, 0);
});

test("an unreachable URL is recorded as an error response, not retried forever", async () => {
  const [{ id }] = await sql`select net.http_post('http://127.0.0.1:9/closed', '{}'::jsonb) as id`;
  assert.ok(
    await until(async () => (await sql`select 1 from net._http_response where id = ${id}`).length === 1),
  );
  const [row] = await sql`select status_code, error_msg from net._http_response where id = ${id}`;
  assert.equal(row.status_code, null);
  assert.ok(row.error_msg);
});

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { connect } from "../_shared/database.ts";
import { create } from "./handler.ts";

const databaseUrl = Deno.env.get("TEST_DATABASE_URL")!;

Deno.test("health answers ok from the real database and reports unconfigured integrations", async () => {
  const sql = connect(databaseUrl, { max: 1 });
  try {
    const res = await create({
      sql,
      env: { LIVEKIT_URL: "wss://x", LIVEKIT_API_KEY: "k", LIVEKIT_API_SECRET: "s" },
    })(
      new Request("http://localhost/health"),
    );
    assertEquals(res.status, 200);
    assertEquals(await res.json(), {
      status: "ok",
      database: "ok",
      livekit: "configured",
      twilio: "not_configured",
      langfuse: "not_configured",
    });
  } finally {
    await sql.end();
  }
});

Deno.test("health answers 503 when the database is down", async () => {
  // A port with no server behind it: the connection is refused, as with a stopped database.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const sql = connect(`postgresql://postgres:postgres@127.0.0.1:${port}/postgres`, {
    max: 1,
    connectTimeoutSeconds: 1,
  });
  try {
    const res = await create({ sql, env: {} })(new Request("http://localhost/health"));
    assertEquals(res.status, 503);
    const body = await res.json();
    assertEquals(body.status, "degraded");
    assertEquals(body.database, "unreachable");
  } finally {
    await sql.end();
  }
});

Deno.test("health refuses other methods with the error envelope", async () => {
  const res = await create({ sql: connect(databaseUrl, { max: 1 }), env: {} })(
    new Request("http://localhost/health", { method: "DELETE" }),
  );
  assertEquals(res.status, 405);
  assertEquals((await res.json()).error.code, "method_not_allowed");
});

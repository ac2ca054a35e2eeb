import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { SignJWT } from "jose";
import { router } from "./functions-server.ts";

const secret = "a-test-secret-with-at-least-32-characters!!";
const seen: string[] = [];
const handlers = new Map([
  ["health", (req: Request) => Promise.resolve(new Response(new URL(req.url).pathname))], // verify_jwt = false
  ["needs-jwt", (req: Request) => {
    seen.push(new URL(req.url).pathname);
    return Promise.resolve(new Response("ok"));
  }], // not in config.toml: verify_jwt defaults to true
]);
const serve = router(handlers, secret);
const sign = (key: string) =>
  new SignJWT({ role: "anon" }).setProtectedHeader({ alg: "HS256" }).setExpirationTime("1h").sign(
    new TextEncoder().encode(key),
  );

Deno.test("router strips /functions/v1 so handlers see /<name>/..., as on Supabase", async () => {
  const res = await serve(new Request("http://x/functions/v1/health/deep/path?q=1"));
  assertEquals(await res.text(), "/health/deep/path");
});

Deno.test("router answers 404 with the error envelope for an unknown function", async () => {
  const res = await serve(new Request("http://x/functions/v1/missing"));
  assertEquals(res.status, 404);
  assertEquals((await res.json()).error.code, "function_not_found");
});

Deno.test("router honours verify_jwt: no token, wrong key, and a valid token", async () => {
  assertEquals((await serve(new Request("http://x/functions/v1/needs-jwt"))).status, 401);
  const forged = await sign("another-secret-that-is-also-32-characters-long");
  const wrong = await serve(
    new Request("http://x/functions/v1/needs-jwt", { headers: { Authorization: `Bearer ${forged}` } }),
  );
  assertEquals(wrong.status, 401);
  assertEquals(seen.length, 0);
  const good = await serve(
    new Request("http://x/functions/v1/needs-jwt", {
      headers: { Authorization: `Bearer ${await sign(secret)}` },
    }),
  );
  assertEquals(good.status, 200);
  assertEquals(seen, ["/needs-jwt"]);
});

Deno.test("router passes /rest/v1 to the REST API as the gateway does: method, path, query, headers and body", async () => {
  const received: { method: string; path: string; apikey: string | null; body: string }[] = [];
  await using rest = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    received.push({
      method: req.method,
      path: url.pathname + url.search,
      apikey: req.headers.get("apikey"),
      body: await req.text(),
    });
    return Response.json({ code: "PT404", message: "no such session" }, { status: 404 });
  });
  const gateway = router(handlers, secret, `http://127.0.0.1:${rest.addr.port}`);
  const res = await gateway(
    new Request("http://x/rest/v1/rpc/answer_twilio_call?select=*", {
      method: "POST",
      headers: { apikey: "key", "Content-Type": "application/json" },
      body: '{"session":"s"}',
    }),
  );
  assertEquals([res.status, await res.json()], [404, { code: "PT404", message: "no such session" }]);
  assertEquals(received, [{
    method: "POST",
    path: "/rest/v1/rpc/answer_twilio_call?select=*",
    apikey: "key",
    body: '{"session":"s"}',
  }]);
  // Without a REST API configured, /rest/v1 is no function.
  assertEquals((await serve(new Request("http://x/rest/v1/rpc/f", { method: "POST" }))).status, 404);
});

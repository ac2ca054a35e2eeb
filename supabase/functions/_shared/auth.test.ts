// Caller authentication against the real database: user access tokens and org API keys, and every refusal.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { asCaller } from "./database.ts";
import { authenticateCaller, type Caller } from "./auth.ts";
import { signToken, withDatabase } from "../../../devstack/fixtures/test-database.ts";

const env = { SUPABASE_JWT_SECRET: Deno.env.get("SUPABASE_JWT_SECRET")! };

function request(authorization?: string, apikey?: string): Request {
  const headers = new Headers();
  if (authorization) headers.set("Authorization", authorization);
  if (apikey !== undefined) headers.set("apikey", apikey);
  return new Request("http://localhost/web-calls", { method: "POST", headers });
}

async function refusal(result: Caller | Response): Promise<[number, string]> {
  assert(result instanceof Response, "expected a refusal");
  return [result.status, (await result.json()).error.code];
}

Deno.test("a member's access token and an org API key become the claims row-level security reads", async () => {
  await withDatabase(async (db) => {
    const org = await db.createOrg();
    const { userId, token } = await db.createUser(org);
    const user = await authenticateCaller(request(`Bearer ${token}`), { env, sql: db.sql });
    assert(!(user instanceof Response));
    assertEquals([user.kind, user.orgId, user.claims.role, user.claims.sub], [
      "user",
      null,
      "authenticated",
      userId,
    ]);

    const key = await db.createApiKey(org);
    const byKey = await authenticateCaller(request(`Bearer ${key}`), { env, sql: db.sql });
    assert(!(byKey instanceof Response));
    assertEquals([byKey.kind, byKey.orgId, byKey.claims.role], ["api_key", org.orgId, "authenticated"]);
    // Through RLS the key sees its own organisation, and the user theirs.
    for (const caller of [user, byKey]) {
      const rows = await asCaller(db.sql, caller.claims, (tx) => tx`select id from public.organizations`);
      assertEquals(rows.map((r) => r.id), [org.orgId]);
    }
  });
});

Deno.test("missing, forged, expired, anonymous and non-user credentials are refused", async () => {
  await withDatabase(async (db) => {
    const org = await db.createOrg();
    const revoked = await db.createApiKey(org, { revoked: true });
    const sub = crypto.randomUUID();
    const cases: Array<[string | undefined, number, string]> = [
      [undefined, 401, "unauthenticated"],
      ["Basic dXNlcjpwYXNz", 401, "unauthenticated"],
      [`Bearer ${revoked}`, 401, "invalid_api_key"],
      ["Bearer ik_not_a_key", 401, "invalid_api_key"],
      ["Bearer not.a.jwt", 401, "invalid_token"],
      [
        `Bearer ${await signToken({ sub, role: "authenticated" }, { secret: "x".repeat(40) })}`,
        401,
        "invalid_token",
      ],
      [
        `Bearer ${await signToken({ sub, role: "authenticated" }, { expiresIn: "-1m" })}`,
        401,
        "invalid_token",
      ],
      [`Bearer ${await signToken({ role: "anon" })}`, 401, "unauthenticated"],
      [`Bearer ${await signToken({ role: "service_role" })}`, 403, "forbidden"],
      [`Bearer ${await signToken({ role: "call_agent", call_session_id: sub })}`, 403, "forbidden"],
      [`Bearer ${await signToken({ role: "authenticated" })}`, 403, "forbidden"],
    ];
    for (const [header, status, code] of cases) {
      const result = await authenticateCaller(request(header), { env, sql: db.sql });
      assertEquals(await refusal(result), [status, code], header);
    }
    const unconfigured = await authenticateCaller(
      request(`Bearer ${await signToken({ role: "authenticated" })}`),
      {
        env: {},
        sql: db.sql,
      },
    );
    assertEquals(await refusal(unconfigured), [503, "not_configured"]);
  });
});

Deno.test("a token cannot claim an API key's organisation", async () => {
  await withDatabase(async (db) => {
    const org = await db.createOrg();
    const key = await db.createApiKey(org);
    const [{ id }] = await db
      .sql`select id from public.api_keys where key_hash = extensions.digest(${key}, 'sha256')`;
    const { userId } = await db.createUser(null);
    const token = await signToken({ sub: userId, role: "authenticated", api_key_id: id });
    const caller = await authenticateCaller(request(`Bearer ${token}`), { env, sql: db.sql });
    assert(!(caller instanceof Response));
    assertEquals(caller.claims.api_key_id, undefined);
    const rows = await asCaller(db.sql, caller.claims, (tx) => tx`select id from public.organizations`);
    assertEquals(rows.length, 0);
  });
});

Deno.test("an org API key in the apikey header; a Supabase client's anon apikey leaves the bearer token in charge", async () => {
  await withDatabase(async (db) => {
    const org = await db.createOrg();
    const other = await db.createOrg();
    const key = await db.createApiKey(org);
    const { userId, token } = await db.createUser(other);

    const byHeader = await authenticateCaller(request(undefined, key), { env, sql: db.sql });
    assert(!(byHeader instanceof Response));
    assertEquals([byHeader.kind, byHeader.orgId], ["api_key", org.orgId]);

    // supabase-js sends the project's anon key as apikey and the signed-in user's token as the bearer.
    const anonKey = await signToken({ role: "anon" });
    const user = await authenticateCaller(request(`Bearer ${token}`, anonKey), { env, sql: db.sql });
    assert(!(user instanceof Response));
    assertEquals([user.kind, user.claims.sub], ["user", userId]);

    // An anon apikey alone identifies no one, and a revoked or unknown key in the header is refused.
    const revoked = await db.createApiKey(org, { revoked: true });
    const cases: Array<[string | undefined, string, number, string]> = [
      [undefined, anonKey, 401, "unauthenticated"],
      [`Bearer ${token}`, revoked, 401, "invalid_api_key"],
      [undefined, "ik_not_a_key", 401, "invalid_api_key"],
    ];
    for (const [authorization, apikey, status, code] of cases) {
      const result = await authenticateCaller(request(authorization, apikey), { env, sql: db.sql });
      assertEquals(await refusal(result), [status, code], `${authorization} / ${apikey.slice(0, 12)}`);
    }
  });
});

// The PostgREST stand-in's own promises, which every test and benchmark that talks to /rest/v1 relies on:
// one request is one transaction (all of it or nothing), a verified token is remembered only until it
// expires, and a failed request leaves its connection clean for the next. (That the role and claims are set
// before the statement runs is what every agent test under row-level security depends on.)
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { SignJWT } from "jose";
import { connectSuperuser, testEnv } from "../../fixtures/call-fixture.ts";
import { PostgrestDouble } from "./postgrest-double.ts";

const env = testEnv();
const sql = connectSuperuser(env);
let double: PostgrestDouble;
let serviceRoleKey: string;

before(async () => {
  double = await PostgrestDouble.start({ databaseUrl: env.databaseUrl, jwtSecret: env.jwtSecret });
  serviceRoleKey = await sign({ role: "service_role" });
});
after(async () => {
  await double.close();
  await sql.end();
});

function sign(claims: Record<string, unknown>, expiresAt?: number): Promise<string> {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: "HS256" });
  if (expiresAt !== undefined) jwt.setExpirationTime(expiresAt);
  return jwt.sign(new TextEncoder().encode(env.jwtSecret));
}

async function post(path: string, body: unknown, token = serviceRoleKey) {
  const res = await fetch(`${double.url}/rest/v1/${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", apikey: token, Authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

const organizationsWithSlug = async (slug: string) =>
  (await sql`select count(*)::int as n from public.organizations where slug = ${slug}`)[0].n;

describe("PostgREST stand-in", () => {
  test("a refused request writes nothing, and every connection is left clean for the requests after it", async () => {
    const slug = `pd-${randomUUID().slice(0, 8)}`;
    const duplicate = await post("organizations", [{ name: "A", slug }, { name: "B", slug }]);
    assert.equal(duplicate.status, 409);
    assert.equal(duplicate.body.code, "23505");
    assert.equal(await organizationsWithSlug(slug), 0, "the first row was rolled back with the second");

    // More requests than the pool has connections: none may find a transaction left open by the failure.
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => post("organizations", [{ name: "C", slug: `${slug}-${i}` }])),
    );
    assert.deepEqual(results.map((r) => r.status), Array(12).fill(201));
    const [{ n }] = await sql`select count(*)::int as n from public.organizations where slug like ${
      slug + "-%"
    }`;
    assert.equal(n, 12);
  });

  test("a token verified while valid is refused once it has expired", async () => {
    // Seconds of validity a slow machine's first request fits in.
    const expiresAt = Math.ceil(Date.now() / 1000) + 3;
    const token = await sign({ role: "service_role" }, expiresAt);
    const slug = `pd-${randomUUID().slice(0, 8)}`;
    assert.equal((await post("organizations", [{ name: "A", slug }], token)).status, 201);
    await new Promise((resolve) => setTimeout(resolve, expiresAt * 1000 - Date.now() + 50));
    const late = await post("organizations", [{ name: "B", slug: `${slug}-late` }], token);
    assert.equal(late.status, 401);
    assert.equal(await organizationsWithSlug(`${slug}-late`), 0);
  });
});

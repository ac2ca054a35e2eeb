// The database's wake-ups follow the functions server the stack runs (issue 13: with FUNCTIONS_PORT moved, the
// seed's project_url still named the default port, so wake-ups reached another stack or nothing).
import assert from "node:assert/strict";
import { test } from "node:test";
import postgres from "postgres";
import { pointWakeUpsAt } from "./database.mjs";

test("pointWakeUpsAt replaces Vault's project_url and dispatch_secret, every time it is called", async () => {
  const url = process.env.TEST_DATABASE_URL;
  assert.ok(url, "TEST_DATABASE_URL is set by npm test");
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  const secrets = async () =>
    Object.fromEntries(
      (await sql`select name, secret from vault.secrets where name in ('project_url', 'dispatch_secret')`)
        .map((r) => [r.name, r.secret]),
    );
  try {
    await pointWakeUpsAt(url, { projectUrl: "http://127.0.0.1:54321", dispatchSecret: "first" });
    await pointWakeUpsAt(url, { projectUrl: "http://127.0.0.1:57321", dispatchSecret: "second" });
    assert.deepEqual(await secrets(), { project_url: "http://127.0.0.1:57321", dispatch_secret: "second" });
  } finally {
    // The test database has no wake-up secrets (tests that need them set their own).
    await sql`delete from vault.secrets where name in ('project_url', 'dispatch_secret')`;
    await sql.end();
  }
});

// What the dispatch tests share: the handler's environment pointed at the doubles, authenticated requests, and
// short views of what the database and the doubles saw.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import type { Env } from "../_shared/env.ts";
import type { LiveKitDouble } from "../../../devstack/doubles/livekit/livekit-double.ts";
import type { TwilioDouble } from "../../../devstack/doubles/twilio/twilio-double.ts";
import type { TestDatabase, TestOrg } from "../../../devstack/fixtures/test-database.ts";
import type { DispatchSummary } from "./dispatcher.ts";
import { create } from "./handler.ts";

export const SECRET = "test-dispatch-secret-" + crypto.randomUUID();
export const JWT_SECRET = Deno.env.get("SUPABASE_JWT_SECRET")!;

/** For a run that reconciles the attempts left in doubt just before (instead of after the grace period). */
export const RECONCILE_NOW: Env = { DISPATCH_RECONCILE_GRACE_SECONDS: "0" };

export function envFor(lk: LiveKitDouble | null, extra: Env = {}, tw: TwilioDouble | null = null): Env {
  return {
    DISPATCH_SECRET: SECRET,
    SUPABASE_JWT_SECRET: JWT_SECRET,
    ...(lk ? { LIVEKIT_URL: lk.url, LIVEKIT_API_KEY: lk.apiKey, LIVEKIT_API_SECRET: lk.apiSecret } : {}),
    ...(tw
      ? {
        TWILIO_ACCOUNT_SID: tw.accountSid,
        TWILIO_AUTH_TOKEN: tw.authToken,
        TWILIO_API_URL: tw.url,
        PUBLIC_FUNCTIONS_URL: "https://project.supabase.co/functions/v1",
        DISPATCH_TWILIO_CPS: "1000",
      }
      : {}),
    DISPATCH_CARRIER_TIMEOUT_MS: "2000",
    // Long enough for an origination to be sent (grace - timeout - 1 s); reconciling runs use RECONCILE_NOW.
    DISPATCH_RECONCILE_GRACE_SECONDS: "5",
    ...extra,
  };
}

export function post(body: unknown, headers: Record<string, string> = {}): Request {
  return new Request("http://localhost/dispatch", {
    method: "POST",
    headers: { Authorization: `Bearer ${SECRET}`, "Content-Type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

export async function dispatch(
  db: TestDatabase,
  env: Env,
  body: unknown = { reason: "manual" },
): Promise<DispatchSummary> {
  const res = await create({ sql: db.sql, env })(post(body));
  assertEquals(res.status, 200, await res.clone().text());
  return await res.json();
}

/** The CreateDispatch requests the double answered with a dispatch, by room. */
export function dispatchedRooms(lk: LiveKitDouble): string[] {
  return lk.requests.filter((r) => r.method === "CreateDispatch" && r.status === 200).map((r) =>
    String(r.body?.room)
  );
}

export async function waitFor(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function ownCalls(db: TestDatabase, org: TestOrg) {
  return (await db.calls(org)).map((c) => `${c.status}/${c.outcome ?? "-"}/${c.attempts}`);
}

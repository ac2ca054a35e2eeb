// Calling a SQL function through the project's REST API (PostgREST `POST /rest/v1/rpc/<name>`) with the
// service-role key, as supabase-js does, without loading supabase-js or postgres.js. The Twilio webhooks
// use it: Twilio waits on a cold instance's first answer, and loading postgres.js (with the Node layer
// under it) and opening a SCRAM-authenticated connection costs more than the whole rest of the function.
// Every function gets SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY from the platform; locally the functions
// server answers /rest/v1 (devstack/functions-router/functions-server.ts).
import type { Env } from "./env.ts";

export type RestConfig = { url: string; serviceRoleKey: string };

/** The REST endpoint and key from SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY, or null when one is missing. */
export function restConfig(env: Env): RestConfig | null {
  const url = env.SUPABASE_URL?.replace(/\/+$/, "");
  const serviceRoleKey = env.SUPABASE_SERVICE_ROLE_KEY;
  return url && serviceRoleKey ? { url, serviceRoleKey } : null;
}

/**
 * An error the database raised, as PostgREST reports it: the SQLSTATE in `code`, the DETAIL in `details`
 * and the HINT in `hint`. Kept under the same field names as a postgres.js error (`detail`, `hint`), so one
 * mapping (database-errors.ts) reads both.
 */
export class PostgrestError extends Error {
  override readonly name = "PostgrestError";
  constructor(
    readonly code: string,
    message: string,
    readonly detail?: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/**
 * Calls `public.<fn>` with named arguments and returns its JSON result. Throws PostgrestError when the
 * database refused (any answer with a SQLSTATE), and a plain Error (with PostgREST's code or HTTP<status> in
 * `code`) when the API could not be reached or answered without one (the gateway or PostgREST down, a wrong
 * key): callers treat that as unavailable.
 */
export async function rpc<T>(config: RestConfig, fn: string, args: Record<string, unknown>): Promise<T> {
  const res = await fetch(`${config.url}/rest/v1/rpc/${fn}`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      apikey: config.serviceRoleKey,
      Authorization: `Bearer ${config.serviceRoleKey}`,
    },
    body: JSON.stringify(args),
  });
  const text = await res.text();
  if (res.ok) return (text ? JSON.parse(text) : null) as T;
  let body: { code?: unknown; message?: unknown; details?: unknown; hint?: unknown } = {};
  try {
    body = JSON.parse(text);
  } catch {
    // Not PostgREST's error shape: a proxy or the gateway answered.
  }
  // PostgREST's own errors (PGRSTxxx: bad JWT, schema cache, connection) carry no SQLSTATE of the database.
  if (typeof body.code === "string" && !body.code.startsWith("PGRST") && res.status < 500) {
    throw new PostgrestError(
      body.code,
      typeof body.message === "string" ? body.message : "database error",
      typeof body.details === "string" ? body.details : undefined,
      typeof body.hint === "string" ? body.hint : undefined,
    );
  }
  const code = typeof body.code === "string" ? body.code : `HTTP${res.status}`;
  throw Object.assign(new Error(`the REST API answered ${res.status} (${code})`), { code });
}

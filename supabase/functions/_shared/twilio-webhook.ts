// What the Twilio webhooks (twilio-voice, twilio-status) share: configuration, the signature gate, and the
// few request fields the database is given. Twilio signs the URL it was told to call, so verification uses
// PUBLIC_FUNCTIONS_URL (e.g. https://<ref>.supabase.co/functions/v1) + /<function> + the request's query, never
// req.url (behind the Supabase gateway the function sees another host and path). Nothing here imports the
// `twilio` package or zod: both cost tens of milliseconds on a cold start, and Twilio waits on this answer.
// The database is reached through the REST API (postgrest.ts), not postgres.js, for the same reason.
import type { Env } from "./env.ts";
import { businessErrorResponse } from "./database-errors.ts";
import { errorResponse } from "./http.ts";
import { type RestConfig, restConfig, rpc } from "./postgrest.ts";
import { publicUrlWithRequestQuery, verifyTwilioRequest } from "./twilio-signature.ts";

export type TwilioWebhookConfig = { authToken: string; publicFunctionsUrl: string; rest: RestConfig };

/** What every Twilio webhook needs configured, for the 503 that names it. */
export const WEBHOOK_SETTINGS =
  "TWILIO_AUTH_TOKEN, PUBLIC_FUNCTIONS_URL, SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY";

/** The webhook configuration, or null when one of WEBHOOK_SETTINGS is missing. */
export function twilioWebhookConfig(env: Env): TwilioWebhookConfig | null {
  const authToken = env.TWILIO_AUTH_TOKEN;
  const publicFunctionsUrl = env.PUBLIC_FUNCTIONS_URL?.replace(/\/+$/, "");
  const rest = restConfig(env);
  return authToken && publicFunctionsUrl && rest ? { authToken, publicFunctionsUrl, rest } : null;
}

export function notConfigured(names: string): Response {
  return errorResponse(503, "not_configured", `this function needs ${names}`);
}

const rejections = {
  method_not_allowed: [405, "Twilio webhooks are POST requests"],
  missing_signature: [403, "the request carries no X-Twilio-Signature"],
  invalid_signature: [403, "X-Twilio-Signature does not match this request"],
  unsupported_content_type: [415, "Twilio webhooks are application/x-www-form-urlencoded"],
} as const;

/**
 * The form parameters of a request Twilio signed for `${publicFunctionsUrl}/${functionName}?<query>`, or the
 * error response to send: 405, 403 (unsigned, forged, or replayed with other parameters or another query), 415.
 * Nothing has been written when this answers an error.
 */
export async function verifiedTwilioParams(
  req: Request,
  config: TwilioWebhookConfig,
  functionName: string,
): Promise<{ ok: true; params: Record<string, string> } | { ok: false; response: Response }> {
  const publicUrl = publicUrlWithRequestQuery(`${config.publicFunctionsUrl}/${functionName}`, req);
  const verdict = await verifyTwilioRequest(req, config.authToken, publicUrl);
  if (verdict.ok) return { ok: true, params: verdict.params };
  const [status, message] = rejections[verdict.reason];
  const headers: Record<string, string> = status === 405 ? { Allow: "POST" } : {};
  return { ok: false, response: errorResponse(status, verdict.reason, message, undefined, headers) };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CALL_SID = /^CA[0-9a-f]{32}$/;

/** The session id the dispatcher put in the webhook URL, when it is a UUID. */
export function sessionIdOf(req: Request): string | null {
  const value = new URL(req.url).searchParams.get("session_id");
  return value && UUID.test(value) ? value.toLowerCase() : null;
}

export function isCallSid(value: string | undefined): value is string {
  return value !== undefined && CALL_SID.test(value);
}

/** The request fields the database reads. Never To/From/Called/Caller: they are phone numbers (PHI). */
const FIELDS = [
  "CallSid",
  "CallStatus",
  "SequenceNumber",
  "AnsweredBy",
  "MachineDetectionDuration",
  "SipResponseCode",
  "CallDuration",
  "ErrorCode",
  "Timestamp",
] as const;

export function callFields(params: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of FIELDS) if (params[key] !== undefined) out[key] = params[key];
  return out;
}

/** One log line without PHI: the function, what happened, and ids. */
export function logWebhook(fn: string, event: string, fields: Record<string, unknown> = {}): void {
  console.warn(JSON.stringify({ fn, event, ...fields }));
}

/**
 * Runs the SQL function that owns a Twilio request's rules (`public.<sqlFunction>(session, params)`) with the
 * request's fields. A business refusal becomes its error response; anything else (the database or the REST
 * API down) a 503, so Twilio retries the request later.
 */
export async function inDatabase<T>(
  fn: string,
  config: TwilioWebhookConfig,
  sqlFunction: string,
  session: string,
  params: Record<string, string>,
): Promise<T | Response> {
  try {
    return await rpc<T>(config.rest, sqlFunction, { session, params: callFields(params) });
  } catch (err) {
    const business = businessErrorResponse(err);
    if (business) return business;
    // The SQLSTATE, PostgREST's code or HTTP<status>; no message (a database message can quote values).
    const code = (err as { code?: string }).code ?? (err instanceof TypeError ? "unreachable" : "unknown");
    logWebhook(fn, "database_error", { session_id: session, code });
    return errorResponse(503, "database_unavailable", "the request could not be recorded; try again");
  }
}

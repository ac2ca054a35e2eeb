// The webhooks the platform POSTs to an organisation's app (organizations.webhook_url), and how the app checks
// them. The scheme is Standard Webhooks (https://www.standardwebhooks.com), followed exactly, so its libraries
// verify them too:
//
//   POST <webhook_url>
//   Content-Type: application/json
//   Webhook-Id: <delivery id>          the same on every retry of one event: deduplicate on it
//   Webhook-Timestamp: <unix seconds>  when this attempt was sent; reject it when more than 5 minutes off
//   Webhook-Signature: v1,<base64 HMAC-SHA256(key, "<Webhook-Id>.<Webhook-Timestamp>.<body>")>
//
// The key is the org's secret `whsec_<base64>` (public.webhook_signing_secret(org)) with the prefix removed,
// base64-decoded. The header may hold several space-separated signatures; one valid `v1` is enough. The body
// is `{ type, timestamp, data }` (AppWebhook below); events are not ordered, `timestamp` says when each happened.
// Web Crypto only, so the same code runs in Deno (the webhooks function) and in Node (an app).
import { base64, timingSafeEqual } from "./bytes.ts";
import { z } from "zod";
import { AnsweredBy, CallOutcome, IntakeCallStatus } from "./enums.ts";

export const WEBHOOK_TOLERANCE_SECONDS = 5 * 60;

/** The event types the platform sends today; receivers should ignore types they do not know. */
export const APP_WEBHOOK_EVENT_TYPES = [
  "call.queued",
  "call.dialing",
  "call.answered",
  "call.retry_scheduled",
  "call.completed",
  "call.failed",
  "call.cancelled",
  "call.expired",
  "call.opted_out",
] as const;

export const AppWebhook = z.object({
  /** One of APP_WEBHOOK_EVENT_TYPES, or a type added later. */
  type: z.string().regex(/^call\.[a-z_]+$/),
  /** When the event happened (ISO 8601). */
  timestamp: z.string().min(1),
  data: z.looseObject({
    intake_call_id: z.uuid(),
    status: IntakeCallStatus,
    outcome: CallOutcome.nullable(),
    attempts: z.number().int().nonnegative(),
    external_ref: z.string().nullable(),
    /** call.dialing, call.answered: the attempt. */
    session_id: z.uuid().optional(),
    /** call.answered. */
    answered_by: AnsweredBy.nullable().optional(),
    /** call.retry_scheduled. */
    last_outcome: CallOutcome.optional(),
    next_attempt_at: z.string().optional(),
    /** Final events: the structured answers collected. */
    results: z.record(z.string(), z.unknown()).optional(),
  }),
});
export type AppWebhook = z.infer<typeof AppWebhook>;

const encoder = new TextEncoder();

function keyBytes(secret: string): Uint8Array<ArrayBuffer> {
  const base64 = secret.startsWith("whsec_") ? secret.slice("whsec_".length) : secret;
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  if (bytes.length === 0) throw new TypeError("the webhook secret is empty");
  return bytes;
}

/** The Webhook-Signature value `v1,<base64>` for a message. `secret` is `whsec_<base64>` (or the bare base64). */
export async function signWebhook(
  secret: string,
  id: string,
  timestamp: number,
  body: string,
): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    keyBytes(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    [
      "sign",
    ],
  );
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(`${id}.${timestamp}.${body}`));
  return `v1,${base64(new Uint8Array(mac))}`;
}

function header(headers: Headers | Record<string, string | undefined>, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === name) return value;
  return undefined;
}

/**
 * True when the request's Webhook-Id, Webhook-Timestamp and Webhook-Signature headers prove `body` (the raw
 * body, exactly as received) came from the platform: some `v1` signature matches, and the timestamp is within
 * `toleranceSeconds` (default 5 minutes) of `now` (unix seconds). Missing or malformed headers are false.
 */
export async function verifyWebhookSignature(opts: {
  secret: string;
  headers: Headers | Record<string, string | undefined>;
  body: string;
  now?: number;
  toleranceSeconds?: number;
}): Promise<boolean> {
  const id = header(opts.headers, "webhook-id");
  const timestampHeader = header(opts.headers, "webhook-timestamp");
  const signatures = header(opts.headers, "webhook-signature");
  if (!id || !timestampHeader || !signatures || !/^\d+$/.test(timestampHeader)) return false;
  const timestamp = Number(timestampHeader);
  const now = opts.now ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - timestamp) > (opts.toleranceSeconds ?? WEBHOOK_TOLERANCE_SECONDS)) return false;
  const expected = (await signWebhook(opts.secret, id, timestamp, opts.body)).slice("v1,".length);
  let valid = false;
  for (const versioned of signatures.split(" ")) {
    const [version, signature] = versioned.split(",");
    if (version === "v1" && signature !== undefined && timingSafeEqual(signature, expected)) valid = true;
  }
  return valid;
}

// POST /functions/v1/webhooks: delivers the outbox (webhook_deliveries) to each org's app. Called by the
// scheduler tick (pg_cron through pg_net) with `Authorization: Bearer <dispatch secret>` when deliveries are
// due; any body is accepted and ignored. Deliveries are claimed in SQL under a lease (claim_webhook_deliveries),
// sent CONCURRENCY at a time, each with a timeout, and their results recorded (complete_webhook_delivery:
// delivered, retried with backoff, or dead after the platform's maximum). Runs until nothing is due or the
// time budget is spent (the next tick takes the rest), and answers the counts.
//
// Each request follows Standard Webhooks (see shared/src/app-webhook.ts, which apps use to verify it):
//   Content-Type: application/json
//   Webhook-Id: <delivery id, the same on every retry>
//   Webhook-Timestamp: <unix seconds of this attempt>
//   Webhook-Signature: v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>
//                      (and ` v1,<...>` with the previous key while a rotation's overlap lasts)
// Redirects are not followed (a 3xx is a failed attempt), and the receiver's body is never read or stored.
// Only HTTPS to public addresses is sent (_shared/webhook-destination.ts); a URL that is not one is a failed
// attempt, retried like any other in case the org fixes it. WEBHOOK_ALLOW_PRIVATE_URLS=true lifts this for
// local development, where the receiver is on loopback.
import { signWebhook } from "../../../shared/src/app-webhook.ts";
import type { DeliveryStatus } from "../../../shared/src/enums.ts";
import type { Sql } from "../_shared/database.ts";
import type { CreateHandler } from "../_shared/deps.ts";
import { type Env, numberSetting } from "../_shared/env.ts";
import { presentsDispatchSecret } from "../_shared/dispatch-secret.ts";
import { errorResponse, json } from "../_shared/http.ts";
import { checkWebhookDestination } from "../_shared/webhook-destination.ts";

type ClaimedDelivery = {
  id: string;
  claim_token: string;
  url: string;
  signing_secret: string;
  /** The secret a rotation replaced, while its overlap lasts: it signs too. */
  previous_signing_secret: string | null;
  body: string;
  attempt: number;
};

/** What one attempt leaves the delivery as (webhook_deliveries.status). */
type Outcome = DeliveryStatus;

const USER_AGENT = "intake-calls-webhooks/1";

function settings(env: Env) {
  const whole = (name: string, fallback: number) => Math.floor(numberSetting(env, name, fallback, 1));
  const timeoutMs = whole("WEBHOOK_TIMEOUT_MS", 10_000);
  return {
    timeoutMs,
    concurrency: whole("WEBHOOK_CONCURRENCY", 8),
    budgetMs: whole("WEBHOOK_BUDGET_MS", 20_000),
    allowPrivate: env.WEBHOOK_ALLOW_PRIVATE_URLS === "true",
    // Longer than one round of attempts can take, so a live deliverer never loses its claim.
    leaseSeconds: Math.ceil(timeoutMs / 1000) + 30,
  };
}

/** `v1,<sig>` with the org's secret, then ` v1,<sig>` with the previous one during a rotation's overlap. */
async function signatures(delivery: ClaimedDelivery, timestamp: number): Promise<string> {
  const secrets = [delivery.signing_secret, delivery.previous_signing_secret].filter((s) => s !== null);
  const signed = await Promise.all(
    secrets.map((secret) => signWebhook(secret, delivery.id, timestamp, delivery.body)),
  );
  return signed.join(" ");
}

/** One attempt: the HTTP status, or the reason no status came back (no PHI: the body is not kept). */
async function send(
  delivery: ClaimedDelivery,
  timeoutMs: number,
  allowPrivate: boolean,
): Promise<{ status: number | null; error: string | null }> {
  const destination = await checkWebhookDestination(delivery.url, { allowPrivate });
  if (!destination.ok) return { status: null, error: `destination not allowed: ${destination.reason}` };
  const timestamp = Math.floor(Date.now() / 1000);
  try {
    const res = await fetch(delivery.url, {
      method: "POST",
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
      headers: {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Webhook-Id": delivery.id,
        "Webhook-Timestamp": String(timestamp),
        "Webhook-Signature": await signatures(delivery, timestamp),
      },
      body: delivery.body,
    });
    await res.body?.cancel();
    return { status: res.status, error: null };
  } catch (err) {
    const name = (err as Error).name;
    return {
      status: null,
      error: name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : "connection failed",
    };
  }
}

async function deliver(
  sql: Sql,
  delivery: ClaimedDelivery,
  timeoutMs: number,
  allowPrivate: boolean,
): Promise<Outcome> {
  const { status, error } = await send(delivery, timeoutMs, allowPrivate);
  const [row] = await sql`
    select public.complete_webhook_delivery(${delivery.id}, ${delivery.claim_token}, ${status}, ${error}) as outcome`;
  return row.outcome;
}

export const create: CreateHandler = ({ env, sql }) => {
  const secret = env.DISPATCH_SECRET;
  const { timeoutMs, concurrency, budgetMs, leaseSeconds, allowPrivate } = settings(env);

  return async (req: Request): Promise<Response> => {
    if (!secret) return errorResponse(503, "not_configured", "this function needs DISPATCH_SECRET");
    if (req.method !== "POST") {
      return errorResponse(405, "method_not_allowed", "webhooks answers POST only", undefined, {
        Allow: "POST",
      });
    }
    if (!(await presentsDispatchSecret(req, secret))) {
      return errorResponse(
        401,
        "unauthorized",
        "a valid Authorization: Bearer <dispatch secret> is required",
        undefined,
        {
          "WWW-Authenticate": "Bearer",
        },
      );
    }
    await req.body?.cancel();

    const counts: Record<Outcome, number> = { delivered: 0, pending: 0, dead: 0 };
    const started = Date.now();
    try {
      while (Date.now() - started < budgetMs) {
        const batch = await sql<ClaimedDelivery[]>`
          select * from public.claim_webhook_deliveries(${concurrency}, ${leaseSeconds})`;
        if (batch.length === 0) break;
        for (const outcome of await Promise.all(batch.map((d) => deliver(sql, d, timeoutMs, allowPrivate)))) {
          counts[outcome]++;
        }
      }
    } catch (err) {
      console.warn(
        JSON.stringify({ fn: "webhooks", event: "database_error", code: (err as { code?: string }).code }),
      );
      return errorResponse(
        503,
        "database_unavailable",
        "deliveries could not be claimed or recorded",
        counts,
      );
    }
    return json({ delivered: counts.delivered, retrying: counts.pending, dead: counts.dead });
  };
};

// POST /functions/v1/dispatch: wakes the dispatcher. Called by the database only (the pg_cron scheduler tick
// with the calls it claimed, the insert trigger without claims), never by apps: the caller must present
// `Authorization: Bearer <DISPATCH_SECRET>` (the Vault secret `dispatch_secret` on the database side).
// Answers with counts per result (no PHI) once the run is over.
//
// Settings: DISPATCH_SECRET (required), DISPATCH_CONCURRENCY (calls originated at once, default 8),
// DISPATCH_CLAIM_BATCH (calls per claim, default the platform's dispatch_batch_size), DISPATCH_RUN_BUDGET_MS
// (default 25000: the run answers before pg_net's 30 s timeout), DISPATCH_RECONCILE_GRACE_SECONDS (default
// twice the carrier timeout plus 5 s; keep it above the carrier timeout plus a second: an origination must have
// ended before reconciliation may ask about it), and the carriers' settings (../_shared/carriers/index.ts).
import { DispatchRequest } from "../../../shared/src/dispatch-request.ts";
import { carriersFor, carrierTimeoutMs } from "../_shared/carriers/index.ts";
import type { CreateHandler } from "../_shared/deps.ts";
import { numberSetting } from "../_shared/env.ts";
import { errorResponse, json } from "../_shared/http.ts";
import { apiErrorResponse } from "../_shared/database-errors.ts";
import { presentsDispatchSecret } from "../_shared/dispatch-secret.ts";
import { isApiError, readJson, validationError } from "../_shared/request-body.ts";
import { Dispatcher } from "./dispatcher.ts";

/** The largest body accepted: 1,000 claims of two UUIDs are about 100 kB. */
const MAX_BODY_BYTES = 256 * 1024;

export const create: CreateHandler = ({ env, sql }) => {
  let dispatcher: Promise<Dispatcher> | null = null;
  const build = async () => {
    const carriers = await carriersFor(env, sql);
    return new Dispatcher(sql, carriers, {
      concurrency: Math.floor(numberSetting(env, "DISPATCH_CONCURRENCY", 8)),
      claimBatch: env.DISPATCH_CLAIM_BATCH
        ? Math.floor(numberSetting(env, "DISPATCH_CLAIM_BATCH", 50))
        : null,
      runBudgetMs: numberSetting(env, "DISPATCH_RUN_BUDGET_MS", 25_000),
      reconcileGraceSeconds: Math.ceil(
        numberSetting(
          env,
          "DISPATCH_RECONCILE_GRACE_SECONDS",
          Math.ceil((2 * carrierTimeoutMs(env)) / 1000) + 5,
          0,
        ),
      ),
      carrierTimeoutMs: carrierTimeoutMs(env),
      reconcileBatch: 100,
      jwtSecret: env.SUPABASE_JWT_SECRET!,
    });
  };

  return async (req: Request): Promise<Response> => {
    if (req.method !== "POST") {
      return errorResponse(405, "method_not_allowed", "dispatch answers POST only", undefined, {
        Allow: "POST",
      });
    }
    if (!env.DISPATCH_SECRET || !env.SUPABASE_JWT_SECRET) {
      return errorResponse(503, "not_configured", "the dispatcher is not configured (DISPATCH_SECRET)");
    }
    if (!(await presentsDispatchSecret(req, env.DISPATCH_SECRET))) {
      return errorResponse(401, "unauthorized", "the dispatch secret is missing or wrong", undefined, {
        "WWW-Authenticate": "Bearer",
      });
    }
    // pg_net and the scheduler post a JSON body; an empty one is a plain "dispatch what is due".
    const body = await readJson(req, MAX_BODY_BYTES, { empty: {} });
    if (isApiError(body)) return apiErrorResponse(body);
    const parsed = DispatchRequest.safeParse(body.value);
    if (!parsed.success) return apiErrorResponse(validationError(parsed.error.issues));

    dispatcher ??= build();
    try {
      return json(await (await dispatcher).run(parsed.data), 200, { "Cache-Control": "no-store" });
    } catch (error) {
      console.error(
        JSON.stringify({ event: "dispatch.run_failed", error: error instanceof Error ? error.name : "" }),
      );
      return errorResponse(503, "database_unavailable", "the dispatcher could not reach the database");
    }
  };
};

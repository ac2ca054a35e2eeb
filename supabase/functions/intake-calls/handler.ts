// /functions/v1/intake-calls: the public API apps call (see openapi.ts for the full description).
// Parse, authenticate (org API key or member JWT), run as the caller under a rate limit, respond.
import { authenticateCaller, type Caller } from "../_shared/auth.ts";
import { type Carriers, carriersFor } from "../_shared/carriers/index.ts";
import { asCaller } from "../_shared/database.ts";
import { databaseErrorResponse } from "../_shared/database-errors.ts";
import type { CreateHandler, FunctionDeps } from "../_shared/deps.ts";
import { errorResponse, json, preflight } from "../_shared/http.ts";
import { callAction } from "./actions.ts";
import { createCalls, type RunAsCaller } from "./create.ts";
import { openApiDocument } from "./openapi.ts";
import { getCall, listCalls } from "./read.ts";

type Route =
  | { name: "openapi" | "create" | "list" }
  | { name: "get"; ref: string }
  | { name: "action"; id: string; action: "cancel" | "escalate" | "terminate" };

/** The path below the function's own segment, e.g. `/intake-calls/<id>/cancel` → [id, "cancel"]. */
function route(req: Request): Route | Response {
  const segments = new URL(req.url).pathname.split("/").filter(Boolean);
  const at = segments.indexOf("intake-calls");
  const rest = segments.slice(at + 1).map(decodeURIComponent);
  const allow = (methods: string) =>
    errorResponse(405, "method_not_allowed", `use ${methods}`, undefined, { Allow: methods });
  if (rest.length === 0) {
    if (req.method === "POST") return { name: "create" };
    if (req.method === "GET") return { name: "list" };
    return allow("GET, POST");
  }
  if (rest.length === 1 && rest[0] === "openapi.json") {
    return req.method === "GET" ? { name: "openapi" } : allow("GET");
  }
  if (rest.length === 1) return req.method === "GET" ? { name: "get", ref: rest[0] } : allow("GET");
  if (rest.length === 2 && (rest[1] === "cancel" || rest[1] === "escalate" || rest[1] === "terminate")) {
    return req.method === "POST" ? { name: "action", id: rest[0], action: rest[1] } : allow("POST");
  }
  return errorResponse(
    404,
    "route_not_found",
    "no such endpoint; see /functions/v1/intake-calls/openapi.json",
  );
}

/** Runs `fn` as the caller after taking a token from its rate-limit bucket (429 when empty). */
function runner(deps: FunctionDeps, caller: Caller): RunAsCaller {
  return async (fn) => {
    try {
      return await asCaller(deps.sql, caller.claims, async (tx) => {
        const [{ wait }] = await tx<{ wait: number }[]>`select public.consume_api_rate_limit(1) as wait`;
        if (wait > 0) {
          return errorResponse(429, "rate_limited", "too many requests; slow down", {
            retry_after_seconds: Math.ceil(wait),
          }, { "Retry-After": String(Math.ceil(wait)) });
        }
        return await fn(tx);
      });
    } catch (err) {
      return databaseErrorResponse(err);
    }
  };
}

export const create: CreateHandler = (deps) => {
  // Built on first use: only cancel/escalate/terminate of a live call talk to a carrier.
  let carriers: Promise<Carriers> | null = null;
  const carriersOnce = () => (carriers ??= carriersFor(deps.env, deps.sql));
  return async (req: Request): Promise<Response> => {
    const cors = preflight(req);
    if (cors) return cors;
    const r = route(req);
    if (r instanceof Response) return r;
    if (r.name === "openapi") return json(openApiDocument(new URL(req.url)));
    const caller = await authenticateCaller(req, deps);
    if (caller instanceof Response) return caller;
    const run = runner(deps, caller);
    switch (r.name) {
      case "create":
        return await createCalls(req, caller, run);
      case "list":
        return await listCalls(new URL(req.url), run);
      case "get":
        return await getCall(r.ref, run);
      case "action":
        return await callAction(req, r.id, r.action, run, carriersOnce);
    }
  };
};

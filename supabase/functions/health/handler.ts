// GET /functions/v1/health: readiness for load balancers and monitoring (seed 000's shape).
// The database is checked with a real query; the integrations report whether they are configured.
import type { HealthResponse } from "../../../shared/src/health.ts";
import type { Sql } from "../_shared/database.ts";
import type { CreateHandler } from "../_shared/deps.ts";
import { integrations } from "../_shared/env.ts";
import { errorResponse, json, preflight } from "../_shared/http.ts";

const DATABASE_TIMEOUT_MS = 2_000;

export const create: CreateHandler = (deps) => {
  return async (req: Request): Promise<Response> => {
    const cors = preflight(req);
    if (cors) return cors;
    if (req.method !== "GET" && req.method !== "HEAD") {
      return errorResponse(405, "method_not_allowed", "health answers GET only", undefined, { Allow: "GET" });
    }
    const database = await checkDatabase(deps.sql);
    const configured = integrations(deps.env);
    const state = (on: boolean) => (on ? "configured" : "not_configured");
    const body: HealthResponse = {
      status: database === "ok" ? "ok" : "degraded",
      database,
      livekit: state(configured.livekit),
      twilio: state(configured.twilio),
      langfuse: state(configured.langfuse),
    };
    return json(body, database === "ok" ? 200 : 503, { "Cache-Control": "no-store" });
  };
};

async function checkDatabase(sql: Sql): Promise<"ok" | "unreachable"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("timeout")), DATABASE_TIMEOUT_MS);
    });
    const [row] = await Promise.race([sql`select 1 as up`, timeout]);
    return row.up === 1 ? "ok" : "unreachable";
  } catch {
    return "unreachable";
  } finally {
    clearTimeout(timer);
  }
}

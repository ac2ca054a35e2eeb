// Business errors raised in SQL by private.fail(): SQLSTATE PT<http status>, MESSAGE for humans, DETAIL the
// machine code, HINT the details as JSON (PostgREST's convention, which the edge functions follow too).
import { errorResponse } from "./http.ts";

export type BusinessError = { status: number; code: string; message: string; details?: unknown };

/** The business error `error` carries, or null for anything else (a bug, the database being down...). */
export function businessError(error: unknown): BusinessError | null {
  const e = error as { code?: unknown; detail?: unknown; message?: unknown; hint?: unknown } | null;
  if (typeof e?.code !== "string") return null;
  const match = /^PT(\d{3})$/.exec(e.code);
  if (!match) return null;
  let details: unknown;
  if (typeof e.hint === "string" && e.hint !== "") {
    try {
      details = JSON.parse(e.hint);
    } catch {
      details = undefined;
    }
  }
  return {
    status: Number(match[1]),
    code: typeof e.detail === "string" && e.detail ? e.detail : "business_error",
    message: typeof e.message === "string" ? e.message : "request refused",
    ...(details === undefined ? {} : { details }),
  };
}

/** The error envelope for a business error, or null when `error` is not one. */
export function businessErrorResponse(error: unknown): Response | null {
  const e = businessError(error);
  return e ? errorResponse(e.status, e.code, e.message, e.details) : null;
}

// Business errors raised by private.fail (SQLSTATE PT<http status>, DETAIL = machine code, HINT = details json)
// turned into the API's error envelope, the way PostgREST maps PTxxx to HTTP xxx.
import { errorResponse } from "./http.ts";

type PostgresError = { code?: string; message?: string; detail?: string; hint?: string };

/** The error response for a business error, or null when `err` is something else (a bug, the database down). */
export function businessErrorResponse(err: unknown): Response | null {
  const e = (err ?? {}) as PostgresError;
  const status = /^PT(\d{3})$/.exec(e.code ?? "")?.[1];
  if (!status) return null;
  let details: unknown;
  try {
    details = e.hint ? JSON.parse(e.hint) : undefined;
  } catch {
    details = undefined;
  }
  return errorResponse(Number(status), e.detail || "error", e.message ?? "", details);
}

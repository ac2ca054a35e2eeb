// Turning database errors into API errors. Business errors raised by `private.fail` carry SQLSTATE
// PTxxx (HTTP xxx, as PostgREST maps them) with the machine code in DETAIL and details in HINT.
// Other errors are answered by class without their text: Postgres messages can quote row values (PHI).
// Duck-typed rather than `instanceof postgres.PostgresError`: the same rules read an error raised through
// postgres.js and one reported by the REST API (postgrest.ts), which the Twilio webhooks use.
import { errorResponse } from "./http.ts";

type PostgresError = {
  name: "PostgresError" | "PostgrestError";
  code: string;
  message: string;
  detail?: string;
  hint?: string;
  constraint_name?: string;
};

function isPostgresError(err: unknown): err is PostgresError {
  const name = typeof err === "object" && err !== null ? (err as { name?: unknown }).name : undefined;
  return name === "PostgresError" || name === "PostgrestError";
}

const UNAVAILABLE = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "57P01", // admin shutdown
  "57P03", // cannot connect now
  "53300", // too many connections
]);

function isBusinessError(err: unknown): err is PostgresError {
  return isPostgresError(err) && /^PT\d{3}$/.test(err.code);
}

/** An API error: what a single request answers, and what a batch reports per item. */
export type ApiError = {
  status: number;
  code: string;
  message: string;
  details?: unknown;
  headers?: Record<string, string>;
};

export function describeDatabaseError(err: unknown): ApiError {
  if (isBusinessError(err)) {
    let details: unknown;
    try {
      details = err.hint ? JSON.parse(err.hint) : undefined;
    } catch {
      details = undefined;
    }
    return { status: Number(err.code.slice(2)), code: err.detail || "error", message: err.message, details };
  }
  const code = (err as { code?: string })?.code ?? "";
  if (UNAVAILABLE.has(code) || (err instanceof Error && /connect|ECONN|timeout/i.test(err.message))) {
    return {
      status: 503,
      code: "database_unavailable",
      message: "the database is unavailable; retry later",
      headers: { "Retry-After": "5" },
    };
  }
  if (isPostgresError(err)) {
    if (code === "23505") {
      return { status: 409, code: "conflict", message: "a conflicting record already exists" };
    }
    if (code === "23503") {
      return { status: 422, code: "reference_not_found", message: "a referenced record does not exist" };
    }
    if (code === "23514" || code === "23502") {
      return {
        status: 422,
        code: "constraint_violation",
        message: "the request breaks a rule of the data",
        details: { constraint: err.constraint_name },
      };
    }
    if (code.startsWith("22")) {
      return { status: 400, code: "invalid_value", message: "a value has the wrong form" };
    }
    if (code === "42501") return { status: 403, code: "forbidden", message: "not allowed" };
  }
  // Unexpected: logged by code only (no message: it may quote data), answered as our fault.
  console.error(JSON.stringify({ level: "error", msg: "unexpected database error", code }));
  return { status: 500, code: "internal_error", message: "unexpected error" };
}

export function apiErrorResponse(e: ApiError): Response {
  return errorResponse(e.status, e.code, e.message, e.details, e.headers);
}

export function databaseErrorResponse(err: unknown): Response {
  return apiErrorResponse(describeDatabaseError(err));
}

/** The response for a business error, or null when `err` is something else (a bug, the database down). */
export function businessErrorResponse(err: unknown): Response | null {
  return isBusinessError(err) ? databaseErrorResponse(err) : null;
}

/** The business error `err` carries (as the API answers it), or null for anything else. */
export function businessError(err: unknown): ApiError | null {
  return isBusinessError(err) ? describeDatabaseError(err) : null;
}

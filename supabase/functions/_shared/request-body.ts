// Reading a request body with a size cap (413 before the whole body is buffered), a JSON parse that answers
// 400 instead of throwing, and the one 400 every endpoint gives for a body its zod schema refuses.
import type { ApiError } from "./database-errors.ts";

export async function readBody(req: Request, maxBytes: number): Promise<Uint8Array | ApiError> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  const tooLarge: ApiError = {
    status: 413,
    code: "payload_too_large",
    message: `the body is larger than ${maxBytes} bytes`,
  };
  if (declared > maxBytes) return tooLarge;
  if (!req.body) return new Uint8Array();
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      return tooLarge;
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

export function parseJson(body: Uint8Array): { value: unknown } | ApiError {
  try {
    return { value: JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body)) };
  } catch {
    return { status: 400, code: "invalid_json", message: "the body is not valid JSON" };
  }
}

export function isApiError(x: unknown): x is ApiError {
  return typeof x === "object" && x !== null && "status" in x && "code" in x && "message" in x;
}

/**
 * A JSON body: 413 over `maxBytes`, 415 unless it is application/json, 400 when it does not parse. Where the body
 * is optional, an empty one is `opts.empty` whatever its content type.
 */
export async function readJson(
  req: Request,
  maxBytes: number,
  opts: { empty?: unknown } = {},
): Promise<{ value: unknown } | ApiError> {
  const body = await readBody(req, maxBytes);
  if (isApiError(body)) return body;
  if (body.byteLength === 0 && "empty" in opts) return { value: opts.empty };
  const mediaType = (req.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
  if (mediaType !== "application/json") {
    return { status: 415, code: "unsupported_media_type", message: "send the body as application/json" };
  }
  return parseJson(body);
}

/** The 400 for a body (or query) its schema refuses, with zod's issues as `details`. */
export function validationError(issues: { path: PropertyKey[]; message: string; code: string }[]): ApiError {
  return {
    status: 400,
    code: "validation_failed",
    message: "the request body is not valid",
    details: issues.map((i) => ({ path: i.path.map(String).join("."), code: i.code, message: i.message })),
  };
}

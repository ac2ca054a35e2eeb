// Reading a request body with a size cap (413 before the whole body is buffered) and a JSON parse
// that answers 400 instead of throwing.
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

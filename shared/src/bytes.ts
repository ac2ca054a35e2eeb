// Byte helpers of the signatures and digests (app webhooks, Twilio's X-Twilio-Signature, request hashes), with Web Crypto only so
// the Deno functions and the Node worker share them, and nothing to load on a webhook's cold path.

const encoder = new TextEncoder();

/**
 * Standard base64 of `bytes`. `Uint8Array.prototype.toBase64` where the runtime has it (Deno): a cold Deno's
 * first `btoa` costs ~0.7 ms, a twentieth of a Twilio webhook's own cold start; `btoa` elsewhere (Node 20).
 */
export function base64(bytes: Uint8Array): string {
  const native = (bytes as Uint8Array & { toBase64?: () => string }).toBase64;
  if (native) return native.call(bytes);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** Lowercase hex of `bytes`. */
function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Lowercase hex SHA-256 of the UTF-8 of `text`. */
export async function sha256Hex(text: string): Promise<string> {
  return hex(new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text))));
}

/** Compares two strings' UTF-8 bytes in time independent of where they differ (like the `scmp` package). */
export function timingSafeEqual(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  if (x.length !== y.length) return false;
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= x[i] ^ y[i];
  return diff === 0;
}

// The database's own calls (the pg_cron tick and the insert trigger, through pg_net) to the `dispatch` and
// `webhooks` functions carry `Authorization: Bearer <DISPATCH_SECRET>` (the Vault secret `dispatch_secret`).
import { bearerToken } from "./jwt.ts";

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}

/**
 * Whether the request presents the dispatch secret. Compared as SHA-256 digests, in time independent of where
 * (or whether, by length) the presented value differs.
 */
export async function presentsDispatchSecret(req: Request, secret: string): Promise<boolean> {
  const presented = bearerToken(req);
  const [a, b] = await Promise.all([sha256(presented ?? ""), sha256(secret)]);
  let diff = presented === null ? 1 : 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

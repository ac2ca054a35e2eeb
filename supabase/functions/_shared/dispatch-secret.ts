// The database's own calls (the pg_cron tick and the insert trigger, through pg_net) to the `dispatch` and
// `webhooks` functions carry `Authorization: Bearer <DISPATCH_SECRET>` (the Vault secret `dispatch_secret`).
import { sha256Hex, timingSafeEqual } from "../../../shared/src/bytes.ts";
import { bearerToken } from "./jwt.ts";

/**
 * Whether the request presents the dispatch secret. Compared as SHA-256 digests (equal lengths), in time
 * independent of where the presented value differs.
 */
export async function presentsDispatchSecret(req: Request, secret: string): Promise<boolean> {
  const presented = bearerToken(req);
  if (presented === null) return false;
  const [a, b] = await Promise.all([sha256Hex(presented), sha256Hex(secret)]);
  return timingSafeEqual(a, b);
}

// Who is calling the public API: an org API key (server to server) or a Supabase Auth user JWT of an
// org member, in `Authorization: Bearer …` or `apikey: …`. The result is the claims the request then
// runs under in the database (role `authenticated`, plus `api_key_id` for keys), so row-level
// security, not this file, decides which organisations' rows the caller reaches.
import type { Claims } from "./database.ts";
import { databaseErrorResponse } from "./database-errors.ts";
import type { FunctionDeps } from "./deps.ts";
import { required } from "./env.ts";
import { errorResponse } from "./http.ts";
import { bearerToken, verifySupabaseJwt } from "./jwt.ts";

export const API_KEY_PREFIX = "ik_";

export type Caller =
  | { kind: "api_key"; claims: Claims; apiKeyId: string; orgId: string }
  | { kind: "user"; claims: Claims; userId: string };

/** The caller, or the 401/403/503 response to send. */
export async function authenticateCaller(req: Request, deps: FunctionDeps): Promise<Caller | Response> {
  const bearer = bearerToken(req);
  const apikey = req.headers.get("apikey")?.trim() || null;
  const key = [bearer, apikey].find((t) => t?.startsWith(API_KEY_PREFIX));
  if (key) {
    try {
      const [row] = await deps.sql<{ api_key_id: string; org_id: string }[]>`
        select api_key_id, org_id from public.authenticate_api_key(${key})`;
      if (!row) return errorResponse(401, "invalid_api_key", "the API key is unknown or revoked");
      return {
        kind: "api_key",
        apiKeyId: row.api_key_id,
        orgId: row.org_id,
        claims: { role: "authenticated", api_key_id: row.api_key_id },
      };
    } catch (err) {
      return databaseErrorResponse(err);
    }
  }
  if (!bearer) {
    return errorResponse(
      401,
      "authentication_required",
      "send an org API key or a user access token (Authorization: Bearer …)",
      undefined,
      { "WWW-Authenticate": "Bearer" },
    );
  }
  const claims = await verifySupabaseJwt(bearer, required(deps.env, "SUPABASE_JWT_SECRET"));
  if (!claims) return errorResponse(401, "invalid_token", "the access token is invalid or expired");
  if (claims.role !== "authenticated" || typeof claims.sub !== "string") {
    // The anon key is not a user; a service-role key must not be used from apps.
    return claims.role === "anon"
      ? errorResponse(401, "authentication_required", "sign in as an org member or use an org API key")
      : errorResponse(403, "forbidden", "use a user access token or an org API key");
  }
  return { kind: "user", userId: claims.sub, claims: { ...claims, role: "authenticated", sub: claims.sub } };
}

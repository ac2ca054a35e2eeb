// Who is calling an app-facing function (web-calls, intake-calls, ...). Two kinds of credential, sent as
// `Authorization: Bearer <credential>` (an API key may also come as `apikey: <key>`, where Supabase
// clients put keys):
//   - a Supabase Auth user's JWT (HS256 with the project's JWT secret, role `authenticated`): the user acts for
//     the organisations they are a member of;
//   - an org API key (`ik_...`), resolved by public.authenticate_api_key as service_role: the request then runs
//     as `authenticated` with the claim `api_key_id`, which row-level security honours while the key is not
//     revoked, for the key's one organisation.
// The claims returned go to asCaller(), so the database decides what the caller may touch. Functions using this
// set `verify_jwt = false` in supabase/config.toml (an API key is not a JWT) and call it first.
import { asCaller, type Claims, type Sql } from "./database.ts";
import type { Env } from "./env.ts";
import { databaseErrorResponse } from "./database-errors.ts";
import { errorResponse } from "./http.ts";
import { bearerToken, verifySupabaseJwt } from "./jwt.ts";

export type Caller = {
  claims: Claims;
  kind: "user" | "api_key";
  /** The organisation of an API key (a user may belong to several: the request names one). */
  orgId: string | null;
};

export const API_KEY_PREFIX = "ik_";

function unauthenticated(code: string, message: string): Response {
  return errorResponse(401, code, message, undefined, { "WWW-Authenticate": 'Bearer realm="intake-calls"' });
}

/** The caller's claims, or the error response to send (401, 403, 503). */
export async function authenticateCaller(
  req: Request,
  deps: { env: Env; sql: Sql },
): Promise<Caller | Response> {
  const apikey = req.headers.get("apikey")?.trim();
  const credential = apikey?.startsWith(API_KEY_PREFIX) ? apikey : bearerToken(req);
  if (!credential) {
    return unauthenticated(
      "unauthenticated",
      "send a user access token or an org API key as Authorization: Bearer",
    );
  }

  if (credential.startsWith(API_KEY_PREFIX)) {
    let rows: { api_key_id: string; org_id: string }[];
    try {
      rows = await asCaller(
        deps.sql,
        { role: "service_role" },
        (tx) =>
          tx<{ api_key_id: string; org_id: string }[]>`
          select api_key_id, org_id from public.authenticate_api_key(${credential})`,
      );
    } catch (err) {
      return databaseErrorResponse(err);
    }
    if (rows.length === 0) return unauthenticated("invalid_api_key", "the API key is unknown or revoked");
    return {
      claims: { role: "authenticated", api_key_id: rows[0].api_key_id },
      kind: "api_key",
      orgId: rows[0].org_id,
    };
  }

  const secret = deps.env.SUPABASE_JWT_SECRET;
  if (!secret) {
    return errorResponse(503, "not_configured", "user tokens cannot be checked (SUPABASE_JWT_SECRET)");
  }
  const claims = await verifySupabaseJwt(credential, secret);
  if (!claims) return unauthenticated("invalid_token", "the access token is invalid or expired");
  if (claims.role === "anon" || !claims.role) {
    return unauthenticated("unauthenticated", "sign in: the anon key does not identify a user");
  }
  if (claims.role !== "authenticated" || typeof claims.sub !== "string" || claims.sub === "") {
    return errorResponse(403, "forbidden", "this endpoint is for organisation members and API keys");
  }
  // An API key's claim is only ever set from a resolved key, never taken from a token.
  const { api_key_id: _ignored, ...userClaims } = claims;
  return { claims: { ...userClaims, role: "authenticated", sub: claims.sub }, kind: "user", orgId: null };
}

// Verification of Supabase-issued JWTs (HS256 with the project's JWT secret), with jose.
import { jwtVerify } from "jose";

export type VerifiedClaims = { role?: string; sub?: string; [claim: string]: unknown };

export async function verifySupabaseJwt(token: string, secret: string): Promise<VerifiedClaims | null> {
  try {
    const { payload } = await jwtVerify(token, new TextEncoder().encode(secret), { algorithms: ["HS256"] });
    return payload as VerifiedClaims;
  } catch {
    return null;
  }
}

export function bearerToken(req: Request): string | null {
  const header = req.headers.get("authorization") ?? "";
  const match = /^Bearer\s+(.+)$/i.exec(header.trim());
  return match ? match[1] : null;
}

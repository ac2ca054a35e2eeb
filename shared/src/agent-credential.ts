// The dispatcher-agent contract for one attempt: the agent worker's credential (its claims, and how the
// dispatcher signs it) and the job metadata that carries it. Plain Web Crypto and jose: the same code runs in
// the functions (Deno), where it is minted, and in Node tests and fixtures, which mint it exactly the same way.
//
// The token is a Supabase JWT (HS256 with the project's JWT secret) with role `call_agent` and claim
// `call_session_id`: PostgREST switches to that role and the policies and agent_* functions let it reach this one
// session, its call, template and org (20261121001000_call_agent_access.sql). It lives for the template's
// maximum call duration plus a margin that covers ringing, the agent loading its context before the answer,
// and writing the results afterwards; then it is useless.
import { SignJWT } from "jose";
import { z } from "zod";
import { AGENT_NAME, AgentJobMetadata } from "./agent-job.ts";
import type { Carrier } from "./enums.ts";

export { AGENT_NAME };

export const AGENT_TOKEN_ISSUER = "intake-dispatcher";

/** The claims of the agent's credential: what PostgREST and the call_agent policies rely on. */
export const AgentCredentialClaims = z.object({
  role: z.literal("call_agent"),
  call_session_id: z.uuid(),
  iss: z.literal(AGENT_TOKEN_ISSUER),
  iat: z.number().int(),
  exp: z.number().int(),
});
export type AgentCredentialClaims = z.infer<typeof AgentCredentialClaims>;

/** Ringing (up to a minute), carrier queueing, preparation before the answer, and the wrap-up after the call. */
export const AGENT_TOKEN_MARGIN_SECONDS = 600;

/** Imported once per secret: importing an HMAC key costs as much as signing with it. */
const keys = new Map<string, Promise<CryptoKey>>();

export async function mintAgentToken(opts: {
  jwtSecret: string;
  sessionId: string;
  maxDurationSeconds: number;
  /** Seconds since the epoch; defaults to now. */
  issuedAt?: number;
}): Promise<{ token: string; expiresAt: number }> {
  let key = keys.get(opts.jwtSecret);
  if (!key) {
    key = crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(opts.jwtSecret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    keys.set(opts.jwtSecret, key);
  }
  const issuedAt = opts.issuedAt ?? Math.floor(Date.now() / 1000);
  const expiresAt = issuedAt + opts.maxDurationSeconds + AGENT_TOKEN_MARGIN_SECONDS;
  const claims: AgentCredentialClaims = AgentCredentialClaims.parse({
    role: "call_agent",
    call_session_id: opts.sessionId,
    iss: AGENT_TOKEN_ISSUER,
    iat: issuedAt,
    exp: expiresAt,
  });
  const token = await new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .sign(await key);
  return { token, expiresAt };
}

/**
 * The metadata of the `intake-agent` dispatch, validated against the shared schema: ids, the attempt's
 * credential and, for the LiveKit carrier, the trunk the agent dials on. Never a number, a name or an answer:
 * the worker fetches those with its credential (seed 004: ids travel, data is fetched).
 */
export function agentJobMetadata(
  session: { id: string; intake_call_id: string; org_id: string; attempt_number: number },
  opts: { carrier: Carrier; agentToken: string; sipTrunkId: string | null },
): string {
  const metadata: AgentJobMetadata = AgentJobMetadata.parse({
    version: 1,
    session_id: session.id,
    intake_call_id: session.intake_call_id,
    org_id: session.org_id,
    attempt_number: session.attempt_number,
    carrier: opts.carrier,
    agent_token: opts.agentToken,
    dial: opts.sipTrunkId ? { sip_trunk_id: opts.sipTrunkId } : null,
  });
  return JSON.stringify(metadata);
}

import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeJwt } from "jose";
import { AGENT_TOKEN_MARGIN_SECONDS, AgentCredentialClaims, mintAgentToken } from "./agent-credential.ts";

const sessionId = "5b0e8a52-9c1b-4a47-9d0e-3f7f2c6b1a10";

test("the minted credential carries exactly the contract's claims", async () => {
  const { token, expiresAt } = await mintAgentToken({
    jwtSecret: "s".repeat(32),
    sessionId,
    maxDurationSeconds: 900,
    issuedAt: 1_000,
  });
  const claims = AgentCredentialClaims.parse(decodeJwt(token));
  assert.deepEqual(claims, {
    role: "call_agent",
    call_session_id: sessionId,
    iss: "intake-dispatcher",
    iat: 1_000,
    exp: 1_000 + 900 + AGENT_TOKEN_MARGIN_SECONDS,
  });
  assert.equal(expiresAt, claims.exp);
});

test("claims of another role or without a session are not an agent credential", () => {
  const base = { role: "call_agent", call_session_id: sessionId, iss: "intake-dispatcher", iat: 1, exp: 2 };
  assert.equal(AgentCredentialClaims.safeParse({ ...base, role: "authenticated" }).success, false);
  assert.equal(AgentCredentialClaims.safeParse({ ...base, call_session_id: undefined }).success, false);
});

// The metadata of a LiveKit agent dispatch to `intake-agent`: what the dispatcher hands the worker.
// Ids and a call-scoped credential only, never PHI (seed 004: ids travel, data is fetched). The
// worker reads the callee, template and variables with `agent_token` through row-level security.
import { z } from "zod";
import { CallOutcome, Carrier } from "./enums.ts";

export { SESSION_SIP_ATTRIBUTE, SESSION_SIP_HEADER } from "./sip-header.ts";

export const AGENT_NAME = "intake-agent";

/** The outcome of an attempt as the agent ends it (agent_end_call; call_sessions.ended_reason). */
export const AgentOutcome = CallOutcome.extract([
  "completed",
  "escalated",
  "voicemail",
  "no_answer",
  "failed",
  "wrong_number",
  "opted_out",
]);
export type AgentOutcome = z.infer<typeof AgentOutcome>;

export const AgentJobMetadata = z.object({
  version: z.literal(1),
  session_id: z.uuid(),
  intake_call_id: z.uuid(),
  org_id: z.uuid(),
  attempt_number: z.number().int().positive(),
  carrier: Carrier,
  /**
   * Short-lived JWT (role `call_agent`, claim `call_session_id`) minted by the dispatcher for this
   * attempt: the worker's only database credential, good for this one session.
   */
  agent_token: z.string().min(20),
  /**
   * LiveKit carrier: the agent dials the callee itself after its session has started (LiveKit's
   * recommended order, so the first words are never missed) on this outbound trunk. The number is
   * read from the call context, not carried here. Null for Twilio (the call is bridged in), web
   * and simulation.
   */
  dial: z.object({ sip_trunk_id: z.string().min(1) }).nullable(),
});
export type AgentJobMetadata = z.infer<typeof AgentJobMetadata>;

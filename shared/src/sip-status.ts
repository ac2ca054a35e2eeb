// What a failed dial's SIP final response means for the attempt. Used wherever a SIP status reaches us: the
// LiveKit carrier (Twirp errors carry `meta.sip_status_code`), the agent when its CreateSIPParticipant fails,
// and Twilio status callbacks (`SipResponseCode`). The outcome is a `call_outcome` of the database; it decides
// the retry policy (busy and declined retry as busy, no answer as no_answer, invalid numbers never).

import type { CallOutcome } from "./enums.ts";

/** The outcomes a failed dial can have (a subset of the database's `call_outcome`). */
export type DialOutcome = Extract<
  CallOutcome,
  "busy" | "no_answer" | "declined" | "invalid_number" | "failed"
>;

const outcomes: Record<number, DialOutcome> = {
  486: "busy", // Busy Here
  600: "busy", // Busy Everywhere
  408: "no_answer", // Request Timeout: nobody picked up before the INVITE timed out
  480: "no_answer", // Temporarily Unavailable (phone off, out of coverage)
  487: "no_answer", // Request Terminated: the ring timeout cancelled the INVITE
  603: "declined", // Decline: the callee rejected the call
  404: "invalid_number", // Not Found
  410: "invalid_number", // Gone: the number is no longer in service
  484: "invalid_number", // Address Incomplete
  604: "invalid_number", // Does Not Exist Anywhere
};

/** The outcome of a dial that ended with `sipStatusCode` (any other final response: `failed`). */
export function outcomeForSipStatus(sipStatusCode: number): DialOutcome {
  return outcomes[sipStatusCode] ?? "failed";
}

// The one value the Twilio leg carries into LiveKit (seed 004: ids travel, data is fetched). Kept apart from
// agent-job.ts so the twilio-voice webhook can use it without loading zod on its cold path.

/** The SIP header (and LiveKit participant attribute `sip.h.x-call-session-id`) carrying the session id. */
export const SESSION_SIP_HEADER = "X-Call-Session-Id";
export const SESSION_SIP_ATTRIBUTE = "sip.h.x-call-session-id";

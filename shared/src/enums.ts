// The database's name lists (`create type ... as enum` in supabase/migrations) as zod enums: the one
// TypeScript definition of each, imported by the functions, the agent and the tests alike. A list that
// only part of the code accepts is derived here or at its use with `.extract` / `.exclude` (or `Extract` /
// `Exclude` for a type), never written out again, so renaming a value breaks the build where it is used.
// Values and order are the database's: enums.test.ts compares every public enum of the migrated database with
// its list here (or with the reason it has none) and fails on any difference.
import { z } from "zod";

/** organization_members.role. */
export const MemberRole = z.enum(["owner", "admin", "member"]);
export type MemberRole = z.infer<typeof MemberRole>;

/** call_templates.purpose: what a template's calls are for. */
export const CallPurpose = z.enum(["intake", "appointment_confirmation", "payment_reminder", "clinic_call"]);
export type CallPurpose = z.infer<typeof CallPurpose>;

/** call_templates.voicemail_policy: what the agent (or Twilio's machine detection) does when a machine answers. */
export const VoicemailPolicy = z.enum(["hang_up", "leave_message"]);
export type VoicemailPolicy = z.infer<typeof VoicemailPolicy>;

/** call_templates.fields[].type: the kind of answer a field collects. */
export const FieldType = z.enum(["text", "date", "number", "boolean", "choice", "phone"]);
export type FieldType = z.infer<typeof FieldType>;

/** intake_calls.carrier, call_sessions.carrier. */
export const Carrier = z.enum(["livekit", "twilio", "simulation", "web"]);
export type Carrier = z.infer<typeof Carrier>;

/** intake_calls.status (the call's state machine, in its order). */
export const IntakeCallStatus = z.enum([
  "queued",
  "dispatching",
  "in_progress",
  "completed",
  "failed",
  "cancelled",
  "expired",
  "opted_out",
]);
export type IntakeCallStatus = z.infer<typeof IntakeCallStatus>;

/** call_sessions.status (an attempt's state machine: only ever moves forward in this order). */
export const SessionStatus = z.enum(["created", "dialing", "ringing", "answered", "ended"]);
export type SessionStatus = z.infer<typeof SessionStatus>;

/** How an attempt ended (call_sessions.ended_reason) or a call (intake_calls.outcome). */
export const CallOutcome = z.enum([
  "completed",
  "escalated",
  "busy",
  "no_answer",
  "voicemail",
  "declined",
  "failed",
  "invalid_number",
  "wrong_number",
  "opted_out",
  "do_not_call",
  "cancelled",
  "terminated",
  "expired",
  "not_dialed",
]);
export type CallOutcome = z.infer<typeof CallOutcome>;

/** call_sessions.answered_by: who picked up one attempt (not phone_system_type: what the number's system is). */
export const AnsweredBy = z.enum(["human", "voicemail", "ivr", "call_screener", "unknown"]);
export type AnsweredBy = z.infer<typeof AnsweredBy>;

/** transcript_turns.speaker. */
export const Speaker = z.enum(["agent", "callee", "system"]);
export type Speaker = z.infer<typeof Speaker>;

/** call_events.source, escalations.source: which part of the platform did it. */
export const EventSource = z.enum([
  "api",
  "scheduler",
  "dispatcher",
  "carrier",
  "agent",
  "database",
  "operator",
]);
export type EventSource = z.infer<typeof EventSource>;

/** escalations.level, most severe first; `override` is an operator's, never detected in a call. */
export const EscalationLevel = z.enum(["emergency", "high_priority", "human_requested", "override"]);
export type EscalationLevel = z.infer<typeof EscalationLevel>;

/** phone_system_classifications.classification: what answers a number, learned once, cached 30 days. */
export const PhoneSystemType = z.enum(["human", "ivr_only", "ivr_then_human", "voicemail"]);
export type PhoneSystemType = z.infer<typeof PhoneSystemType>;

/** webhook_deliveries.status: an app webhook's delivery. */
export const DeliveryStatus = z.enum(["pending", "delivered", "dead"]);
export type DeliveryStatus = z.infer<typeof DeliveryStatus>;

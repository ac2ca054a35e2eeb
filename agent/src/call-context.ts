// What `agent_call_context()` returns: everything the agent needs for its call, fetched once with the
// call-scoped credential before the callee answers. Parsed, so a schema drift fails loudly at call start.
import { z } from "zod";
import {
  CallPurpose,
  Carrier,
  FieldType,
  PhoneSystemType,
  SessionStatus,
  VoicemailPolicy,
} from "@intake/shared/enums";
import { IvrStep } from "@intake/shared/phone-system";

export const FieldDefinition = z.object({
  name: z.string().regex(/^[a-z][a-z0-9_]{0,62}$/),
  type: FieldType,
  required: z.boolean().optional(),
  description: z.string().optional(),
  options: z.array(z.string()).optional(),
  pattern: z.string().optional(),
  min: z.number().optional(),
  max: z.number().optional(),
  /** Read the value back to the callee and wait for a yes before storing it. */
  confirm: z.boolean().optional(),
});
export type FieldDefinition = z.infer<typeof FieldDefinition>;

export const CallContext = z.object({
  session: z.object({
    id: z.uuid(),
    attempt_number: z.number().int().positive(),
    carrier: Carrier,
    room_name: z.string(),
    status: SessionStatus,
  }),
  call: z.object({
    id: z.uuid(),
    callee_phone: z.string(),
    callee_name: z.string().nullable(),
    callee_timezone: z.string(),
    variables: z.record(z.string(), z.unknown()),
    greeting_override: z.string().nullable(),
    results: z.record(z.string(), z.unknown()),
    is_simulation: z.boolean(),
  }),
  template: z.object({
    id: z.uuid(),
    name: z.string(),
    purpose: CallPurpose,
    langfuse_prompt_name: z.string().nullable(),
    langfuse_prompt_label: z.string(),
    fallback_prompt: z.string(),
    greeting: z.string(),
    fields: z.array(FieldDefinition),
    voicemail_policy: VoicemailPolicy,
    voicemail_message: z.string().nullable(),
    max_duration_seconds: z.number().int().positive(),
  }),
  organization: z.object({
    id: z.uuid(),
    name: z.string(),
    escalation_phone: z.string().nullable(),
    timezone: z.string(),
  }),
  classification: z
    .object({
      classification: PhoneSystemType,
      ivr_steps: z.array(IvrStep),
      confidence: z.number(),
    })
    .nullable(),
});
export type CallContext = z.infer<typeof CallContext>;

/**
 * The PHI this call knows about up front (callee name and number, the variables the app passed, the
 * answers already collected): handed to redaction so none of it reaches a log line or a span.
 */
export function knownPhi(context: CallContext): string[] {
  const values: string[] = [context.call.callee_phone];
  if (context.call.callee_name) {
    values.push(context.call.callee_name, ...context.call.callee_name.split(/\s+/));
  }
  for (const source of [context.call.variables, context.call.results]) {
    for (const value of Object.values(source)) {
      if (typeof value === "string" || typeof value === "number") values.push(String(value));
    }
  }
  return values;
}

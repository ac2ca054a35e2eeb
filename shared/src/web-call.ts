// POST /functions/v1/web-calls: a call held in the browser instead of over the phone. Same agent and same
// records as a phone call (an intake call with carrier `web`, one attempt), never scheduled or dialled.
import { z } from "zod";
import { CalleeTimeZone, CallVariables } from "./intake-call-request.ts";
import { toDialableE164 } from "./phone.ts";

export const WebCallRequest = z.strictObject({
  /** Needed for a user who belongs to several organisations; an API key acts for its own org. */
  org_id: z.uuid().optional(),
  template_id: z.uuid(),
  /**
   * The person's number on file: the call record is the same as a phone call's (do-not-call applies, the
   * number identifies the person across calls). It is not dialled.
   */
  callee_phone: z.string().max(32).transform((value, ctx) => {
    const phone = toDialableE164(value);
    if (!phone.ok) {
      ctx.addIssue({ code: "custom", message: phone.message });
      return z.NEVER;
    }
    return phone.e164;
  }),
  callee_name: z.string().min(1).max(200).optional(),
  callee_timezone: CalleeTimeZone.optional(),
  patient_id: z.uuid().optional(),
  external_ref: z.string().min(1).max(200).optional(),
  /** The same placeholders as a phone call's, under the same rules. */
  variables: CallVariables.optional(),
  greeting_override: z.string().min(1).max(1000).optional(),
});
export type WebCallRequest = z.infer<typeof WebCallRequest>;

export const WebCallResponse = z.object({
  intake_call_id: z.uuid(),
  session_id: z.uuid(),
  room_name: z.string(),
  /** The LiveKit server the browser connects to. */
  livekit_url: z.string(),
  /** A LiveKit access token that may join this one room only, for a short time. */
  participant_token: z.string(),
});
export type WebCallResponse = z.infer<typeof WebCallResponse>;

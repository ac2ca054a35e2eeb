// POST /functions/v1/twilio-status?session_id=<uuid>: Twilio's call-progress callbacks (initiated, ringing,
// answered, completed / busy / no-answer / failed / canceled) and the asynchronous answering-machine result
// (AnsweredBy without CallStatus), all to this one URL. Signed by Twilio, checked before anything is read or
// written. Twilio delivers them at least once and in any order: record_twilio_callback dedupes them on
// CallSid:SequenceNumber (CallSid:amd), applies them monotonically and records each as a call event.
//
// When a machine answered an attempt that is live (asynchronous detection), the template's voicemail policy
// is carried out on the call through Twilio's REST API: hang up, or replace the call's TwiML with the message.
// The answer is 204 with no body; an unknown session is 404, a malformed callback 400.
import type { Env } from "../_shared/env.ts";
import { errorResponse, type Handler } from "../_shared/http.ts";
import { hangup, say, twiml } from "../_shared/twiml.ts";
import { updateTwilioCall } from "../_shared/twilio-rest.ts";
import {
  inDatabase,
  isCallSid,
  logWebhook,
  notConfigured,
  sessionIdOf,
  twilioWebhookConfig,
  verifiedTwilioParams,
  WEBHOOK_SETTINGS,
} from "../_shared/twilio-webhook.ts";

type CallbackResult = {
  applied: boolean;
  duplicate: boolean;
  action?: "hang_up" | "leave_message";
  message?: string;
  reason?: string;
};

const NAME = "twilio-status";

export const create = ({ env }: { env: Env }): Handler => {
  const config = twilioWebhookConfig(env);

  return async (req: Request): Promise<Response> => {
    if (!config) return notConfigured(WEBHOOK_SETTINGS);
    const verified = await verifiedTwilioParams(req, config, NAME);
    if (!verified.ok) return verified.response;
    const { params } = verified;
    if (!isCallSid(params.CallSid)) {
      return errorResponse(400, "invalid_call_sid", "CallSid is missing or not a Twilio call SID");
    }
    const session = sessionIdOf(req);
    if (!session) return errorResponse(400, "invalid_session_id", "the callback URL has no valid session_id");

    const result = await inDatabase<CallbackResult>(NAME, config, "record_twilio_callback", session, params);
    if (result instanceof Response) return result;

    if (result.action) {
      const update = result.action === "leave_message"
        ? { Twiml: twiml(say(result.message ?? ""), hangup()) }
        : { Status: "completed" as const };
      if (!(await updateTwilioCall(env, params.CallSid, update))) {
        logWebhook(NAME, "call_update_failed", {
          session_id: session,
          call_sid: params.CallSid,
          action: result.action,
        });
      }
    }
    return new Response(null, { status: 204 });
  };
};

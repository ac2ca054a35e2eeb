// POST /functions/v1/twilio-voice?session_id=<uuid>: the TwiML Twilio fetches when the callee picks up (after
// the greeting's end when the dispatcher asked for DetectMessageEnd). Signed by Twilio, checked before anything
// is read or written; then answer_twilio_call decides and this renders:
//
//   bridge         <Dial timeLimit="…"><Sip>sip:<LiveKit inbound trunk>;transport=tcp?X-Call-Session-Id=<id></Sip></Dial>
//   leave_message  <Say>template's voicemail message</Say><Hangup/>   (a machine answered, policy leave_message)
//   hang_up        <Hangup/>   (machine with policy hang_up; unknown, ended, cancelled or foreign attempt)
//
// Only the session id crosses into LiveKit, as a SIP URI header (RFC 3261 §19.1.1, which Twilio turns into an
// INVITE header): the agent fetches everything else through its call-scoped credential. Twilio needs valid
// TwiML, so every verified request gets 200 and a document, even for a session it should not reach.
import { SESSION_SIP_HEADER } from "../../../shared/src/sip-header.ts";
import type { Env } from "../_shared/env.ts";
import { errorResponse, type Handler } from "../_shared/http.ts";
import { dialSip, hangup, say, twimlResponse } from "../_shared/twiml.ts";
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

type Answer =
  | { action: "bridge"; session_id: string; time_limit_seconds: number }
  | { action: "leave_message"; message: string; reason: string }
  | { action: "hang_up"; reason: string };

/**
 * The bridge target: LIVEKIT_SIP_URI (`sip:<id>.sip.livekit.cloud`, a bare host, or with a user part and
 * parameters) with `;transport=tcp` unless a transport is given, and the session id as a URI header.
 * Null when the configured value is not a SIP URI.
 */
export function bridgeUri(livekitSipUri: string, sessionId: string): string | null {
  const match = /^(sips?:)?([^\s;?<>"]+)((?:;[^\s?<>"]*)?)$/i.exec(livekitSipUri.trim());
  if (!match) return null;
  const [, scheme, target, params] = match;
  const transport = /;transport=/i.test(params) ? "" : ";transport=tcp";
  return `${(scheme ?? "sip:").toLowerCase()}${target}${params}${transport}?${SESSION_SIP_HEADER}=${
    encodeURIComponent(sessionId)
  }`;
}

const NAME = "twilio-voice";

export const create = ({ env }: { env: Env }): Handler => {
  const config = twilioWebhookConfig(env);
  const sipUri = env.LIVEKIT_SIP_URI ?? "";
  const sipConfigured = bridgeUri(sipUri, "00000000-0000-0000-0000-000000000000") !== null;
  const sipAuth = {
    username: env.LIVEKIT_SIP_USERNAME || undefined,
    password: env.LIVEKIT_SIP_PASSWORD || undefined,
  };

  return async (req: Request): Promise<Response> => {
    if (!config || !sipConfigured) {
      return notConfigured(`${WEBHOOK_SETTINGS} and LIVEKIT_SIP_URI`);
    }
    const verified = await verifiedTwilioParams(req, config, NAME);
    if (!verified.ok) return verified.response;
    const { params } = verified;
    if (!isCallSid(params.CallSid)) {
      return errorResponse(400, "invalid_call_sid", "CallSid is missing or not a Twilio call SID");
    }
    const session = sessionIdOf(req);
    if (!session) {
      logWebhook(NAME, "hang_up", { reason: "no_session_id", call_sid: params.CallSid });
      return twimlResponse(hangup());
    }

    const answer = await inDatabase<Answer>(NAME, config, "answer_twilio_call", session, params);
    if (answer instanceof Response) return answer;

    switch (answer.action) {
      case "bridge":
        return twimlResponse(
          dialSip(bridgeUri(sipUri, answer.session_id)!, {
            timeLimit: answer.time_limit_seconds,
            ...sipAuth,
          }),
        );
      case "leave_message":
        return twimlResponse(say(answer.message), hangup());
      default:
        if (answer.reason !== "machine_answered") {
          logWebhook(NAME, "hang_up", {
            reason: answer.reason,
            session_id: session,
            call_sid: params.CallSid,
          });
        }
        return twimlResponse(hangup());
    }
  };
};

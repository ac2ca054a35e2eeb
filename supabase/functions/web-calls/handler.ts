// POST /functions/v1/web-calls: a call held in the browser. The same agent and the same records as a phone call
// (an intake call with carrier `web` and one attempt, created at once by public.create_web_call), but nobody is
// dialled: the agent is dispatched to the attempt's LiveKit room and the browser joins it with the returned
// participant token (room join for that one room, 10 minutes to join, identity `web-<session id>`).
//
// Authenticated like the public API (_shared/auth.ts): an org member's access token (then `org_id` names the
// org) or an org API key. 503 when LiveKit is not configured. The agent's credential is minted as for a
// phone call (agent-credential.ts); a web call is never retried: if LiveKit refuses the dispatch, the call ends
// failed at once and the caller may simply ask again.
import { AccessToken } from "livekit-server-sdk";
import { WebCallRequest, type WebCallResponse } from "../../../shared/src/web-call.ts";
import { mintAgentToken } from "../../../shared/src/agent-credential.ts";
import { authenticateCaller } from "../_shared/auth.ts";
import { CarrierError } from "../_shared/carriers/errors.ts";
import { liveKitApiFromEnv } from "../_shared/carriers/livekit.ts";
import { asCaller, type Tx } from "../_shared/database.ts";
import type { CreateHandler } from "../_shared/deps.ts";
import { errorResponse, json, preflight } from "../_shared/http.ts";
import { apiErrorResponse, businessErrorResponse } from "../_shared/database-errors.ts";
import { isApiError, readJson, validationError } from "../_shared/request-body.ts";

const MAX_BODY_BYTES = 16 * 1024;
/** Time the browser has to join; once connected, LiveKit keeps the participant's token fresh. */
const PARTICIPANT_TOKEN_TTL_SECONDS = 600;

type CreatedWebCall = {
  intake_call_id: string;
  session_id: string;
  org_id: string;
  room_name: string;
  attempt_number: number;
  claim_token: string;
  max_duration_seconds: number;
};

export const create: CreateHandler = ({ env, sql }) => {
  const liveKit = liveKitApiFromEnv(env);

  return async (req: Request): Promise<Response> => {
    const cors = preflight(req);
    if (cors) return cors;
    if (req.method !== "POST") {
      return errorResponse(405, "method_not_allowed", "web-calls answers POST only", undefined, {
        Allow: "POST",
      });
    }
    if (!liveKit) {
      return errorResponse(
        503,
        "livekit_not_configured",
        "web calls need LiveKit (LIVEKIT_URL, _API_KEY, _API_SECRET)",
      );
    }
    if (!env.SUPABASE_JWT_SECRET) {
      return errorResponse(
        503,
        "not_configured",
        "the agent's credential cannot be signed (SUPABASE_JWT_SECRET)",
      );
    }
    const caller = await authenticateCaller(req, { env, sql });
    if (caller instanceof Response) return caller;

    const body = await readJson(req, MAX_BODY_BYTES);
    if (isApiError(body)) return apiErrorResponse(body);
    const parsed = WebCallRequest.safeParse(body.value);
    if (!parsed.success) return apiErrorResponse(validationError(parsed.error.issues));
    const orgId = parsed.data.org_id ?? caller.orgId;
    if (!orgId) {
      return errorResponse(400, "org_id_required", "name the organisation (org_id) the call is for");
    }

    let created: CreatedWebCall;
    try {
      [{ created }] = await asCaller(sql, caller.claims, (tx) =>
        tx<{ created: CreatedWebCall }[]>`
          select public.create_web_call(${tx.json({ ...parsed.data, org_id: orgId })}) as created`);
    } catch (error) {
      return businessErrorResponse(error) ??
        errorResponse(503, "database_unavailable", "the call could not be created; try again");
    }

    const service = <T>(query: (tx: Tx) => Promise<T>) => asCaller(sql, { role: "service_role" }, query);
    try {
      const { token: agentToken } = await mintAgentToken({
        jwtSecret: env.SUPABASE_JWT_SECRET,
        sessionId: created.session_id,
        maxDurationSeconds: created.max_duration_seconds,
      });
      const dispatch = await liveKit.createAgentDispatch(
        {
          session: {
            id: created.session_id,
            intake_call_id: created.intake_call_id,
            org_id: created.org_id,
            attempt_number: created.attempt_number,
            room_name: created.room_name,
          },
          agentToken,
        },
        "web",
        null,
      );
      await service((tx) =>
        tx`select public.mark_session_dialing(${created.session_id}, null, ${dispatch.id})`
      );
    } catch (error) {
      const code = error instanceof CarrierError ? error.code : "unexpected_error";
      console.warn(
        JSON.stringify({ event: "web_call.dispatch_failed", session_id: created.session_id, code }),
      );
      await service((tx) =>
        tx`select public.abandon_web_call(${created.intake_call_id}, ${created.claim_token}, ${code})`
      ).catch(() => {}); // the lease lapses and the dispatcher closes it instead
      await liveKit.deleteRoom(created.room_name).catch(() => {});
      return errorResponse(503, "livekit_unavailable", "the agent could not be started; try again", {
        intake_call_id: created.intake_call_id,
      });
    }

    const grant = new AccessToken(liveKit.settings.apiKey, liveKit.settings.apiSecret, {
      identity: `web-${created.session_id}`,
      ttl: PARTICIPANT_TOKEN_TTL_SECONDS,
    });
    grant.addGrant({
      room: created.room_name,
      roomJoin: true,
      canPublish: true,
      canSubscribe: true,
      canPublishData: true,
    });
    const response: WebCallResponse = {
      intake_call_id: created.intake_call_id,
      session_id: created.session_id,
      room_name: created.room_name,
      livekit_url: liveKit.settings.url,
      participant_token: await grant.toJwt(),
    };
    return json(response, 201, { "Cache-Control": "no-store" });
  };
};

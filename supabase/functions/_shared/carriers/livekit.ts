// The LiveKit carrier: calls placed through a LiveKit outbound SIP trunk.
//
// Who dials: the AGENT, not the dispatcher. The dispatcher only creates the agent dispatch (`intake-agent`) in
// the attempt's room `call-<session id>`, with metadata `dial: { sip_trunk_id }`; the worker starts its session
// (model, prompt, call context loaded) and then dials the callee itself with CreateSIPParticipant. This is the
// order LiveKit recommends for outbound calls: the agent is already listening when the callee picks up, so the
// first words are never lost, and a dial failure (busy, no answer, SIP 4xx/6xx) is seen by the one process
// that holds the call, which ends the attempt with the outcome `outcomeForSipStatus` gives
// (shared/src/sip-status.ts). The trunk is the org's `livekit_sip_trunk_id`, else LIVEKIT_SIP_TRUNK_ID.
//
// Reconciliation: the room name is unique to the attempt, so "did the dispatch arrive?" is answered exactly by
// listing the room's dispatches. The SDK's region failover is off: it would replay a timed-out CreateDispatch
// on another region, and a second dispatch would put a second agent on the call.
import { AgentDispatchClient, RoomServiceClient, SipClient, TwirpError } from "livekit-server-sdk";
import { toDialableE164 } from "../../../../shared/src/phone.ts";
import { outcomeForSipStatus } from "../../../../shared/src/sip-status.ts";
import { AGENT_NAME, agentJobMetadata } from "../../../../shared/src/agent-credential.ts";
import { type Env, numberSetting } from "../env.ts";
import { TokenBucket } from "../rate-limit.ts";
import {
  CallInitiationError,
  CarrierError,
  CarrierNotConfiguredError,
  ensureSendable,
  InvalidNumberError,
  LiveKitApiError,
  transportFailure,
} from "./errors.ts";
import type {
  AttemptContext,
  AttemptSession,
  CarrierClient,
  CarrierName,
  LiveSession,
  Origination,
  OriginationRequest,
  Reconciliation,
} from "./types.ts";

/** livekit/protocol's ParticipantInfo_Kind.SIP (the enum is not exported by livekit-server-sdk). */
const SIP_PARTICIPANT_KIND = 3;

export type LiveKitSettings = {
  url: string;
  apiKey: string;
  apiSecret: string;
  /** LIVEKIT_SIP_TRUNK_ID: the outbound trunk of orgs that have none of their own. */
  defaultSipTrunkId: string | null;
  /** Per request; a timeout leaves the request in doubt (reconciled, never repeated). */
  requestTimeoutMs: number;
  /** Paces every request to LiveKit's API. */
  limiter: TokenBucket;
};

/** LiveKit settings from the environment, or null when LIVEKIT_URL, _API_KEY or _API_SECRET is missing. */
export function liveKitSettings(
  env: Env,
  limiter: TokenBucket,
  requestTimeoutMs: number,
): LiveKitSettings | null {
  if (!env.LIVEKIT_URL || !env.LIVEKIT_API_KEY || !env.LIVEKIT_API_SECRET) return null;
  return {
    url: env.LIVEKIT_URL,
    apiKey: env.LIVEKIT_API_KEY,
    apiSecret: env.LIVEKIT_API_SECRET,
    defaultSipTrunkId: env.LIVEKIT_SIP_TRUNK_ID || null,
    requestTimeoutMs,
    limiter,
  };
}

/** Per carrier request (DISPATCH_CARRIER_TIMEOUT_MS, 10 s unless set). */
export const carrierTimeoutMs = (env: Env) => numberSetting(env, "DISPATCH_CARRIER_TIMEOUT_MS", 10_000);

/**
 * The LiveKit server API as the environment configures it (DISPATCH_LIVEKIT_RPS, 50 unless set, bounds the
 * requests per second of this instance), or null when LiveKit is not configured.
 */
export function liveKitApiFromEnv(env: Env): LiveKitApi | null {
  const settings = liveKitSettings(
    env,
    new TokenBucket(numberSetting(env, "DISPATCH_LIVEKIT_RPS", 50)),
    carrierTimeoutMs(env),
  );
  return settings ? new LiveKitApi(settings) : null;
}

/** A LiveKit server-API error as a CarrierError (see errors.ts for what each kind makes the dispatcher do). */
export function liveKitError(error: unknown): CarrierError {
  if (error instanceof CarrierError) return error;
  if (error instanceof TwirpError) {
    const code = `twirp:${error.code ?? "unknown"}`;
    const sip = Number(error.metadata?.sip_status_code);
    if (Number.isInteger(sip) && sip > 0) {
      return outcomeForSipStatus(sip) === "invalid_number"
        ? new InvalidNumberError("livekit", `sip:${sip}`, { sipStatusCode: sip, status: error.status })
        : new CallInitiationError("livekit", sip, `sip:${sip}`, error.status);
    }
    if (error.status === 401 || error.status === 403) {
      return new LiveKitApiError("misconfigured", code, error.status);
    }
    if (error.status === 429) return new LiveKitApiError("retryable", code, error.status);
    // Twirp's deadline_exceeded (408) and a gateway timeout: the server may have acted on it.
    if (error.status === 408 || error.status === 504) {
      return new LiveKitApiError("in_doubt", code, error.status);
    }
    if (error.status >= 500) return new LiveKitApiError("retryable", code, error.status);
    return new LiveKitApiError("rejected", code, error.status);
  }
  const transport = transportFailure(error);
  return new LiveKitApiError(transport.failure, transport.code);
}

/** The dialable E.164 form of the callee's number, or InvalidNumberError before anything is sent. */
export function dialableNumber(provider: "livekit" | "twilio", phone: string): string {
  const checked = toDialableE164(phone);
  if (!checked.ok) throw new InvalidNumberError(provider, `number_${checked.reason}`);
  return checked.e164;
}

/** LiveKit's server API as the carriers and the web-calls function use it: paced, typed errors. */
export class LiveKitApi {
  readonly settings: LiveKitSettings;
  readonly #dispatches: AgentDispatchClient;
  readonly #rooms: RoomServiceClient;
  readonly #sip: SipClient;

  constructor(settings: LiveKitSettings) {
    this.settings = settings;
    const options = { requestTimeout: settings.requestTimeoutMs / 1000, failover: false };
    this.#dispatches = new AgentDispatchClient(settings.url, settings.apiKey, settings.apiSecret, options);
    this.#rooms = new RoomServiceClient(settings.url, settings.apiKey, settings.apiSecret, options);
    this.#sip = new SipClient(settings.url, settings.apiKey, settings.apiSecret, options);
  }

  async #request<T>(send: () => Promise<T>, sendBy?: number): Promise<T> {
    await this.settings.limiter.take();
    ensureSendable("livekit", sendBy);
    try {
      return await send();
    } catch (error) {
      throw liveKitError(error);
    }
  }

  /** Dispatches `intake-agent` to the attempt's room (which LiveKit creates with the dispatch). */
  async createAgentDispatch(
    request: {
      session: Pick<AttemptSession, "id" | "intake_call_id" | "org_id" | "attempt_number" | "room_name">;
      agentToken: string;
      sendBy?: number;
    },
    carrier: CarrierName,
    sipTrunkId: string | null,
  ) {
    const metadata = agentJobMetadata(request.session, {
      carrier,
      agentToken: request.agentToken,
      sipTrunkId,
    });
    return await this.#request(
      () => this.#dispatches.createDispatch(request.session.room_name, AGENT_NAME, { metadata }),
      request.sendBy,
    );
  }

  /** The id of the room's `intake-agent` dispatch, or null when there is none. */
  async findAgentDispatch(room: string): Promise<string | null> {
    const dispatches = await this.#request(() => this.#dispatches.listDispatch(room));
    return dispatches.find((d) => d.agentName === AGENT_NAME)?.id ?? null;
  }

  /** Ends everything in the room (agent, SIP legs, browsers). A room that no longer exists is fine. */
  async deleteRoom(room: string): Promise<void> {
    try {
      await this.#request(() => this.#rooms.deleteRoom(room));
    } catch (error) {
      if (error instanceof CarrierError && error.status === 404) return;
      throw error;
    }
  }

  /** Transfers the room's SIP participant (the callee's phone leg) to `toPhone` (a SIP REFER). */
  async transferSipParticipant(room: string, toPhone: string): Promise<void> {
    const participants = await this.#request(() => this.#rooms.listParticipants(room));
    const callee = participants.find((p) => Number(p.kind) === SIP_PARTICIPANT_KIND);
    if (!callee) throw new LiveKitApiError("rejected", "no_sip_participant");
    await this.#request(() => this.#sip.transferSipParticipant(room, callee.identity, `tel:${toPhone}`));
  }
}

export class LiveKitCarrier implements CarrierClient {
  readonly name = "livekit" as const;
  readonly api: LiveKitApi;

  constructor(api: LiveKitApi) {
    this.api = api;
  }

  async originate(request: OriginationRequest): Promise<Origination> {
    dialableNumber("livekit", request.call.callee_phone);
    const trunk = request.organization.livekit_sip_trunk_id ?? this.api.settings.defaultSipTrunkId;
    if (!trunk) throw new CarrierNotConfiguredError("livekit", "sip_trunk");
    const dispatch = await this.api.createAgentDispatch(request, "livekit", trunk);
    // The SIP call id appears once the agent dials; the worker records it.
    return { carrierCallId: null, dispatchId: dispatch.id };
  }

  async reconcile(attempt: AttemptContext): Promise<Reconciliation> {
    const dispatchId = await this.api.findAgentDispatch(attempt.session.room_name);
    return dispatchId ? { found: true, carrierCallId: null, dispatchId } : { found: false };
  }

  hangUp(session: LiveSession): Promise<void> {
    return this.api.deleteRoom(session.room_name);
  }

  async transfer(session: LiveSession, toPhone: string): Promise<void> {
    await this.api.transferSipParticipant(session.room_name, dialableNumber("livekit", toPhone));
  }
}

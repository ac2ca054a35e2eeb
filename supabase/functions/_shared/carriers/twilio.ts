// The Twilio carrier: Twilio dials the callee (calls.create) and, once answered, its TwiML webhook
// (`twilio-voice`) bridges the call with <Dial><Sip> into the attempt's LiveKit room, carrying only the session id.
// The agent is dispatched to that room first, so it is waiting when the bridged leg arrives.
//
//   Url             ${PUBLIC_FUNCTIONS_URL}/twilio-voice?session_id=<session>
//   StatusCallback  ${PUBLIC_FUNCTIONS_URL}/twilio-status?session_id=<session>  (initiated, ringing, answered,
//                   completed); the same URL receives the asynchronous answering-machine verdict
//   From            the org's caller_id, else TWILIO_FROM_NUMBER
//   AMD             voicemail_policy leave_message: MachineDetection=DetectMessageEnd (Twilio waits for the beep
//                   before asking for TwiML, so the message is left after it); hang_up: MachineDetection=Enable
//                   with AsyncAmd (the call connects at once; the verdict arrives on the status callback)
//   SendDigits      the number's learned IVR path (phone_system_classifications) replayed, when its fresh
//                   classification is ivr_only / ivr_then_human; no AMD then (an IVR greeting reads as a machine)
//
// Reconciliation. Twilio has no idempotency key for calls.create and a call resource does not show the URLs it
// was created with, so "did this attempt's request arrive?" is answered from the attempt's own traces: the
// carrier call id when a status callback already recorded it; else the calls To the callee From our number
// created since the attempt began that no other attempt owns (known_carrier_call_ids). Two attempts to the
// same number timing out within the same seconds could take each other's call: each would then follow a live
// call, so neither is dialled twice; only the mapping of call ids to attempts could be swapped.
import twilio from "twilio";
import {
  CarrierError,
  CarrierNotConfiguredError,
  ensureSendable,
  InvalidNumberError,
  transportFailure,
  TwilioApiError,
} from "./errors.ts";
import { dialableNumber, type LiveKitApi } from "./livekit.ts";
import type { TokenBucket } from "../rate-limit.ts";
import type {
  AttemptContext,
  CarrierClient,
  IvrStep,
  LiveSession,
  Origination,
  OriginationRequest,
  Reconciliation,
  TransferOptions,
} from "./types.ts";

export type TwilioSettings = {
  accountSid: string;
  authToken: string;
  /** TWILIO_FROM_NUMBER: the caller id of orgs that have none. */
  fromNumber: string | null;
  /** PUBLIC_FUNCTIONS_URL: where Twilio reaches twilio-voice and twilio-status (https://<ref>.supabase.co/functions/v1). */
  publicFunctionsUrl: string | null;
  /** TWILIO_API_URL: another REST endpoint than https://api.twilio.com (a regional edge, a test double). */
  apiBaseUrl: string | null;
  requestTimeoutMs: number;
  /** Paces calls.create: Twilio's calls-per-second limit of the account (1 by default). */
  callsPerSecond: TokenBucket;
  /** Which of these call sids already belong to an attempt (the database's known_carrier_call_ids). */
  knownCallIds(sids: string[]): Promise<Set<string>>;
};

/** Twilio REST error codes that mean the dialled number is not a callable number. */
const invalidNumberCodes = new Set([21211, 21214, 21217, 21401, 13223, 13224]);
/** Codes that mean our configuration is wrong (credentials, caller id, webhook URL), not this call. */
const configurationCodes = new Set([20003, 20005, 20008, 21205, 21210, 21212, 21606]);

/** Clock skew allowed between our database and Twilio when matching calls by creation time. */
const RECONCILE_SKEW_MS = 2_000;
/** Twilio's SendDigits holds at most 32 characters ('W' waits a second, 'w' half a second). */
const MAX_SEND_DIGITS = 32;

export function twilioError(error: unknown): CarrierError {
  if (error instanceof CarrierError) return error;
  if (error instanceof twilio.RestException) {
    const status = error.status;
    const code = `twilio:${error.code ?? status}`;
    if (error.code !== undefined && invalidNumberCodes.has(error.code)) {
      return new InvalidNumberError("twilio", code, { status });
    }
    if (
      status === 401 || status === 403 || (error.code !== undefined && configurationCodes.has(error.code))
    ) {
      return new TwilioApiError("misconfigured", code, { status });
    }
    if (status === 429 || error.code === 20429) return new TwilioApiError("retryable", code, { status });
    if (status === 504) return new TwilioApiError("in_doubt", code, { status });
    if (status >= 500) return new TwilioApiError("retryable", code, { status });
    return new TwilioApiError("rejected", code, { status });
  }
  const transport = transportFailure(error);
  return new TwilioApiError(transport.failure, transport.code);
}

/** A learned IVR path as Twilio SendDigits ("WW2W1"), or null when it cannot be replayed that way. */
export function sendDigitsFor(steps: IvrStep[] | null): string | null {
  if (!steps || steps.length === 0) return null;
  let digits = "";
  let previous = 0;
  for (const step of [...steps].sort((a, b) => a.after_ms - b.after_ms)) {
    if (!/^[0-9*#]+$/.test(step.dtmf ?? "")) return null;
    const halfSeconds = Math.max(0, Math.round((step.after_ms - previous) / 500));
    digits += "W".repeat(Math.floor(halfSeconds / 2)) + "w".repeat(halfSeconds % 2) + step.dtmf;
    previous = step.after_ms;
  }
  return digits.length <= MAX_SEND_DIGITS ? digits : null;
}

export class TwilioCarrier implements CarrierClient {
  readonly name = "twilio" as const;
  readonly settings: TwilioSettings;
  readonly #liveKit: LiveKitApi | null;
  readonly #client: twilio.Twilio;

  /** `liveKit` hosts the agent; without it nothing can be originated (the bridged call would find no agent). */
  constructor(settings: TwilioSettings, liveKit: LiveKitApi | null) {
    this.settings = settings;
    this.#liveKit = liveKit;
    this.#client = twilio(settings.accountSid, settings.authToken, {
      timeout: settings.requestTimeoutMs,
      autoRetry: false, // a retried create could dial twice; retries are the dispatcher's decision
      keepAlive: false,
    });
    if (settings.apiBaseUrl) this.#client.api.baseUrl = settings.apiBaseUrl;
  }

  #callbackUrl(name: "twilio-voice" | "twilio-status", sessionId: string): string {
    const base = this.settings.publicFunctionsUrl!.replace(/\/+$/, "");
    return `${base}/${name}?session_id=${encodeURIComponent(sessionId)}`;
  }

  #fromNumber(attempt: AttemptContext): string {
    const from = attempt.organization.caller_id ?? this.settings.fromNumber;
    if (!from) throw new CarrierNotConfiguredError("twilio", "caller_id");
    return from;
  }

  async #request<T>(send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw twilioError(error);
    }
  }

  async originate(request: OriginationRequest): Promise<Origination> {
    if (!this.#liveKit) throw new CarrierNotConfiguredError("livekit", "agent_host");
    if (!this.settings.publicFunctionsUrl) {
      throw new CarrierNotConfiguredError("twilio", "public_functions_url");
    }
    const to = dialableNumber("twilio", request.call.callee_phone);
    const from = this.#fromNumber(request);
    const { session } = request;

    const dispatch = await this.#liveKit.createAgentDispatch(request, "twilio", null);
    const statusCallback = this.#callbackUrl("twilio-status", session.id);
    const sendDigits = sendDigitsFor(request.ivr_steps);
    const amd = sendDigits
      ? {}
      : request.template.voicemail_policy === "leave_message"
      ? { machineDetection: "DetectMessageEnd" }
      : {
        machineDetection: "Enable",
        asyncAmd: "true",
        asyncAmdStatusCallback: statusCallback,
        asyncAmdStatusCallbackMethod: "POST",
      };
    try {
      await this.settings.callsPerSecond.take();
      ensureSendable("twilio", request.sendBy);
      const call = await this.#request(() =>
        this.#client.calls.create({
          to,
          from,
          url: this.#callbackUrl("twilio-voice", session.id),
          method: "POST",
          statusCallback,
          statusCallbackMethod: "POST",
          statusCallbackEvent: ["initiated", "ringing", "answered", "completed"],
          ...amd,
          ...(sendDigits ? { sendDigits } : {}),
        })
      );
      return { carrierCallId: call.sid, dispatchId: dispatch.id };
    } catch (error) {
      // Twilio certainly has no call: take the waiting agent away again. In doubt, it stays for the call.
      if (error instanceof CarrierError && error.failure !== "in_doubt") {
        await this.#liveKit.deleteRoom(session.room_name).catch(() => {});
      }
      throw error;
    }
  }

  async reconcile(attempt: AttemptContext): Promise<Reconciliation> {
    const { session } = attempt;
    if (session.carrier_call_id) {
      return { found: true, carrierCallId: session.carrier_call_id, dispatchId: session.dispatch_id };
    }
    const since = Date.parse(session.created_at) - RECONCILE_SKEW_MS;
    const calls = await this.#request(() =>
      this.#client.calls.list({ to: attempt.call.callee_phone, from: this.#fromNumber(attempt), limit: 50 })
    );
    const recent = calls.filter((c) => c.dateCreated && c.dateCreated.getTime() >= since);
    const known = recent.length
      ? await this.settings.knownCallIds(recent.map((c) => c.sid))
      : new Set<string>();
    const ours = recent.filter((c) => !known.has(c.sid))
      .sort((a, b) => a.dateCreated.getTime() - b.dateCreated.getTime())[0];
    if (ours) return { found: true, carrierCallId: ours.sid, dispatchId: session.dispatch_id };
    // Not at Twilio: an agent dispatched for it would wait in an empty room.
    await this.#liveKit?.deleteRoom(session.room_name).catch(() => {});
    return { found: false };
  }

  async hangUp(session: LiveSession): Promise<void> {
    if (session.carrier_call_id) {
      try {
        await this.#request(() =>
          this.#client.calls(session.carrier_call_id!).update({ status: "completed" })
        );
      } catch (error) {
        if (!(error instanceof CarrierError && error.status === 404)) throw error;
      }
    }
    await this.#liveKit?.deleteRoom(session.room_name);
  }

  async transfer(session: LiveSession, toPhone: string, options: TransferOptions = {}): Promise<void> {
    if (!session.carrier_call_id) throw new TwilioApiError("rejected", "no_carrier_call");
    const target = dialableNumber("twilio", toPhone);
    const twiml = new twilio.twiml.VoiceResponse();
    twiml.dial(options.callerId ? { callerId: options.callerId } : {}, target);
    await this.#request(() =>
      this.#client.calls(session.carrier_call_id!).update({ twiml: twiml.toString() })
    );
  }
}

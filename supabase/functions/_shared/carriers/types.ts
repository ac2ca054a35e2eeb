// The common shape of the carriers (LiveKit SIP, Twilio, simulation) and of the attempts they originate.
// The dispatcher originates and reconciles; the public API hangs up and transfers (cancel, terminate,
// escalate to a human). Every method takes ids and settings, never logs a number or a name, and fails with a
// CarrierError (errors.ts) that says what the caller should do next.
import type { Carrier as CarrierName, VoicemailPolicy } from "../../../../shared/src/enums.ts";

export type { CarrierName };

/** The attempt as the database hands it out (begin_call_attempt / claim_reconciliations: `session`). */
export type AttemptSession = {
  id: string;
  intake_call_id: string;
  org_id: string;
  attempt_number: number;
  carrier: CarrierName;
  room_name: string;
  created_at: string;
  carrier_call_id: string | null;
  dispatch_id: string | null;
};

/** A learned IVR path (phone_system_classifications.ivr_steps): key presses timed from the answer. */
export type { IvrStep } from "../../../../shared/src/phone-system.ts";
import type { IvrStep } from "../../../../shared/src/phone-system.ts";

/** Everything a carrier needs to originate or reconcile an attempt (private.dispatch_context). */
export type AttemptContext = {
  session: AttemptSession;
  /** The number to dial: in memory only, never logged. */
  call: { callee_phone: string };
  template: { max_duration_seconds: number; voicemail_policy: VoicemailPolicy };
  organization: { caller_id: string | null; livekit_sip_trunk_id: string | null };
  /** Present while the number's fresh classification says an IVR answers (ivr_only, ivr_then_human). */
  ivr_steps: IvrStep[] | null;
};

/** An origination: the attempt plus the agent's credential for it (see agent-credential.ts). */
export type OriginationRequest = AttemptContext & {
  agentToken: string;
  /**
   * Epoch milliseconds after which no request of this origination may be sent (rate limiting may hold it):
   * from then on a reconciler may already be deciding about the attempt. Past it, the carrier sends nothing
   * and fails with the retryable code `send_window_passed`.
   */
  sendBy: number;
};

/** What the carrier created: recorded with mark_session_dialing. */
export type Origination = { carrierCallId: string | null; dispatchId: string | null };

/** Whether an origination whose answer was lost reached the carrier. */
export type Reconciliation =
  | { found: true; carrierCallId: string | null; dispatchId: string | null }
  | { found: false };

/** The attempt a live-call operation acts on (a call_sessions row). */
export type LiveSession = Pick<AttemptSession, "id" | "carrier" | "room_name" | "carrier_call_id">;

export type TransferOptions = {
  /** The number shown to the person the call is transferred to (Twilio: the org's caller id). */
  callerId?: string | null;
};

export interface CarrierClient {
  readonly name: CarrierName;
  /** Starts the attempt: the callee is dialled (or the agent dispatched to dial). */
  originate(request: OriginationRequest): Promise<Origination>;
  /** Asks the carrier whether an origination whose answer was lost arrived. Never originates. */
  reconcile(attempt: AttemptContext): Promise<Reconciliation>;
  /**
   * Ends the attempt's call at the carrier (cancel, terminate). Idempotent: a call or room that no longer exists
   * is already hung up. The attempt's outcome is recorded by the caller (record_session_outcome).
   */
  hangUp(session: LiveSession): Promise<void>;
  /**
   * Moves the callee to `toPhone` (E.164), e.g. the org's escalation number; the agent leaves the call. Fails
   * with CallInitiationError (and its SIP status) when the transfer target does not answer.
   */
  transfer(session: LiveSession, toPhone: string, options?: TransferOptions): Promise<void>;
}

// What went wrong at a carrier, and so what the dispatcher does with the call:
//   retryable     nothing was created (connection refused, 5xx, rate limited): back to the queue, no attempt spent
//   in_doubt      the request may have reached the carrier (timeout): reconcile before anything else
//   rejected      the carrier answered no for this call (invalid number, busy...): the attempt ends with `outcome`
//   misconfigured credentials, trunk or caller id missing or refused: back to the queue for later, nothing spent
// Messages carry codes and statuses only, never the carriers' own texts (Twilio's name the dialled number).
import { type DialOutcome, outcomeForSipStatus } from "../../../../shared/src/sip-status.ts";

export type CarrierFailure = "retryable" | "in_doubt" | "rejected" | "misconfigured";
export type Provider = "livekit" | "twilio";

export class CarrierError extends Error {
  readonly provider: Provider;
  readonly failure: CarrierFailure;
  /** A machine code without PHI, e.g. `twirp:unavailable`, `twilio:21211`, `timeout`. */
  readonly code: string;
  /** For `rejected`: how the attempt ends. */
  readonly outcome: DialOutcome | null;
  /** The SIP final response of a failed dial, when there was one. */
  readonly sipStatusCode: number | null;
  /** The HTTP status the API answered, when it answered. */
  readonly status: number | null;

  constructor(
    provider: Provider,
    failure: CarrierFailure,
    code: string,
    opts: { outcome?: DialOutcome; sipStatusCode?: number; status?: number; message?: string } = {},
  ) {
    super(opts.message ?? `${provider} ${failure}: ${code}${opts.status ? ` (HTTP ${opts.status})` : ""}`);
    this.name = new.target.name;
    this.provider = provider;
    this.failure = failure;
    this.code = code;
    this.outcome = opts.outcome ?? (failure === "rejected" ? "failed" : null);
    this.sipStatusCode = opts.sipStatusCode ?? null;
    this.status = opts.status ?? null;
  }
}

/** The number cannot be dialled (refused before dialling, by the API, or SIP 404/604). */
export class InvalidNumberError extends CarrierError {
  constructor(provider: Provider, code: string, opts: { sipStatusCode?: number; status?: number } = {}) {
    super(provider, "rejected", code, { ...opts, outcome: "invalid_number" });
  }
}

/** The dial itself failed with a SIP final response (busy, no answer, declined...). */
export class CallInitiationError extends CarrierError {
  constructor(provider: Provider, sipStatusCode: number, code = `sip:${sipStatusCode}`, status?: number) {
    super(provider, "rejected", code, { sipStatusCode, status, outcome: outcomeForSipStatus(sipStatusCode) });
  }
}

/** LiveKit's server API refused or failed the request (Twirp error), or could not be reached. */
export class LiveKitApiError extends CarrierError {
  constructor(failure: CarrierFailure, code: string, status?: number) {
    super("livekit", failure, code, { status });
  }
}

/** Twilio's REST API refused or failed the request, or could not be reached. */
export class TwilioApiError extends CarrierError {
  constructor(failure: CarrierFailure, code: string, opts: { status?: number; outcome?: DialOutcome } = {}) {
    super("twilio", failure, code, opts);
  }
}

/** A setting the carrier needs is missing (credentials, SIP trunk, caller id, public URL). */
export class CarrierNotConfiguredError extends CarrierError {
  constructor(provider: Provider, what: string) {
    super(provider, "misconfigured", `not_configured:${what}`, {
      message: `${provider} is not configured: ${what}`,
    });
  }
}

/** Throws, before anything is sent, when the origination's send window has passed (see OriginationRequest). */
export function ensureSendable(provider: Provider, sendBy: number | undefined): void {
  if (sendBy !== undefined && Date.now() > sendBy) {
    throw new CarrierError(provider, "retryable", "send_window_passed");
  }
}

/**
 * A fetch that threw before any answer: refused or unresolvable connections never reached the server
 * (retryable); a timeout or a connection lost mid-request may have (in doubt).
 */
export function transportFailure(error: unknown): { failure: CarrierFailure; code: string } {
  const name = error instanceof Error ? error.name : "";
  // Deno's fetch says "fetch failed" and puts the reason in `cause`; axios (twilio-node) sets `code`.
  let text = "";
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    text += ` ${e.name} ${e.message} ${String((e as { code?: unknown }).code ?? "")}`;
  }
  if (
    name === "TimeoutError" || name === "AbortError" || /timeout|timed out|ECONNABORTED|ETIMEDOUT/i.test(text)
  ) {
    return { failure: "in_doubt", code: "timeout" };
  }
  if (/ECONNREFUSED|connection refused|ENOTFOUND|dns error|failed to lookup|tcp connect error/i.test(text)) {
    return { failure: "retryable", code: "connection_refused" };
  }
  return { failure: "in_doubt", code: "connection_lost" };
}

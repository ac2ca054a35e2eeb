// What the conversation asks of the phone line. The room/SIP plumbing implements it for real calls
// (room-telephony.ts); a text session (tests, simulated calls) uses TextTelephony, which only records
// what a line would have been asked to do.

export interface Telephony {
  /** Cold-transfers the callee to an E.164 number; resolves once the carrier accepted the transfer. */
  transfer(phone: string): Promise<void>;
  /** Sends DTMF digits ("1", "2#", ...) into the call, in order. */
  sendDtmf(digits: string): Promise<void>;
  /** Ends the call for every participant. */
  hangUp(): Promise<void>;
}

export type TelephonyAction =
  | { kind: "transfer"; phone: string }
  | { kind: "dtmf"; digits: string }
  | { kind: "hang_up" };

/** The line of a call held in text: every request is recorded, in order, and succeeds. */
export class TextTelephony implements Telephony {
  readonly actions: TelephonyAction[] = [];

  transfer(phone: string): Promise<void> {
    this.actions.push({ kind: "transfer", phone });
    return Promise.resolve();
  }

  sendDtmf(digits: string): Promise<void> {
    this.actions.push({ kind: "dtmf", digits });
    return Promise.resolve();
  }

  hangUp(): Promise<void> {
    this.actions.push({ kind: "hang_up" });
    return Promise.resolve();
  }
}

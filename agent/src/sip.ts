// SIP facts the runner needs, kept free of any room so they can be checked on their own.

/** LiveKit's participant attribute with the SIP call state; "active" once the callee answered. */
export const SIP_CALL_STATUS = "sip.callStatus";

/** DTMF event codes as LiveKit's publishDtmf takes them (RFC 4733: 0-9, * = 10, # = 11, A-D = 12-15). */
export function dtmfCode(digit: string): number {
  if (/^[0-9]$/.test(digit)) return Number(digit);
  if (digit === "*") return 10;
  if (digit === "#") return 11;
  if (/^[A-D]$/.test(digit)) return 12 + digit.charCodeAt(0) - 65;
  throw new Error(`not a DTMF digit: ${digit}`);
}

/** The server API host for an agent's LiveKit URL (wss://x -> https://x). */
export function livekitApiHost(url: string): string {
  return url.replace(/^ws(s?):\/\//, "http$1://");
}

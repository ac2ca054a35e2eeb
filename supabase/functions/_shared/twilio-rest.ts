// The one Twilio REST call the webhooks make: updating a live call (hang it up, or replace its TwiML), with
// fetch and Basic auth rather than the `twilio` package, whose import costs ~170 ms on a cold start.
// TWILIO_API_URL points it elsewhere (the loopback double in tests); Twilio's own is the default.
import type { Env } from "./env.ts";

const DEFAULT_API_URL = "https://api.twilio.com";
const TIMEOUT_MS = 5_000;

export type CallUpdate = { Status: "completed" } | { Twiml: string };

/** POST /2010-04-01/Accounts/{sid}/Calls/{callSid}.json; true on a 2xx answer, false otherwise or on timeout. */
export async function updateTwilioCall(env: Env, callSid: string, update: CallUpdate): Promise<boolean> {
  const accountSid = env.TWILIO_ACCOUNT_SID;
  const authToken = env.TWILIO_AUTH_TOKEN;
  if (!accountSid || !authToken) return false;
  const base = (env.TWILIO_API_URL ?? DEFAULT_API_URL).replace(/\/+$/, "");
  try {
    const res = await fetch(`${base}/2010-04-01/Accounts/${accountSid}/Calls/${callSid}.json`, {
      method: "POST",
      headers: {
        Authorization: `Basic ${btoa(`${accountSid}:${authToken}`)}`,
        "Content-Type": "application/x-www-form-urlencoded",
      },
      body: new URLSearchParams(update).toString(),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

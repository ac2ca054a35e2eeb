// The carriers, built once per function instance from its environment, and the one way to pick the carrier of
// an attempt. The public API uses it for cancel / terminate / escalate:
//
//   const carriers = await createCarriers(env, { knownCallIds });
//   const carrier = carriers.for(session.carrier);        // throws CarrierNotConfiguredError
//   await carrier.hangUp(session);                         // then record_session_outcome(session, 'cancelled', ...)
//   await carrier.transfer(session, org.escalation_phone, { callerId: org.caller_id });
//
// Settings (all optional; a carrier without its settings is "not configured"):
//   LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET, LIVEKIT_SIP_TRUNK_ID
//   TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER, TWILIO_API_URL, PUBLIC_FUNCTIONS_URL
//   SIMULATION_AGENT_URL          without LiveKit: where simulated calls' jobs go (the local simulation runner)
//   DISPATCH_CARRIER_TIMEOUT_MS   per request to LiveKit or Twilio (default 10000)
//   DISPATCH_LIVEKIT_RPS          requests per second to LiveKit's API (default 50)
//   DISPATCH_TWILIO_CPS           calls.create per second, the account's CPS (default 1, Twilio's default)
import type { Sql } from "../database.ts";
import { type Env, numberSetting } from "../env.ts";
import { TokenBucket } from "../rate-limit.ts";
import { CarrierNotConfiguredError } from "./errors.ts";
import { carrierTimeoutMs, liveKitApiFromEnv, LiveKitCarrier } from "./livekit.ts";
import { SimulationCarrier } from "./simulation.ts";
import { WebCarrier } from "./web.ts";
import type { CarrierClient, CarrierName } from "./types.ts";
import type { TwilioCarrier } from "./twilio.ts";

export * from "./errors.ts";
export type * from "./types.ts";
export { carrierTimeoutMs, LiveKitApi, LiveKitCarrier } from "./livekit.ts";
export { SimulationCarrier } from "./simulation.ts";
export { WebCarrier } from "./web.ts";

export type Carriers = {
  /** The carrier of an attempt; CarrierNotConfiguredError when its settings are missing. */
  for(name: CarrierName): CarrierClient;
};

export async function createCarriers(
  env: Env,
  deps: { knownCallIds(sids: string[]): Promise<Set<string>> },
): Promise<Carriers> {
  const timeoutMs = carrierTimeoutMs(env);
  const liveKit = liveKitApiFromEnv(env);
  let twilio: TwilioCarrier | null = null;
  if (env.TWILIO_ACCOUNT_SID && env.TWILIO_AUTH_TOKEN) {
    // Loaded only where Twilio is configured: the package costs ~170 ms of start-up.
    const { TwilioCarrier } = await import("./twilio.ts");
    twilio = new TwilioCarrier({
      accountSid: env.TWILIO_ACCOUNT_SID,
      authToken: env.TWILIO_AUTH_TOKEN,
      fromNumber: env.TWILIO_FROM_NUMBER || null,
      publicFunctionsUrl: env.PUBLIC_FUNCTIONS_URL || null,
      apiBaseUrl: env.TWILIO_API_URL || null,
      requestTimeoutMs: timeoutMs,
      callsPerSecond: new TokenBucket(numberSetting(env, "DISPATCH_TWILIO_CPS", 1)),
      knownCallIds: deps.knownCallIds,
    }, liveKit);
  }
  const byName: Partial<Record<CarrierName, CarrierClient>> = {
    simulation: new SimulationCarrier(liveKit, env.SIMULATION_AGENT_URL || null, timeoutMs),
    ...(liveKit ? { livekit: new LiveKitCarrier(liveKit), web: new WebCarrier(liveKit) } : {}),
    ...(twilio ? { twilio } : {}),
  };
  return {
    for(name) {
      const carrier = byName[name];
      if (!carrier) throw new CarrierNotConfiguredError(name === "twilio" ? "twilio" : "livekit", name);
      return carrier;
    },
  };
}

/** The carriers of a function instance that talks to the database: Twilio reconciliation asks which call ids
 * are already some attempt's. */
export function carriersFor(env: Env, sql: Sql): Promise<Carriers> {
  return createCarriers(env, {
    knownCallIds: async (sids) => {
      const rows = await sql<
        { sid: string }[]
      >`select public.known_carrier_call_ids('twilio', ${sids}::text[]) as sid`;
      return new Set(rows.map((r) => r.sid));
    },
  });
}

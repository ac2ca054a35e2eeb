// The public API's request bodies (`POST /functions/v1/intake-calls` and its batch form) and list
// query. Field names follow seed 000 (`phone_number`, `template_id`, `organization_id`, `patient_id`,
// `intake_id`, `greeting_override`); the rest are this platform's scheduling and context options.
import { z } from "zod";
import { Carrier, IntakeCallStatus } from "./enums.ts";
import { Scenario } from "./simulation.ts";

export const MAX_BATCH_CALLS = 1000;

const timestamp = z.iso.datetime({ offset: true });

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** IANA zone of the callee: calling windows apply in it (the org's zone when absent). */
export const CalleeTimeZone = z.string().min(1).max(64).refine(
  isTimeZone,
  "not an IANA time zone (e.g. America/New_York)",
);

/** `{{name}}` placeholders of the greeting and prompt: short scalar values only. */
export const CallVariables = z
  .record(
    z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, "variable names are letters, digits and _"),
    z.union([z.string().max(2000), z.number(), z.boolean(), z.null()]),
  )
  .refine((v) => Object.keys(v).length <= 50, "at most 50 variables");

export const IntakeCallRequest = z
  .object({
    phone_number: z.string().min(3).max(32),
    template_id: z.uuid(),
    /** Optional with an API key (the key's org) or for a user in exactly one organisation. */
    organization_id: z.uuid().optional(),
    patient_id: z.uuid().nullish(),
    /** The app's id of this intake: the idempotency key (the `Idempotency-Key` header also works). */
    intake_id: z.string().min(1).max(200).nullish(),
    greeting_override: z.string().max(1000).nullish(),
    callee_name: z.string().max(200).nullish(),
    callee_timezone: CalleeTimeZone.nullish(),
    /** Two-letter country for numbers written in national format. */
    phone_country: z.string().regex(/^[A-Z]{2}$/).optional(),
    external_ref: z.string().min(1).max(200).nullish(),
    variables: CallVariables.default({}),
    not_before: timestamp.nullish(),
    deadline: timestamp.nullish(),
    priority: z.number().int().min(-100).max(100).default(0),
    /** `web` calls are created by POST /web-calls, which also returns the browser's room token. */
    carrier: Carrier.exclude(["web"]).default("livekit"),
    /** carrier "simulation": the scenario the simulated callee plays (simulations/<template>/*.json). */
    simulation: Scenario.optional(),
  })
  // A scenario on a call that is not simulated is refused by the database's simulation_only_for_simulated_calls
  // (422 constraint_violation), as a deadline before not_before is by deadline_after_start.
  .strict();
export type IntakeCallRequest = z.infer<typeof IntakeCallRequest>;

/** The batch form: each call is validated on its own; `defaults` fill what items leave out. */
export const IntakeCallBatchRequest = z
  .object({
    defaults: z.record(z.string(), z.unknown()).default({}),
    calls: z.array(z.record(z.string(), z.unknown())).min(1).max(MAX_BATCH_CALLS),
  })
  .strict();
export type IntakeCallBatchRequest = z.infer<typeof IntakeCallBatchRequest>;

/**
 * Why a queued call waits, as `GET /intake-calls/{id}` and the list answer it (`waiting_reason`; null once the
 * call is no longer queued). The database computes it from the scheduler's own rules
 * (private.call_waiting_reason); `until` is when the reason ends, where one applies.
 */
export const WaitingReasonCode = z.enum([
  "deadline_passed",
  "carrier_not_configured",
  "retry_scheduled",
  "not_before",
  "outside_calling_window",
  "do_not_call",
  "org_cap_reached",
  "platform_cap_reached",
  "due",
]);
export const WaitingReason = z
  .object({ code: WaitingReasonCode, message: z.string(), until: timestamp.nullable() })
  .strict();
export type WaitingReason = z.infer<typeof WaitingReason>;

/** `status=queued,failed`: a comma-separated list of statuses. */
const StatusList = z
  .string()
  .transform((s) => s.split(",").map((x) => x.trim()).filter(Boolean))
  .pipe(z.array(IntakeCallStatus).min(1).max(8));

/** `GET /intake-calls?…`: filters and cursor pagination (newest first). */
export const IntakeCallListQuery = z
  .object({
    organization_id: z.uuid().optional(),
    status: StatusList.optional(),
    template_id: z.uuid().optional(),
    external_ref: z.string().min(1).max(200).optional(),
    created_after: timestamp.optional(),
    created_before: timestamp.optional(),
    limit: z.coerce.number().int().min(1).max(100).default(50),
    cursor: z.string().max(200).optional(),
  })
  .strict();
export type IntakeCallListQuery = z.infer<typeof IntakeCallListQuery>;

/** `POST /intake-calls/{id}/cancel|escalate|terminate`: an optional reason for the audit trail. */
export const CallActionRequest = z.object({ reason: z.string().max(500).optional() }).strict();

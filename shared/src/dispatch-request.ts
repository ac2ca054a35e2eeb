// The body the database POSTs to the `dispatch` edge function (pg_cron tick, insert trigger).
import { z } from "zod";

export const DispatchClaim = z.object({ intake_call_id: z.uuid(), claim_token: z.uuid() });

export const DispatchRequest = z.object({
  /** Why the dispatcher was woken: `tick` (pg_cron), `insert` (a due row was inserted), `manual`. */
  reason: z.string().max(64).default("manual"),
  /** Calls the scheduler already claimed for this dispatcher; it claims more itself when absent. */
  claims: z.array(DispatchClaim).max(1000).default([]),
});
export type DispatchRequest = z.infer<typeof DispatchRequest>;

// POST /intake-calls/{id}/cancel | escalate | terminate. The database records the decision first
// (so the carrier's later callbacks are late no-ops), then the live call is acted on at the carrier.
import { CallActionRequest } from "../../../shared/src/intake-call-request.ts";
import { CarrierError, type Carriers, type LiveSession } from "../_shared/carriers/index.ts";
import { apiErrorResponse } from "../_shared/database-errors.ts";
import { json } from "../_shared/http.ts";
import { isApiError, parseJson, readBody, validationError } from "../_shared/request-body.ts";
import type { RunAsCaller } from "./create.ts";
import { NOT_FOUND } from "./read.ts";

export type CallAction = "cancel" | "escalate" | "terminate";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type Live = {
  session_id: string;
  carrier: LiveSession["carrier"];
  room_name: string;
  carrier_call_id: string | null;
};
type CarrierStep = { action: "hang_up" | "transfer"; ok: boolean; error?: string };

export async function callAction(
  req: Request,
  id: string,
  action: CallAction,
  run: RunAsCaller,
  carriers: () => Promise<Carriers>,
) {
  if (!UUID.test(id)) return apiErrorResponse(NOT_FOUND);
  const body = await readBody(req, 16 * 1024);
  if (isApiError(body)) return apiErrorResponse(body);
  let reason: string | undefined;
  if (body.byteLength > 0) {
    const parsed = parseJson(body);
    if (isApiError(parsed)) return apiErrorResponse(parsed);
    const request = CallActionRequest.safeParse(parsed.value);
    if (!request.success) return apiErrorResponse(validationError(request.error.issues));
    reason = request.data.reason;
  }
  const result = await run(async (tx) => {
    let live: (Live & { transfer_to?: string }) | null;
    if (action === "cancel") {
      await tx`select public.cancel_intake_call(${id}, ${reason ?? null})`;
      // A live call was only marked: it is hung up below and ends as cancelled when the carrier reports.
      [live = null] = await tx<Live[]>`
        select s.id as session_id, s.carrier, s.room_name, s.carrier_call_id
          from public.call_sessions s join public.intake_calls c on c.id = s.intake_call_id
         where c.id = ${id} and c.status = 'in_progress' and s.status in ('dialing', 'ringing', 'answered')
         order by s.attempt_number desc limit 1`;
    } else {
      const [row] = await tx<{ live: Live & { transfer_to?: string } }[]>`
        select ${action === "escalate" ? tx`public.escalate_intake_call` : tx`public.terminate_intake_call`}(
          ${id}, ${reason ?? null}) as live`;
      live = row.live;
    }
    const [call] = await tx<{ call: Record<string, unknown> }[]>`
      select private.intake_call_summary(c) as call from public.intake_calls c where c.id = ${id}`;
    return { intake_call: call.call, live };
  });
  if (result instanceof Response) return result;
  // The decision is committed; now the carrier acts on the live call. Its failure does not undo the
  // decision (the carrier's own end-of-call report is then a late no-op): the app sees what happened.
  let carrier: CarrierStep | undefined;
  if (result.live) carrier = await actAtCarrier(result.live, carriers);
  return json(
    { action, intake_call: result.intake_call, ...(carrier ? { carrier } : {}) },
    result.live ? 202 : 200,
  );
}

async function actAtCarrier(live: Live & { transfer_to?: string }, carriers: () => Promise<Carriers>) {
  const step: CarrierStep["action"] = live.transfer_to ? "transfer" : "hang_up";
  try {
    const carrier = (await carriers()).for(live.carrier);
    const session: LiveSession = {
      id: live.session_id,
      carrier: live.carrier,
      room_name: live.room_name,
      carrier_call_id: live.carrier_call_id,
    };
    if (live.transfer_to) await carrier.transfer(session, live.transfer_to);
    else await carrier.hangUp(session);
    return { action: step, ok: true };
  } catch (err) {
    const code = err instanceof CarrierError ? err.code : err instanceof Error ? err.name : "carrier_error";
    console.error(
      JSON.stringify({
        level: "warn",
        msg: "carrier action failed",
        step,
        session_id: live.session_id,
        code,
      }),
    );
    return { action: step, ok: false, error: code };
  }
}

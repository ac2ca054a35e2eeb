// POST /intake-calls/{id}/cancel | escalate | terminate. The database records the decision first
// (so the carrier's later callbacks are late no-ops), then the live call is acted on at the carrier.
import { CallActionRequest } from "../../../shared/src/intake-call-request.ts";
import { apiErrorResponse } from "../_shared/database-errors.ts";
import { json } from "../_shared/http.ts";
import { isApiError, parseJson, readBody } from "../_shared/request-body.ts";
import { type RunAsCaller, validationError } from "./create.ts";
import { NOT_FOUND } from "./read.ts";

export type CallAction = "cancel" | "escalate" | "terminate";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function callAction(req: Request, id: string, action: CallAction, run: RunAsCaller) {
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
    if (action === "cancel") {
      const [row] = await tx<{ call: Record<string, unknown> }[]>`
        select private.intake_call_summary(c) as call from public.cancel_intake_call(${id}, ${
        reason ?? null
      }) c`;
      return { intake_call: row.call };
    }
    const [row] = await tx<{ live: Record<string, unknown> }[]>`
      select ${action === "escalate" ? tx`public.escalate_intake_call` : tx`public.terminate_intake_call`}(
        ${id}, ${reason ?? null}) as live`;
    const [call] = await tx<{ call: Record<string, unknown> }[]>`
      select private.intake_call_summary(c) as call from public.intake_calls c where c.id = ${id}`;
    return { intake_call: call.call, live: row.live };
  });
  if (result instanceof Response) return result;
  const status = String(result.intake_call.status);
  // Accepted (202) when the carrier still has to act on a live call; done (200) otherwise.
  const pending = action !== "cancel" || status === "in_progress";
  return json({ action, intake_call: result.intake_call }, pending ? 202 : 200);
}

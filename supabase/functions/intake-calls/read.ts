// GET /intake-calls/{id}: one call with its attempts, transcript, results, escalations and audit
// trail (by our id or the app's intake_id). GET /intake-calls: filters and cursor pagination.
// Both run as the caller: row-level security decides what is visible.
import { IntakeCallListQuery } from "../../../shared/src/intake-call-request.ts";
import type { Tx } from "../_shared/database.ts";
import { type ApiError, apiErrorResponse } from "../_shared/database-errors.ts";
import { json } from "../_shared/http.ts";
import { validationError } from "../_shared/request-body.ts";
import type { RunAsCaller } from "./create.ts";

export const NOT_FOUND: ApiError = {
  status: 404,
  code: "intake_call_not_found",
  message: "intake call not found",
};

export async function getCall(ref: string, run: RunAsCaller): Promise<Response> {
  const result = await run(async (tx) => {
    const [row] = await tx<{ call: Record<string, unknown> | null }[]>`
      select public.intake_call_details(${ref}) as call`;
    return row.call;
  });
  if (result instanceof Response) return result;
  return result ? json(result) : apiErrorResponse(NOT_FOUND);
}

/** Cursor: the (created_at, id) of the last row of the previous page, opaque to clients. */
function encodeCursor(createdAt: string, id: string): string {
  return btoa(JSON.stringify([createdAt, id])).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function decodeCursor(cursor: string): [string, string] | null {
  try {
    const [createdAt, id] = JSON.parse(atob(cursor.replace(/-/g, "+").replace(/_/g, "/")));
    if (typeof createdAt !== "string" || Number.isNaN(Date.parse(createdAt))) return null;
    if (typeof id !== "string" || !/^[0-9a-f-]{36}$/i.test(id)) return null;
    return [createdAt, id];
  } catch {
    return null;
  }
}

export async function listCalls(url: URL, run: RunAsCaller): Promise<Response> {
  const parsed = IntakeCallListQuery.safeParse(Object.fromEntries(url.searchParams));
  if (!parsed.success) {
    return apiErrorResponse({ ...validationError(parsed.error.issues), message: "invalid query" });
  }
  const q = parsed.data;
  const after = q.cursor ? decodeCursor(q.cursor) : null;
  if (q.cursor && !after) {
    return apiErrorResponse({
      status: 400,
      code: "invalid_cursor",
      message: "the cursor is not one this API gave",
    });
  }
  const result = await run(async (tx: Tx) => {
    const rows = await tx<{ call: Record<string, unknown>; created_at: string; id: string }[]>`
      select private.intake_call_summary(c) as call, to_json(c.created_at) #>> '{}' as created_at, c.id
        from public.intake_calls c
       where true
         ${q.organization_id ? tx`and c.org_id = ${q.organization_id}` : tx``}
         ${q.status ? tx`and c.status = any(${q.status}::public.intake_call_status[])` : tx``}
         ${q.template_id ? tx`and c.template_id = ${q.template_id}` : tx``}
         ${q.external_ref ? tx`and c.external_ref = ${q.external_ref}` : tx``}
         ${q.created_after ? tx`and c.created_at >= ${q.created_after}::timestamptz` : tx``}
         ${q.created_before ? tx`and c.created_at < ${q.created_before}::timestamptz` : tx``}
         ${after ? tx`and (c.created_at, c.id) < (${after[0]}::timestamptz, ${after[1]}::uuid)` : tx``}
       order by c.created_at desc, c.id desc
       limit ${q.limit + 1}`;
    return rows;
  });
  if (result instanceof Response) return result;
  const page = result.slice(0, q.limit);
  const last = page.at(-1);
  return json({
    data: page.map((r) => r.call),
    next_cursor: result.length > q.limit && last ? encodeCursor(last.created_at, last.id) : null,
  });
}

// POST /intake-calls: one call (JSON object), a batch (`{ "defaults": {…}, "calls": […] }`, up to
// 1,000, each validated on its own), or a CSV upload (a phone column plus variable columns; the other
// fields as query parameters). Every call goes through `public.create_intake_call` as the caller.
import { parse as parseCsv } from "csv-parse/sync";
import {
  IntakeCallBatchRequest,
  IntakeCallRequest,
  MAX_BATCH_CALLS,
} from "../../../shared/src/intake-call-request.ts";
import { toDialableE164 } from "../../../shared/src/phone.ts";
import type { CountryCode } from "libphonenumber-js";
import type { Caller } from "../_shared/auth.ts";
import type { Tx } from "../_shared/database.ts";
import { type ApiError, apiErrorResponse, describeDatabaseError } from "../_shared/database-errors.ts";
import { json } from "../_shared/http.ts";
import { isApiError, parseJson, readBody, validationError } from "../_shared/request-body.ts";
import { sha256Hex } from "../../../shared/src/bytes.ts";

export const MAX_BODY_BYTES = 5 * 1024 * 1024;

/** A call ready for the database: the JSON `create_intake_call` takes, and the hash of the request. */
type PreparedCall = { call: Record<string, unknown>; organizationId: string | undefined; hash: string };
type ItemResult =
  | { index: number; status: 200 | 201; intake_call: Record<string, unknown> }
  | { index: number; status: number; error: Omit<ApiError, "status" | "headers"> };

export type RunAsCaller = <T>(fn: (tx: Tx) => Promise<T>) => Promise<T | Response>;

export async function createCalls(req: Request, caller: Caller, run: RunAsCaller): Promise<Response> {
  const type = (req.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
  if (type !== "application/json" && type !== "text/csv") {
    return apiErrorResponse({
      status: 415,
      code: "unsupported_media_type",
      message: "send application/json (one call or a batch) or text/csv",
    });
  }
  const body = await readBody(req, MAX_BODY_BYTES);
  if (isApiError(body)) return apiErrorResponse(body);
  const headerKey = req.headers.get("idempotency-key")?.trim() || null;
  if (headerKey && headerKey.length > 200) {
    return apiErrorResponse({
      status: 400,
      code: "invalid_idempotency_key",
      message: "at most 200 characters",
    });
  }

  if (type === "text/csv") {
    const rows = csvCalls(body, new URL(req.url).searchParams);
    if (isApiError(rows)) return apiErrorResponse(rows);
    return await createBatch(rows.defaults, rows.calls, headerKey, caller, run);
  }
  const parsed = parseJson(body);
  if (isApiError(parsed)) return apiErrorResponse(parsed);
  const value = parsed.value;
  if (typeof value === "object" && value !== null && !Array.isArray(value) && "calls" in value) {
    const batch = IntakeCallBatchRequest.safeParse(value);
    if (!batch.success) {
      const tooMany = batch.error.issues.some((i) => i.code === "too_big" && i.path[0] === "calls");
      return apiErrorResponse(
        tooMany
          ? { status: 413, code: "too_many_calls", message: `a batch holds at most ${MAX_BATCH_CALLS} calls` }
          : validationError(batch.error.issues),
      );
    }
    return await createBatch(batch.data.defaults, batch.data.calls, headerKey, caller, run);
  }
  return await createOne(value, headerKey, caller, run);
}

async function createOne(value: unknown, headerKey: string | null, caller: Caller, run: RunAsCaller) {
  const prepared = await prepareCall(value, headerKey);
  if (isApiError(prepared)) return apiErrorResponse(prepared);
  const result = await run(async (tx) => {
    const org = await resolveOrganization(tx, caller, prepared.organizationId);
    if (isApiError(org)) return org;
    return await insertCall(tx, prepared, org);
  });
  if (result instanceof Response) return result;
  if (isApiError(result)) return apiErrorResponse(result);
  const id = String(result.intake_call.id);
  return json(result.intake_call, result.created ? 201 : 200, {
    Location: `/functions/v1/intake-calls/${id}`,
    ...(result.created ? {} : { "Idempotent-Replayed": "true" }),
  });
}

async function createBatch(
  defaults: Record<string, unknown>,
  items: Record<string, unknown>[],
  headerKey: string | null,
  caller: Caller,
  run: RunAsCaller,
): Promise<Response> {
  // Validation needs no database: it happens before the transaction starts.
  const prepared = await Promise.all(
    items.map((item, i) => prepareCall({ ...defaults, ...item }, headerKey ? `${headerKey}:${i}` : null)),
  );
  const results = await run(async (tx) => {
    const out: ItemResult[] = [];
    const orgs = new Map<string | undefined, string | ApiError>();
    for (const [index, p] of prepared.entries()) {
      if (isApiError(p)) {
        out.push(itemError(index, p));
        continue;
      }
      if (!orgs.has(p.organizationId)) {
        orgs.set(p.organizationId, await resolveOrganization(tx, caller, p.organizationId));
      }
      const org = orgs.get(p.organizationId)!;
      if (isApiError(org)) {
        out.push(itemError(index, org));
        continue;
      }
      try {
        // A savepoint per call: one refused call does not undo the others.
        const r = await tx.savepoint((sp) => insertCall(sp as unknown as Tx, p, org));
        out.push(
          isApiError(r) ? itemError(index, r) : {
            index,
            status: r.created ? 201 : 200,
            intake_call: r.intake_call,
          },
        );
      } catch (err) {
        // A refusal (business rule, constraint) is this item's answer; an outage is the whole request's.
        const refusal = describeDatabaseError(err);
        if (refusal.status >= 500) throw err;
        out.push(itemError(index, refusal));
      }
    }
    return out;
  });
  if (results instanceof Response) return results;
  const created = results.filter((r) => r.status === 201).length;
  const existing = results.filter((r) => r.status === 200).length;
  return json({ created, existing, failed: results.length - created - existing, results }, 200);
}

function itemError(index: number, e: ApiError): ItemResult {
  return { index, status: e.status, error: { code: e.code, message: e.message, details: e.details } };
}

/** Parses and normalises one call: everything that needs no database. */
async function prepareCall(value: unknown, fallbackKey: string | null): Promise<PreparedCall | ApiError> {
  const parsed = IntakeCallRequest.safeParse(value);
  if (!parsed.success) return validationError(parsed.error.issues);
  const r = parsed.data;
  const phone = toDialableE164(r.phone_number, r.phone_country as CountryCode | undefined);
  if (!phone.ok) {
    return {
      status: 422,
      code: "invalid_phone_number",
      message: `phone_number is ${phone.message}`,
      details: { reason: phone.reason },
    };
  }
  if (r.deadline && Date.parse(r.deadline) <= Date.now()) {
    return { status: 422, code: "deadline_passed", message: "the deadline is already in the past" };
  }
  const key = r.intake_id ?? fallbackKey;
  const call = {
    template_id: r.template_id,
    callee_phone: phone.e164,
    callee_timezone: r.callee_timezone ?? null,
    callee_name: r.callee_name ?? null,
    patient_id: r.patient_id ?? null,
    external_ref: r.external_ref ?? null,
    idempotency_key: key,
    variables: r.variables,
    greeting_override: r.greeting_override ?? null,
    carrier: r.carrier,
    priority: r.priority,
    not_before: r.not_before ?? null,
    deadline: r.deadline ?? null,
    simulation: r.simulation ?? null,
  };
  return { call, organizationId: r.organization_id, hash: await requestHash(call) };
}

/** The same request (after defaults and normalisation) always hashes the same: key order is sorted. */
async function requestHash(call: Record<string, unknown>): Promise<string> {
  const canonical = JSON.stringify(
    call,
    (_k, v) =>
      v && typeof v === "object" && !Array.isArray(v)
        ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)))
        : v,
  );
  return await sha256Hex(canonical);
}

/** The organisation a call is for: as given, else the API key's, else the user's only one. */
async function resolveOrganization(
  tx: Tx,
  caller: Caller,
  requested: string | undefined,
): Promise<string | ApiError> {
  if (requested) return requested;
  if (caller.orgId) return caller.orgId; // an API key acts for its one organization
  const orgs = await tx<{ id: string }[]>`select id from public.organizations limit 2`;
  if (orgs.length === 1) return orgs[0].id;
  return {
    status: 400,
    code: "organization_required",
    message: orgs.length
      ? "you belong to several organizations: give organization_id"
      : "you belong to no organization",
  };
}

async function insertCall(tx: Tx, p: PreparedCall, org: string) {
  const [row] = await tx<{ intake_call: Record<string, unknown>; created: boolean }[]>`
    select private.intake_call_summary(r.intake_call) as intake_call, r.created
      from public.create_intake_call(${tx.json({ ...p.call, org_id: org } as never)}, ${p.hash}) r`;
  return row;
}

// CSV ---------------------------------------------------------------------------------------------------
export const CSV_PHONE_COLUMNS = [
  "phone_number",
  "phone",
  "phone number",
  "number",
  "to",
  "mobile",
  "telephone",
];
export const CSV_FIELD_COLUMNS: Record<string, string> = {
  intake_id: "intake_id",
  external_ref: "external_ref",
  external_id: "external_ref",
  patient_id: "patient_id",
  callee_name: "callee_name",
  name: "callee_name",
  callee_timezone: "callee_timezone",
  timezone: "callee_timezone",
  not_before: "not_before",
  deadline: "deadline",
  priority: "priority",
};
export const CSV_QUERY_FIELDS = [
  "template_id",
  "organization_id",
  "carrier",
  "callee_timezone",
  "phone_country",
  "not_before",
  "deadline",
  "priority",
];

/**
 * The format campaign tools export: a header row, one call per row, a phone column (CSV_PHONE_COLUMNS),
 * optional known columns (CSV_FIELD_COLUMNS) and any other column as a prompt variable. What applies
 * to every row (CSV_QUERY_FIELDS: template_id, organization_id, carrier, …) comes as query parameters.
 * The OpenAPI description is built from the same lists.
 */
function csvCalls(
  body: Uint8Array,
  query: URLSearchParams,
): { defaults: Record<string, unknown>; calls: Record<string, unknown>[] } | ApiError {
  let records: Record<string, string>[];
  try {
    records = parseCsv(new TextDecoder("utf-8", { fatal: true }).decode(body), {
      columns: (header: string[]) => header.map((h) => h.trim().toLowerCase()),
      skip_empty_lines: true,
      trim: true,
      bom: true,
    });
  } catch (err) {
    const line = (err as { lines?: number }).lines;
    return { status: 400, code: "invalid_csv", message: "the CSV could not be read", details: { line } };
  }
  if (records.length === 0) return { status: 400, code: "invalid_csv", message: "the CSV has no rows" };
  if (records.length > MAX_BATCH_CALLS) {
    return { status: 413, code: "too_many_calls", message: `a batch holds at most ${MAX_BATCH_CALLS} calls` };
  }
  const phoneColumn = CSV_PHONE_COLUMNS.find((c) => c in records[0]);
  if (!phoneColumn) {
    return {
      status: 400,
      code: "invalid_csv",
      message: `the CSV needs a phone column (${CSV_PHONE_COLUMNS.join(", ")})`,
    };
  }
  const defaults: Record<string, unknown> = {};
  for (const name of CSV_QUERY_FIELDS) {
    const v = query.get(name);
    if (v !== null && v !== "") defaults[name] = name === "priority" && /^-?\d+$/.test(v) ? Number(v) : v;
  }
  const calls = records.map((record) => {
    const call: Record<string, unknown> = { phone_number: record[phoneColumn] };
    const variables: Record<string, string> = {};
    for (const [column, value] of Object.entries(record)) {
      if (column === phoneColumn || value === "") continue;
      const field = CSV_FIELD_COLUMNS[column];
      if (field) call[field] = field === "priority" && /^-?\d+$/.test(value) ? Number(value) : value;
      else variables[column.replace(/[^a-z0-9_]+/g, "_")] = value;
    }
    call.variables = variables;
    return call;
  });
  return { defaults, calls };
}

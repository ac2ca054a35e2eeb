// Every enum of the database's public schema against its one TypeScript list (enums.ts), read from pg_enum
// of the real migrated test database, so a value added, renamed, removed or moved on either side fails here
// rather than as a refused row or a zod error in production. Order counts for every list: a state machine's
// order is meaningful (enum comparison, session_status only moves forward), and for the others keeping the
// database's order costs nothing and keeps the two easy to read side by side.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import postgres from "postgres";
import * as enums from "./enums.ts";

/** Each public enum and its TypeScript list. */
const TYPESCRIPT_LISTS: Record<string, readonly string[]> = {
  member_role: enums.MemberRole.options,
  call_purpose: enums.CallPurpose.options,
  voicemail_policy: enums.VoicemailPolicy.options,
  field_type: enums.FieldType.options,
  call_carrier: enums.Carrier.options,
  intake_call_status: enums.IntakeCallStatus.options,
  session_status: enums.SessionStatus.options,
  call_outcome: enums.CallOutcome.options,
  answered_by: enums.AnsweredBy.options,
  speaker: enums.Speaker.options,
  event_source: enums.EventSource.options,
  escalation_level: enums.EscalationLevel.options,
  phone_system_type: enums.PhoneSystemType.options,
  delivery_status: enums.DeliveryStatus.options,
};

/** Public enums no TypeScript names, and why (a TypeScript copy would be dead code). */
const SQL_ONLY: Record<string, string> = {
  dnc_source: "do-not-call entries are written by SQL (a spoken opt-out through agent_end_call), Studio or " +
    "imports; no TypeScript code reads or writes their source",
};

const url = process.env.TEST_DATABASE_URL;
if (!url) throw new Error("TEST_DATABASE_URL is needed (run through npm test)");
const sql = postgres(url, { max: 1, onnotice: () => {} });
after(() => sql.end());

async function publicEnums(): Promise<Map<string, string[]>> {
  const rows = await sql<{ name: string; labels: string[] }[]>`
    select t.typname as name, array_agg(e.enumlabel::text order by e.enumsortorder) as labels
      from pg_type t
      join pg_namespace n on n.oid = t.typnamespace
      join pg_enum e on e.enumtypid = t.oid
     where n.nspname = 'public'
     group by t.typname
     order by t.typname`;
  return new Map(rows.map((r) => [r.name, r.labels]));
}

test("every public enum of the database has a TypeScript list or a reason it has none", async () => {
  const database = [...(await publicEnums()).keys()];
  const accounted = [...Object.keys(TYPESCRIPT_LISTS), ...Object.keys(SQL_ONLY)];
  assert.deepEqual({
    "in the database, neither mapped nor SQL-only": database.filter((name) => !accounted.includes(name)),
    "named here, not an enum of the database": accounted.filter((name) => !database.includes(name)),
  }, {
    "in the database, neither mapped nor SQL-only": [],
    "named here, not an enum of the database": [],
  });
  const both = Object.keys(SQL_ONLY).filter((name) => name in TYPESCRIPT_LISTS);
  assert.deepEqual(both, [], "an enum is either mapped or SQL-only");
  // Not trivially true: the database has the lists this file expects.
  assert.ok(database.length >= 14, `only ${database.length} public enums found: is the database migrated?`);
});

test("each TypeScript list has exactly the database enum's values, in its order", async () => {
  const database = await publicEnums();
  const differences = Object.entries(TYPESCRIPT_LISTS).flatMap(([name, list]) => {
    const labels = database.get(name);
    if (labels === undefined) return [`${name}: not an enum of the database`];
    if (labels.join() === list.join()) return [];
    const missing = labels.filter((v) => !list.includes(v));
    const extra = list.filter((v) => !labels.includes(v));
    return [
      `${name}: database [${labels.join(", ")}], TypeScript [${list.join(", ")}]` +
      (missing.length ? `; missing in TypeScript: ${missing.join(", ")}` : "") +
      (extra.length ? `; not in the database: ${extra.join(", ")}` : "") +
      (!missing.length && !extra.length ? "; same values, different order" : ""),
    ];
  });
  assert.deepEqual(differences, []);
});

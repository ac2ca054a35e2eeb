// The SIP-status map is written twice: in TypeScript for the LiveKit carrier and the agent
// (shared/src/sip-status.ts), and in SQL for Twilio's status callbacks (private.sip_outcome). They must say the
// same thing for every final response a carrier can report, or a call is retried on one carrier and not the other.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { outcomeForSipStatus } from "../../../../shared/src/sip-status.ts";
import { withDatabase } from "../../../../devstack/fixtures/test-database.ts";

Deno.test("the database's SIP map gives the shared map's outcome for every final response (300-699)", async () => {
  await withDatabase(async (db) => {
    const rows = await db.sql<{ code: number; outcome: string }[]>`
      select code, private.sip_outcome(code)::text as outcome from generate_series(300, 699) code order by code`;
    assertEquals(rows.length, 400);
    const disagreements = rows
      .filter((r) => r.outcome !== outcomeForSipStatus(r.code))
      .map((r) => `${r.code}: sql ${r.outcome}, shared ${outcomeForSipStatus(r.code)}`);
    assertEquals(disagreements, []);
    // Not trivially equal: the map tells outcomes apart.
    assertEquals(new Set(rows.map((r) => r.outcome)).size, 5);
  });
});

Deno.test("a failed Twilio call takes its outcome from the SIP answer; Twilio's own busy and no-answer come first", async () => {
  await withDatabase(async (db) => {
    const cases: Array<[string, number | null, string]> = [
      ["failed", 603, "declined"],
      ["failed", 486, "busy"],
      ["failed", 404, "invalid_number"],
      ["failed", 503, "failed"],
      ["failed", null, "failed"],
      ["busy", null, "busy"],
      ["no-answer", 404, "no_answer"],
      ["canceled", null, "cancelled"],
    ];
    for (const [status, code, outcome] of cases) {
      const [row] = await db.sql`select private.twilio_outcome(${status}, ${code}::integer)::text as outcome`;
      assertEquals(row.outcome, outcome, `${status} ${code}`);
    }
  });
});

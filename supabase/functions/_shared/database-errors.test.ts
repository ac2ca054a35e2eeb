// The API's answer to a database error raised by the real database, not a hand-made error object: a rule the
// data breaks (a phone number outside the public.e164 domain on any column that uses it) is the caller's
// 422 constraint_violation naming the rule, never a 500.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { describeDatabaseError } from "./database-errors.ts";
import { withDatabase } from "../../../devstack/fixtures/test-database.ts";

Deno.test("a phone number that is not E.164 is a 422 constraint_violation naming the e164 rule, on every column", async () => {
  await withDatabase(async (db) => {
    const org = await db.createOrg();
    const attempts: Record<string, () => Promise<unknown>> = {
      "intake_calls.callee_phone": () =>
        db.sql`insert into public.intake_calls (org_id, template_id, callee_phone)
               values (${org.orgId}, ${org.templateId}, '2125550100')`,
      "do_not_call.phone": () =>
        db.sql`insert into public.do_not_call (org_id, phone, source) values (${org.orgId}, '+0212555', 'api')`,
      "phone_system_classifications.phone": () =>
        db.sql`insert into public.phone_system_classifications (org_id, phone, classification)
               values (${org.orgId}, '+1 212 555 0100', 'human')`,
      "organizations.caller_id": () =>
        db.sql`update public.organizations set caller_id = '911' where id = ${org.orgId}`,
      "organizations.escalation_phone": () =>
        db.sql`update public.organizations set escalation_phone = 'tel:+12125550100' where id = ${org.orgId}`,
    };
    for (const [column, attempt] of Object.entries(attempts)) {
      const error = await attempt().then(() => null, (e) => e);
      assertEquals(error === null ? null : describeDatabaseError(error), {
        status: 422,
        code: "constraint_violation",
        message: "the request breaks a rule of the data",
        details: { constraint: "e164" },
      }, column);
    }
  });
});

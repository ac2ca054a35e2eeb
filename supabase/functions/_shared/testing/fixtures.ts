// Tenants for tests against the real database: an organisation with an admin, a member, a
// template and an API key, created the way production creates them (API keys through
// `public.create_api_key` as the admin), plus access tokens signed like Supabase Auth's.
import { SignJWT } from "jose";
import { asCaller, type Sql } from "../database.ts";

export type TestOrg = {
  orgId: string;
  templateId: string;
  adminId: string;
  memberId: string;
  apiKey: string;
  apiKeyId: string;
  memberToken: string;
};

const FIELDS = [
  { name: "date_of_birth", type: "date", required: true, confirm: true, description: "Date of birth" },
  { name: "visit_reason", type: "choice", required: true, options: ["checkup", "follow_up", "new_issue"] },
];

export function jwtSecret(): string {
  const secret = Deno.env.get("SUPABASE_JWT_SECRET");
  if (!secret) throw new Error("SUPABASE_JWT_SECRET is not set (run through npm test)");
  return secret;
}

export async function signToken(claims: Record<string, unknown>, expiresIn = "1h"): Promise<string> {
  return await new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(new TextEncoder().encode(jwtSecret()));
}

export async function createTestOrg(
  sql: Sql,
  options: { timezone?: string; escalationPhone?: string | null; webhookUrl?: string | null } = {},
): Promise<TestOrg> {
  const suffix = crypto.randomUUID().slice(0, 8);
  const [org] = await sql<{ id: string }[]>`
    insert into public.organizations (name, slug, timezone, escalation_phone, webhook_url,
                                      calling_window_start, calling_window_end)
    values (${"Test clinic " + suffix}, ${"test-" + suffix}, ${options.timezone ?? "America/New_York"},
            ${options.escalationPhone === undefined ? "+14155550100" : options.escalationPhone},
            ${options.webhookUrl ?? null}, '00:00', '23:59:59')
    returning id`;
  const [admin] = await sql<{ id: string }[]>`
    insert into auth.users (email) values (${`admin-${suffix}@example.test`}) returning id`;
  const [member] = await sql<{ id: string }[]>`
    insert into auth.users (email) values (${`member-${suffix}@example.test`}) returning id`;
  await sql`insert into public.organization_members (org_id, user_id, role)
            values (${org.id}, ${admin.id}, 'admin'), (${org.id}, ${member.id}, 'member')`;
  const [template] = await sql<{ id: string }[]>`
    insert into public.call_templates (org_id, name, fallback_prompt, greeting, fields)
    values (${org.id}, 'Intake', 'You collect an intake.', 'Hello {{callee_name}}', ${sql.json(FIELDS)})
    returning id`;
  const key = await asCaller(sql, { role: "authenticated", sub: admin.id }, async (tx) => {
    const [k] = await tx<{ id: string; api_key: string }[]>`
      select id, api_key from public.create_api_key(${org.id}, 'tests')`;
    return k;
  });
  return {
    orgId: org.id,
    templateId: template.id,
    adminId: admin.id,
    memberId: member.id,
    apiKey: key.api_key,
    apiKeyId: key.id,
    memberToken: await signToken({ role: "authenticated", sub: member.id }),
  };
}

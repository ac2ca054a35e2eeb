// Test data for the functions that work on calls: an organisation of its own per test (calling window open all
// day, so tests never depend on the hour), a template, due calls inserted as an external system would, and a
// connection that is closed with everything the test created.
import { SignJWT } from "jose";
import { connect, type Sql } from "../database.ts";

export type TestOrg = { orgId: string; templateId: string; slug: string };

export const TEST_DATABASE_URL = Deno.env.get("TEST_DATABASE_URL")!;

/** Runs `fn` with its own connection; the organisations it created (and their calls) are deleted after. */
export async function withDatabase<T>(fn: (db: TestDatabase) => Promise<T>): Promise<T> {
  const db = new TestDatabase(connect(TEST_DATABASE_URL, { max: 8 }));
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

export class TestDatabase {
  readonly sql: Sql;
  readonly #orgs: string[] = [];
  readonly #users: string[] = [];

  constructor(sql: Sql) {
    this.sql = sql;
  }

  async createOrg(opts: {
    callerId?: string | null;
    sipTrunkId?: string | null;
    voicemailPolicy?: "hang_up" | "leave_message";
    maxConcurrentCalls?: number;
  } = {}): Promise<TestOrg> {
    const slug = "t-" + crypto.randomUUID().slice(0, 12);
    const [org] = await this.sql<{ id: string }[]>`
      insert into public.organizations (name, slug, timezone, calling_window_start, calling_window_end,
                                        max_concurrent_calls, caller_id, livekit_sip_trunk_id)
      values ('Test clinic', ${slug}, 'UTC', '00:00', '23:59:59', ${opts.maxConcurrentCalls ?? 50},
              ${opts.callerId ?? null}, ${opts.sipTrunkId === undefined ? "ST_org_trunk" : opts.sipTrunkId})
      returning id`;
    this.#orgs.push(org.id);
    const leaving = opts.voicemailPolicy === "leave_message";
    const [template] = await this.sql<{ id: string }[]>`
      insert into public.call_templates (org_id, name, fallback_prompt, greeting, voicemail_policy, voicemail_message,
                                         max_duration_seconds)
      values (${org.id}, 'Intake', 'You are an intake assistant.', 'Hello {{callee_name}}',
              ${leaving ? "leave_message" : "hang_up"}, ${leaving ? "Please call us back." : null}, 600)
      returning id`;
    return { orgId: org.id, templateId: template.id, slug };
  }

  /** A Supabase Auth user who is a member of `org` (when given), and an access token for them. */
  async createUser(org: TestOrg | null, role: "owner" | "admin" | "member" = "member") {
    const userId = crypto.randomUUID();
    await this.sql`insert into auth.users (id, email) values (${userId}, ${userId + "@example.org"})`;
    this.#users.push(userId);
    if (org) {
      await this.sql`insert into public.organization_members (org_id, user_id, role)
                     values (${org.orgId}, ${userId}, ${role}::public.member_role)`;
    }
    return { userId, token: await signToken({ sub: userId, role: "authenticated", aud: "authenticated" }) };
  }

  /** An API key of `org`, stored hashed as create_api_key stores it; `revoked` keys authenticate nothing. */
  async createApiKey(org: TestOrg, opts: { revoked?: boolean } = {}): Promise<string> {
    const key = "ik_test_" + crypto.randomUUID().replaceAll("-", "");
    await this.sql`insert into public.api_keys (org_id, name, prefix, key_hash, revoked_at)
                   values (${org.orgId}, 'test', ${key.slice(0, 10)}, extensions.digest(${key}, 'sha256'),
                           ${opts.revoked ? new Date() : null})`;
    return key;
  }

  /** Due calls, inserted directly (as seed 004's external system does). Returns their ids in order. */
  async insertDueCalls(
    org: TestOrg,
    count: number,
    opts: { carrier?: string; phone?: (i: number) => string; calleeName?: string; variables?: object } = {},
  ): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const phone = opts.phone
        ? opts.phone(i)
        : `+1212555${String(1000 + (ids.length % 9000)).padStart(4, "0")}`;
      const [row] = await this.sql<{ id: string }[]>`
        insert into public.intake_calls (org_id, template_id, callee_phone, callee_name, variables, carrier)
        values (${org.orgId}, ${org.templateId}, ${phone}, ${opts.calleeName ?? null},
                ${this.sql.json((opts.variables ?? {}) as Record<string, string>)},
                ${opts.carrier ?? "livekit"}::public.call_carrier)
        returning id`;
      ids.push(row.id);
    }
    return ids;
  }

  async calls(org: TestOrg) {
    return await this.sql<
      { id: string; status: string; outcome: string | null; attempts: number; claim_token: string | null }[]
    >`select id, status::text, outcome::text, attempts, claim_token from public.intake_calls
       where org_id = ${org.orgId} order by created_at, id`;
  }

  async sessions(org: TestOrg) {
    return await this.sql<
      {
        id: string;
        intake_call_id: string;
        status: string;
        ended_reason: string | null;
        room_name: string;
        carrier_call_id: string | null;
        dispatch_id: string | null;
        reconcile_required: boolean;
        sip_status_code: number | null;
      }[]
    >`select id, intake_call_id, status::text, ended_reason::text, room_name, carrier_call_id, dispatch_id,
             reconcile_required, sip_status_code
        from public.call_sessions where org_id = ${org.orgId} order by created_at, attempt_number`;
  }

  /**
   * Claims the org's due calls as the scheduler tick does (claim_due_calls), up to `max`; whatever that also
   * claimed for other organisations (other tests' calls) is released again untouched.
   */
  async claim(org: TestOrg, max = 1000): Promise<{ intake_call_id: string; claim_token: string }[]> {
    const rows = await this.sql<{ intake_call_id: string; org_id: string; claim_token: string }[]>`
      select intake_call_id, org_id, claim_token from public.claim_due_calls(1000)`;
    const own = rows.filter((r) => r.org_id === org.orgId).slice(0, max);
    for (const r of rows.filter((r) => !own.includes(r))) {
      await this.sql`select public.release_call_claim(${r.intake_call_id}, ${r.claim_token}, 'test', 0)`;
    }
    return own.map(({ intake_call_id, claim_token }) => ({ intake_call_id, claim_token }));
  }

  /** Makes the org's queued calls due again now (a released call waits its retry delay). */
  async makeDue(org: TestOrg): Promise<void> {
    await this.sql`update public.intake_calls set next_attempt_at = now() - interval '1 second'
                    where org_id = ${org.orgId} and status = 'queued'`;
  }

  async close(): Promise<void> {
    try {
      if (this.#orgs.length) {
        await this.sql`delete from public.organizations where id = any(${this.#orgs}::uuid[])`;
      }
    } finally {
      await this.sql.end();
    }
  }
}

/** A JWT signed as Supabase Auth signs access tokens (HS256 with the project's JWT secret). */
export function signToken(
  claims: Record<string, unknown>,
  opts: { secret?: string; expiresIn?: string } = {},
) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuedAt()
    .setExpirationTime(opts.expiresIn ?? "1h")
    .sign(new TextEncoder().encode(opts.secret ?? Deno.env.get("SUPABASE_JWT_SECRET")!));
}

// Test data for the functions that work on calls: an organisation of its own per test (calling window open all
// day, so tests never depend on the hour), a template, due calls inserted as an external system would, calls
// brought to a live attempt through the real state-machine functions (as the scheduler and dispatcher would),
// the project's REST API on loopback, and a connection that is closed with everything the test created.
// Tests share the database, so nothing here touches another organisation's rows.
import { SignJWT } from "jose";
import { PostgrestDouble } from "../../../../agent/src/testing/postgrest-double.ts";
import { connect, type Sql } from "../database.ts";
import type { MemberRole, VoicemailPolicy } from "../../../../shared/src/enums.ts";

export type TestOrg = { orgId: string; templateId: string; slug: string };

export type TestOrgOptions = {
  name?: string;
  webhookUrl?: string | null;
  callerId?: string | null;
  sipTrunkId?: string | null;
  maxConcurrentCalls?: number;
  voicemailPolicy?: VoicemailPolicy;
  /** The message left under leave_message; "Please call us back." unless given. */
  voicemailMessage?: string | null;
  maxDurationSeconds?: number;
};

/** An organisation (calling window open all day, UTC) with one intake template. */
export async function createOrg(sql: Sql, opts: TestOrgOptions = {}): Promise<TestOrg> {
  const slug = "t-" + crypto.randomUUID().slice(0, 12);
  const [org] = await sql<{ id: string }[]>`
    insert into public.organizations (name, slug, webhook_url, timezone, calling_window_start, calling_window_end,
                                      max_concurrent_calls, caller_id, livekit_sip_trunk_id)
    values (${opts.name ?? "Test clinic"}, ${slug}, ${opts.webhookUrl ?? null}, 'UTC', '00:00', '24:00',
            ${opts.maxConcurrentCalls ?? 50}, ${opts.callerId ?? null},
            ${opts.sipTrunkId === undefined ? "ST_org_trunk" : opts.sipTrunkId})
    returning id`;
  const leaving = opts.voicemailPolicy === "leave_message";
  const message = opts.voicemailMessage !== undefined
    ? opts.voicemailMessage
    : leaving
    ? "Please call us back."
    : null;
  const [template] = await sql<{ id: string }[]>`
    insert into public.call_templates (org_id, name, fallback_prompt, greeting, voicemail_policy, voicemail_message,
                                       max_duration_seconds)
    values (${org.id}, 'Intake', 'You are an intake assistant.', 'Hello {{callee_name}}',
            ${leaving ? "leave_message" : "hang_up"}, ${message}, ${opts.maxDurationSeconds ?? 600})
    returning id`;
  return { orgId: org.id, templateId: template.id, slug };
}

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

  async createOrg(opts: TestOrgOptions = {}): Promise<TestOrg> {
    const org = await createOrg(this.sql, opts);
    this.#orgs.push(org.orgId);
    return org;
  }

  /** A Supabase Auth user who is a member of `org` (when given), and an access token for them. */
  async createUser(org: TestOrg | null, role: MemberRole = "member") {
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
        sip_status_code: number | null;
      }[]
    >`select id, intake_call_id, status::text, ended_reason::text, room_name, carrier_call_id, dispatch_id,
             sip_status_code
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

export function randomPhone(): string {
  return "+1212555" + String(Math.floor(Math.random() * 10_000)).padStart(4, "0");
}

/** A queued call of `org`, inserted as an external system would (which also queues its call.queued webhook). */
export async function insertCall(sql: Sql, org: TestOrg, opts: {
  carrier?: "twilio" | "livekit";
  calleeName?: string;
  variables?: Record<string, unknown>;
} = {}): Promise<string> {
  const [call] = await sql`
    insert into public.intake_calls (org_id, template_id, callee_phone, carrier, callee_name, variables)
    values (${org.orgId}, ${org.templateId}, ${randomPhone()}, ${opts.carrier ?? "twilio"},
            ${opts.calleeName ?? null}, ${sql.json((opts.variables ?? {}) as Record<string, string>)})
    returning id`;
  return call.id;
}

/**
 * A call of `org` with one attempt: queued, claimed (claim token and lease, then transition_call to
 * dispatching, as claim_due_calls does for the due set), started with start_call_attempt, and marked dialing
 * with `callSid` unless it is null (the dispatcher has not recorded the carrier call yet).
 */
export async function startAttempt(sql: Sql, org: TestOrg, opts: {
  carrier?: "twilio" | "livekit";
  callSid?: string | null;
  calleeName?: string;
  variables?: Record<string, unknown>;
} = {}): Promise<{ callId: string; sessionId: string }> {
  const callId = await insertCall(sql, org, opts);
  const [claim] = await sql`
    update public.intake_calls set claim_token = gen_random_uuid(), lease_expires_at = now() + interval '2 minutes'
     where id = ${callId} returning claim_token`;
  await sql`select private.transition_call(${callId}, 'dispatching', 'scheduler', 'call.claimed')`;
  const [session] = await sql`select (public.start_call_attempt(${callId}, ${claim.claim_token})).id as id`;
  if (opts.callSid !== null) {
    await sql`select public.mark_session_dialing(${session.id}, ${opts.callSid ?? null})`;
  }
  return { callId, sessionId: session.id };
}

export type SessionRow = {
  status: string;
  ended_reason: string | null;
  answered_by: string | null;
  carrier_call_id: string | null;
  carrier_ended_at: Date | null;
  call_status: string;
  call_outcome: string | null;
};

export async function sessionState(sql: Sql, sessionId: string): Promise<SessionRow> {
  const [row] = await sql<SessionRow[]>`
    select s.status, s.ended_reason, s.answered_by, s.carrier_call_id, s.carrier_ended_at,
           c.status as call_status, c.outcome as call_outcome
      from public.call_sessions s join public.intake_calls c on c.id = s.intake_call_id
     where s.id = ${sessionId}`;
  return row;
}

/** Every row the database holds about a call (events, sessions, outbox): to prove a request wrote nothing. */
export async function rowCounts(sql: Sql, callId: string): Promise<Record<string, number>> {
  const [row] = await sql`
    select (select count(*)::int from public.call_events where intake_call_id = ${callId}) as events,
           (select count(*)::int from public.webhook_deliveries where intake_call_id = ${callId}) as deliveries,
           (select count(*)::int from public.call_sessions where intake_call_id = ${callId}) as sessions`;
  return { ...row };
}

/**
 * The project's REST API on loopback (the PostgREST stand-in: apikey and JWT checked, role and claims set per
 * request) and what a function reaches it with: SUPABASE_URL and the service-role key.
 */
export async function startRestApi(databaseUrl: string): Promise<{
  double: PostgrestDouble;
  env: { SUPABASE_URL: string; SUPABASE_SERVICE_ROLE_KEY: string };
  [Symbol.asyncDispose](): Promise<void>;
}> {
  const double = await PostgrestDouble.start({
    databaseUrl,
    jwtSecret: Deno.env.get("SUPABASE_JWT_SECRET")!,
  });
  return {
    double,
    env: { SUPABASE_URL: double.url, SUPABASE_SERVICE_ROLE_KEY: await signToken({ role: "service_role" }) },
    [Symbol.asyncDispose]: () => double.close(),
  };
}

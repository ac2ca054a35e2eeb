// Database fixtures for function tests: an organisation with a template, and a call brought to a live attempt
// through the real state-machine functions (as the scheduler and dispatcher would), touching no other rows so
// tests sharing the database do not claim each other's calls.
import type { Sql } from "../database.ts";
import { PostgrestDouble } from "../../../../agent/src/testing/postgrest-double.ts";
import { signToken } from "./test-database.ts";

export type OrgFixture = { orgId: string; templateId: string };

export async function createOrg(sql: Sql, opts: {
  name?: string;
  webhookUrl?: string | null;
  voicemailPolicy?: "hang_up" | "leave_message";
  voicemailMessage?: string | null;
  maxDurationSeconds?: number;
} = {}): Promise<OrgFixture> {
  const slug = `t-${crypto.randomUUID().slice(0, 12)}`;
  const [org] = await sql`
    insert into public.organizations (name, slug, webhook_url)
    values (${opts.name ?? "Test clinic"}, ${slug}, ${opts.webhookUrl ?? null}) returning id`;
  const [template] = await sql`
    insert into public.call_templates (org_id, name, fallback_prompt, greeting, voicemail_policy, voicemail_message,
                                       max_duration_seconds)
    values (${org.id}, 'Intake', 'You are an intake assistant.', 'Hello',
            ${opts.voicemailPolicy ?? "hang_up"}, ${opts.voicemailMessage ?? null}, ${
    opts.maxDurationSeconds ?? 900
  })
    returning id`;
  return { orgId: org.id, templateId: template.id };
}

export function randomPhone(): string {
  return "+1212555" + String(Math.floor(Math.random() * 10_000)).padStart(4, "0");
}

/** A queued call of `org`, inserted as an external system would (which also queues its call.queued webhook). */
export async function insertCall(sql: Sql, org: OrgFixture, opts: {
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
export async function startAttempt(sql: Sql, org: OrgFixture, opts: {
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

// Test fixtures against the real database: an organisation, a template, an intake call and a live attempt
// (session status dialing), written as the superuser, and the call-scoped JWT the dispatcher would mint
// for that attempt (the dispatcher's own mintAgentToken: role call_agent, claim call_session_id, issuer, and a
// lifetime of the template's maximum duration plus the margin).
import { randomUUID } from "node:crypto";
import postgres from "postgres";
import type { VoicemailPolicy } from "@intake/shared/enums";
// The credential exactly as the dispatcher mints it for an attempt.
import { mintAgentToken } from "../../../supabase/functions/_shared/agent-credential.ts";

export type TestEnv = { databaseUrl: string; jwtSecret: string; anonKey: string };

export function testEnv(): TestEnv {
  const databaseUrl = process.env.TEST_DATABASE_URL;
  const jwtSecret = process.env.SUPABASE_JWT_SECRET;
  const anonKey = process.env.SUPABASE_ANON_KEY;
  if (!databaseUrl || !jwtSecret || !anonKey) {
    throw new Error(
      "TEST_DATABASE_URL, SUPABASE_JWT_SECRET and SUPABASE_ANON_KEY are needed (run through npm test)",
    );
  }
  return { databaseUrl, jwtSecret, anonKey };
}

export type FixtureCall = {
  orgId: string;
  templateId: string;
  callId: string;
  sessionId: string;
  token: string;
};

export type FixtureOptions = {
  fields?: unknown[];
  calleeName?: string;
  calleePhone?: string;
  variables?: Record<string, unknown>;
  voicemailPolicy?: VoicemailPolicy;
  voicemailMessage?: string | null;
  escalationPhone?: string | null;
  maxDurationSeconds?: number;
  classification?: { classification: string; ivr_steps: unknown[] } | null;
  greeting?: string;
  fallbackPrompt?: string;
  langfusePromptName?: string | null;
};

export const INTAKE_FIELDS = [
  { name: "date_of_birth", type: "date", required: true },
  { name: "medications", type: "text", required: true, confirm: true },
  { name: "pain_level", type: "number", min: 0, max: 10, required: true },
  { name: "visit_reason", type: "choice", options: ["checkup", "follow_up", "new_issue"] },
];

export async function createCall(
  sql: postgres.Sql,
  env: TestEnv,
  options: FixtureOptions = {},
): Promise<FixtureCall> {
  const slug = `t-${randomUUID().slice(0, 8)}`;
  const [org] = await sql`
    insert into public.organizations (name, slug, calling_window_start, calling_window_end, escalation_phone)
    values ('Riverside Clinic', ${slug}, '00:00', '24:00',
            ${options.escalationPhone === undefined ? "+12125550199" : options.escalationPhone})
    returning id`;
  const [template] = await sql`
    insert into public.call_templates (org_id, name, fallback_prompt, greeting, fields, voicemail_policy,
                                       voicemail_message, max_duration_seconds, langfuse_prompt_name)
    values (${org.id}, 'Intake', ${
    options.fallbackPrompt ?? "Collect the intake answers for {{callee_name}}."
  },
            ${options.greeting ?? "Hello {{callee_name}}, this is the assistant of Riverside Clinic."},
            ${sql.json((options.fields ?? INTAKE_FIELDS) as postgres.JSONValue)},
            ${options.voicemailPolicy ?? "hang_up"}, ${options.voicemailMessage ?? null},
            ${options.maxDurationSeconds ?? 900}, ${options.langfusePromptName ?? null})
    returning id`;
  const phone = options.calleePhone ??
    `+1212555${String(Math.floor(Math.random() * 10_000)).padStart(4, "0")}`;
  const [call] = await sql`
    insert into public.intake_calls (org_id, template_id, callee_phone, callee_name, variables)
    values (${org.id}, ${template.id}, ${phone}, ${options.calleeName ?? "Maria Gonzalez"},
            ${sql.json((options.variables ?? {}) as postgres.JSONValue)})
    returning id`;
  // The dispatcher's steps, done directly: claimed, attempt created, dialling.
  await sql`update public.intake_calls set status = 'in_progress', attempts = 1 where id = ${call.id}`;
  const [session] = await sql`
    insert into public.call_sessions (org_id, intake_call_id, attempt_number, carrier, room_name, status, dialed_at)
    values (${org.id}, ${call.id}, 1, 'livekit', ${`call-${slug}`}, 'dialing', now())
    returning id`;
  if (options.classification) {
    await sql`
      insert into public.phone_system_classifications (org_id, phone, classification, ivr_steps)
      values (${org.id}, ${phone}, ${options.classification.classification},
              ${sql.json(options.classification.ivr_steps as postgres.JSONValue)})`;
  }
  return {
    orgId: org.id,
    templateId: template.id,
    callId: call.id,
    sessionId: session.id,
    token: (await mintAgentToken({
      jwtSecret: env.jwtSecret,
      sessionId: session.id,
      maxDurationSeconds: options.maxDurationSeconds ?? 900,
    })).token,
  };
}

export function connectSuperuser(env: TestEnv): postgres.Sql {
  return postgres(env.databaseUrl, { max: 2, onnotice: () => {} });
}

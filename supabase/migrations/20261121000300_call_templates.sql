-- Call templates: what a call is for, what the agent says, what it collects, how it retries.
create type public.call_purpose as enum ('intake', 'appointment_confirmation', 'payment_reminder', 'clinic_call');
create type public.voicemail_policy as enum ('hang_up', 'leave_message');
-- The kinds of answer a template's field collects (call_templates.fields[].type, validated by
-- private.field_error). An enum although the fields are jsonb, so the list has one definition here.
create type public.field_type as enum ('text', 'date', 'number', 'boolean', 'choice', 'phone');

create table public.call_templates (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references public.organizations (id) on delete cascade,
  name text not null check (length(name) between 1 and 200),
  purpose public.call_purpose not null default 'intake',
  langfuse_prompt_name text,
  langfuse_prompt_label text not null default 'production',
  fallback_prompt text not null,
  greeting text not null,
  fields jsonb not null default '[]'::jsonb,
  retry_policy jsonb not null default '{}'::jsonb,
  voicemail_policy public.voicemail_policy not null default 'hang_up',
  voicemail_message text,
  max_duration_seconds integer not null default 900 check (max_duration_seconds between 60 and 3600),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (org_id, name),
  constraint fields_is_array check (jsonb_typeof(fields) = 'array'),
  constraint retry_policy_is_object check (jsonb_typeof(retry_policy) = 'object'),
  constraint voicemail_message_when_leaving check (voicemail_policy = 'hang_up' or voicemail_message is not null)
);
create index call_templates_org on public.call_templates (org_id);
comment on table public.call_templates is 'What a call is for, the prompt, the fields to collect and the retry/voicemail policy.';
comment on column public.call_templates.langfuse_prompt_name is 'Langfuse prompt to use; fallback_prompt is used when unset or Langfuse is down.';
comment on column public.call_templates.langfuse_prompt_label is 'Langfuse label to fetch (production, staging, ...).';
comment on column public.call_templates.fallback_prompt is 'System prompt stored in the database, used when Langfuse is unavailable.';
comment on column public.call_templates.greeting is 'First sentence the agent says once the callee is connected; {{variables}} are filled.';
comment on column public.call_templates.fields is
  'Fields to collect: [{name, type: text|date|number|boolean|choice|phone, required, description, options?, pattern?, min?, max?, confirm?}].';
comment on column public.call_templates.retry_policy is
  'Per-outcome retries: {"busy":{"delay_minutes":10,"max_attempts":3}, "no_answer":…, "voicemail":…, "failed":…, "backoff_multiplier":2, "max_attempts":5}. Missing keys use private.default_retry_policy().';

-- The defaults a template's retry_policy overrides key by key.
create function private.default_retry_policy() returns jsonb
language sql immutable
set search_path = ''
as $$
  select '{
    "busy":      {"delay_minutes": 10,  "max_attempts": 3},
    "no_answer": {"delay_minutes": 60,  "max_attempts": 3},
    "voicemail": {"delay_minutes": 240, "max_attempts": 2},
    "failed":    {"delay_minutes": 15,  "max_attempts": 3},
    "backoff_multiplier": 2,
    "max_attempts": 5
  }'::jsonb
$$;

-- A field definition list must be well-formed: checked when a template is written, so that
-- validating answers later can trust it.
create function private.check_template_fields() returns trigger
language plpgsql
set search_path = ''
as $$
declare
  field jsonb;
  names text[] := '{}'::text[];
begin
  for field in select * from jsonb_array_elements(new.fields) loop
    if jsonb_typeof(field) <> 'object' or coalesce(field ->> 'name', '') !~ '^[a-z][a-z0-9_]{0,62}$' then
      perform private.fail(422, 'invalid_template_fields', 'each field needs a snake_case name', jsonb_build_object('field', field));
    end if;
    if coalesce(field ->> 'type', '') <> all (enum_range(null::public.field_type)::text[]) then
      perform private.fail(422, 'invalid_template_fields',
        format('field %s: type must be one of %s', field ->> 'name',
               array_to_string(enum_range(null::public.field_type), ', ')));
    end if;
    if field ->> 'type' = 'choice' and jsonb_typeof(field -> 'options') is distinct from 'array' then
      perform private.fail(422, 'invalid_template_fields', format('field %s: a choice needs options', field ->> 'name'));
    end if;
    if (field ->> 'name') = any (names) then
      perform private.fail(422, 'invalid_template_fields', format('field %s appears twice', field ->> 'name'));
    end if;
    names := names || (field ->> 'name');
  end loop;
  new.updated_at := now();
  return new;
end
$$;
create trigger check_fields before insert or update on public.call_templates
  for each row execute function private.check_template_fields();

alter table public.call_templates enable row level security;
revoke all on public.call_templates from anon, authenticated;
grant select, insert, update, delete on public.call_templates to authenticated;

create policy "members read their org's templates" on public.call_templates
  for select to authenticated using (org_id in (select private.caller_org_ids()));
create policy "admins create templates" on public.call_templates
  for insert to authenticated with check (org_id in (select private.caller_admin_org_ids()));
create policy "admins change templates" on public.call_templates
  for update to authenticated using (org_id in (select private.caller_admin_org_ids()))
  with check (org_id in (select private.caller_admin_org_ids()));
create policy "admins delete templates" on public.call_templates
  for delete to authenticated using (org_id in (select private.caller_admin_org_ids()));

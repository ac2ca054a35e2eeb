-- Numbers the platform knows things about: who must not be called, and what answers a number.
create type public.dnc_source as enum ('manual', 'import', 'spoken_opt_out', 'api');

create table public.do_not_call (
  org_id uuid not null references public.organizations (id) on delete cascade,
  phone public.e164 not null,
  reason text,
  source public.dnc_source not null,
  created_by uuid,
  created_at timestamptz not null default now(),
  primary key (org_id, phone)
);
comment on table public.do_not_call is 'Numbers an org must never call again (manual, imported, or spoken opt-out).';

create type public.phone_system_type as enum ('human', 'ivr_only', 'ivr_then_human', 'voicemail');
create table public.phone_system_classifications (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references public.organizations (id) on delete cascade,
  phone public.e164 not null,
  classification public.phone_system_type not null,
  ivr_steps jsonb not null default '[]'::jsonb check (jsonb_typeof(ivr_steps) = 'array'),
  confidence numeric(3, 2) not null default 1 check (confidence between 0 and 1),
  session_id uuid references public.call_sessions (id) on delete set null,
  classified_at timestamptz not null default now(),
  expires_at timestamptz not null default now() + interval '30 days',
  unique (org_id, phone)
);
comment on table public.phone_system_classifications is
  'What answers a dialled number (human / IVR / IVR then human / voicemail), cached 30 days, with the key presses that reached a human.';
comment on column public.phone_system_classifications.ivr_steps is
  'Replayable IVR path: [{"after_ms": 4000, "dtmf": "2"}, ...] timed from answer.';

alter table public.do_not_call enable row level security;
alter table public.phone_system_classifications enable row level security;
revoke all on public.do_not_call, public.phone_system_classifications from anon, authenticated;
grant select on public.do_not_call, public.phone_system_classifications to authenticated;
grant insert, delete on public.do_not_call to authenticated;

create policy "members read their org's do-not-call list" on public.do_not_call
  for select to authenticated using (org_id in (select private.caller_org_ids()));
create policy "admins add to the do-not-call list" on public.do_not_call
  for insert to authenticated with check (org_id in (select private.caller_admin_org_ids()));
create policy "admins remove from the do-not-call list" on public.do_not_call
  for delete to authenticated using (org_id in (select private.caller_admin_org_ids()));
create policy "members read their org's phone classifications" on public.phone_system_classifications
  for select to authenticated using (org_id in (select private.caller_org_ids()));

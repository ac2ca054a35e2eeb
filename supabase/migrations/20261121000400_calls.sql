-- Calls: the request (intake_calls), its attempts (call_sessions), what was said (transcript_turns),
-- the audit trail (call_events) and escalations. Rows change only through the state-machine functions.
create type public.call_carrier as enum ('livekit', 'twilio', 'simulation', 'web');
create type public.intake_call_status as enum (
  'queued',       -- waiting for its time, window and capacity
  'dispatching',  -- claimed by a dispatcher under a lease
  'in_progress',  -- an attempt is dialling or live
  'completed',    -- final: the call reached its goal (or a human took over)
  'failed',       -- final: attempts exhausted, invalid number, do-not-call, wrong number
  'cancelled',    -- final: cancelled by the app or an operator
  'expired',      -- final: deadline passed before it could be completed
  'opted_out'     -- final: the callee asked not to be called again
);
create type public.session_status as enum ('created', 'dialing', 'ringing', 'answered', 'ended');
-- Who picked up one attempt: decided by the agent from what the callee side says first, or by Twilio's
-- answering-machine detection; unknown when a connected call ended before anyone could tell (or a fax).
-- Not phone_system_type: that is what a number's phone system is (cached 30 days), this is one answer.
create type public.answered_by as enum ('human', 'voicemail', 'ivr', 'call_screener', 'unknown');
create type public.call_outcome as enum (
  'completed', 'escalated', 'busy', 'no_answer', 'voicemail', 'declined', 'failed',
  'invalid_number', 'wrong_number', 'opted_out', 'do_not_call', 'cancelled', 'terminated', 'expired', 'not_dialed'
);

create table public.intake_calls (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references public.organizations (id) on delete cascade,
  template_id uuid not null references public.call_templates (id),
  callee_phone public.e164 not null,
  callee_timezone text check (callee_timezone is null or private.is_valid_timezone(callee_timezone)),
  callee_name text,
  patient_id uuid,
  external_ref text,
  idempotency_key text,
  request_hash text,
  variables jsonb not null default '{}'::jsonb check (jsonb_typeof(variables) = 'object'),
  greeting_override text,
  carrier public.call_carrier not null default 'livekit',
  priority integer not null default 0 check (priority between -100 and 100),
  not_before timestamptz not null default now(),
  deadline timestamptz,
  status public.intake_call_status not null default 'queued',
  outcome public.call_outcome,
  attempts integer not null default 0 check (attempts >= 0),
  next_attempt_at timestamptz not null default now(),
  lease_expires_at timestamptz,
  claim_token uuid,
  results jsonb not null default '{}'::jsonb,
  created_by uuid,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  completed_at timestamptz,
  is_simulation boolean generated always as (carrier = 'simulation') stored,
  unique (org_id, idempotency_key),
  constraint deadline_after_start check (deadline is null or deadline > not_before),
  constraint final_has_outcome check (
    (status in ('queued', 'dispatching', 'in_progress')) = (outcome is null))
);
comment on table public.intake_calls is
  'A request to call someone (one per patient intake, reminder, ...). Attempts are call_sessions. Status changes only through the state-machine functions.';
comment on column public.intake_calls.callee_timezone is 'IANA zone of the callee; calling windows apply here (org default when null).';
comment on column public.intake_calls.idempotency_key is 'The app''s intake_id or Idempotency-Key: the same key never creates a second call.';
comment on column public.intake_calls.request_hash is 'Hash of the creating request, to tell a retry (same body) from a conflict (different body).';
comment on column public.intake_calls.variables is 'Context for the prompt and greeting ({{name}} placeholders).';
comment on column public.intake_calls.not_before is 'Do not call before this instant.';
comment on column public.intake_calls.deadline is 'After this instant the call expires instead of being attempted.';
comment on column public.intake_calls.next_attempt_at is 'When the scheduler may next start this call (also after retries).';
comment on column public.intake_calls.lease_expires_at is 'While dispatching: when the claim lapses and the call returns to the queue.';
comment on column public.intake_calls.claim_token is 'Identifies the claim; only its holder may start the attempt.';
comment on column public.intake_calls.results is 'Structured answers, validated against the template''s fields.';
comment on column public.intake_calls.is_simulation is 'Simulated calls are never dialled and never counted against real-line caps or in analytics.';

-- The scheduler's hot path: only queued rows, per org in urgency order.
create index intake_calls_due on public.intake_calls (org_id, is_simulation, priority desc, next_attempt_at)
  where status = 'queued';
create index intake_calls_leases on public.intake_calls (lease_expires_at) where status = 'dispatching';
create index intake_calls_active on public.intake_calls (org_id) where status in ('dispatching', 'in_progress');
create index intake_calls_deadline on public.intake_calls (deadline)
  where status = 'queued' and deadline is not null;
create index intake_calls_org_created on public.intake_calls (org_id, created_at desc, id desc);
create index intake_calls_org_external on public.intake_calls (org_id, external_ref) where external_ref is not null;

create table public.call_sessions (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references public.organizations (id) on delete cascade,
  intake_call_id uuid not null references public.intake_calls (id) on delete cascade,
  attempt_number integer not null check (attempt_number > 0),
  carrier public.call_carrier not null,
  carrier_call_id text,
  room_name text not null,
  dispatch_id text,
  status public.session_status not null default 'created',
  ended_reason public.call_outcome,
  answered_by public.answered_by,
  sip_status_code integer,
  created_at timestamptz not null default now(),
  dialed_at timestamptz,
  ringing_at timestamptz,
  answered_at timestamptz,
  ended_at timestamptz,
  latency jsonb not null default '{}'::jsonb,
  unique (intake_call_id, attempt_number),
  constraint ended_has_reason check ((status = 'ended') = (ended_reason is not null))
);
create index call_sessions_call on public.call_sessions (intake_call_id);
create index call_sessions_org_created on public.call_sessions (org_id, created_at desc);
create unique index call_sessions_carrier_call on public.call_sessions (carrier, carrier_call_id)
  where carrier_call_id is not null;
create index call_sessions_live on public.call_sessions (org_id) where status <> 'ended';
comment on table public.call_sessions is 'One attempt of an intake call: the carrier leg, its timings and how it ended.';
comment on column public.call_sessions.carrier_call_id is 'Twilio CallSid or LiveKit SIP participant id.';
comment on column public.call_sessions.room_name is 'LiveKit room of this attempt (the Twilio leg is bridged into it).';
comment on column public.call_sessions.latency is 'Figures reported by the agent: first_greeting_ms, turn_response_ms_p50, ...';

create type public.speaker as enum ('agent', 'callee', 'system');
create table public.transcript_turns (
  id bigint generated always as identity primary key,
  org_id uuid not null references public.organizations (id) on delete cascade,
  session_id uuid not null references public.call_sessions (id) on delete cascade,
  sequence integer not null check (sequence >= 0),
  speaker public.speaker not null,
  text text not null,
  started_at timestamptz not null,
  ended_at timestamptz not null,
  created_at timestamptz not null default now(),
  unique (session_id, sequence),
  constraint turn_times check (ended_at >= started_at)
);
comment on table public.transcript_turns is 'What was said, turn by turn. (session_id, sequence) makes the agent''s writes idempotent.';

create type public.event_source as enum ('api', 'scheduler', 'dispatcher', 'carrier', 'agent', 'database', 'operator');
create table public.call_events (
  id bigint generated always as identity primary key,
  org_id uuid not null references public.organizations (id) on delete cascade,
  intake_call_id uuid not null references public.intake_calls (id) on delete cascade,
  session_id uuid references public.call_sessions (id) on delete cascade,
  source public.event_source not null,
  type text not null,
  from_status text,
  to_status text,
  applied boolean not null default true,
  payload jsonb not null default '{}'::jsonb,
  dedupe_key text,
  actor uuid,
  created_at timestamptz not null default clock_timestamp()
);
create index call_events_call on public.call_events (intake_call_id, id);
create index call_events_session on public.call_events (session_id, id) where session_id is not null;
create unique index call_events_dedupe on public.call_events (dedupe_key) where dedupe_key is not null;
comment on table public.call_events is
  'Audit trail: every transition and every webhook, with its source. applied = false marks a duplicate or late event that changed nothing.';
comment on column public.call_events.dedupe_key is 'Carrier event identity (e.g. CallSid:SequenceNumber): the same event is recorded once.';

create type public.escalation_level as enum ('emergency', 'high_priority', 'human_requested', 'override');
create table public.escalations (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references public.organizations (id) on delete cascade,
  intake_call_id uuid not null references public.intake_calls (id) on delete cascade,
  session_id uuid references public.call_sessions (id) on delete cascade,
  level public.escalation_level not null,
  reason text not null,
  transferred_to text,
  source public.event_source not null,
  created_at timestamptz not null default now()
);
create index escalations_call on public.escalations (intake_call_id);
comment on table public.escalations is 'Hand-offs to a human: emergencies, urgent matters, callee requests and operator overrides.';

-- RLS: members read their org's rows; all writes go through the state-machine functions.
alter table public.intake_calls enable row level security;
alter table public.call_sessions enable row level security;
alter table public.transcript_turns enable row level security;
alter table public.call_events enable row level security;
alter table public.escalations enable row level security;

revoke all on public.intake_calls, public.call_sessions, public.transcript_turns, public.call_events,
  public.escalations from anon, authenticated;
grant select on public.intake_calls, public.call_sessions, public.transcript_turns, public.call_events,
  public.escalations to authenticated;

create policy "members read their org's calls" on public.intake_calls
  for select to authenticated using (org_id in (select private.caller_org_ids()));
create policy "members read their org's sessions" on public.call_sessions
  for select to authenticated using (org_id in (select private.caller_org_ids()));
create policy "members read their org's transcripts" on public.transcript_turns
  for select to authenticated using (org_id in (select private.caller_org_ids()));
create policy "members read their org's call events" on public.call_events
  for select to authenticated using (org_id in (select private.caller_org_ids()));
create policy "members read their org's escalations" on public.escalations
  for select to authenticated using (org_id in (select private.caller_org_ids()));

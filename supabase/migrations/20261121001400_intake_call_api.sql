-- What the public API (`intake-calls` edge function) needs beyond creating and cancelling calls:
-- one JSON shape for a call and its details, the operator overrides of a live call (seed 001:
-- escalate, terminate), and a per-caller rate limit. The function authenticates and calls these as
-- the caller, so row-level security decides what each caller sees.

-- The shapes the API answers with ---------------------------------------------------------------------
create function private.intake_call_summary(c public.intake_calls) returns jsonb
language sql stable
set search_path = ''
as $$
  select jsonb_build_object(
    'id', c.id, 'organization_id', c.org_id, 'template_id', c.template_id, 'intake_id', c.idempotency_key,
    'external_ref', c.external_ref, 'patient_id', c.patient_id, 'status', c.status, 'outcome', c.outcome,
    'attempt_count', c.attempts, 'carrier', c.carrier, 'is_simulation', c.is_simulation, 'priority', c.priority,
    'callee', jsonb_build_object('phone_number', c.callee_phone, 'name', c.callee_name, 'timezone', c.callee_timezone),
    'not_before', c.not_before, 'deadline', c.deadline,
    'next_attempt_at', case when c.status = 'queued' then c.next_attempt_at end,
    'waiting_reason', case when c.status = 'queued' then private.call_waiting_reason(c) end,
    'cancel_requested_at', c.cancel_requested_at,
    'created_at', c.created_at, 'updated_at', c.updated_at, 'completed_at', c.completed_at)
$$;
comment on function private.intake_call_summary is 'A call as the API lists it (GET /intake-calls, POST responses).';

-- Security invoker on purpose: the caller's row-level security decides whether the call and each of
-- its sessions, turns, events and escalations are visible.
create function public.intake_call_details(call_ref text) returns jsonb
language sql stable
set search_path = ''
as $$
  with target as (
    select c.id from public.intake_calls c
     -- The cast sits behind CASE, not AND: with an index path the planner evaluates `c.id = <ref>::uuid` as an
     -- index condition before any other test, and an intake_id that is not a UUID would raise instead of
     -- matching nothing (seen as an intermittent failure whenever the statistics favoured the index).
     where c.id = case when call_ref ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                       then call_ref::uuid end
        or c.idempotency_key = call_ref
     order by (c.id::text = lower(call_ref)) desc, c.created_at desc
     limit 1
  )
  select private.intake_call_summary(t) || jsonb_build_object(
    'variables', t.variables,
    'greeting_override', t.greeting_override,
    'results', t.results,
    'attempts', coalesce((
      select jsonb_agg(jsonb_build_object(
        'session_id', s.id, 'attempt_number', s.attempt_number, 'carrier', s.carrier, 'status', s.status,
        'outcome', s.ended_reason, 'answered_by', s.answered_by, 'sip_status_code', s.sip_status_code,
        'room_name', s.room_name, 'created_at', s.created_at, 'dialed_at', s.dialed_at, 'ringing_at', s.ringing_at,
        'answered_at', s.answered_at, 'ended_at', s.ended_at,
        'duration_seconds', extract(epoch from s.ended_at - s.answered_at)::numeric(10, 1),
        'latency', s.latency) order by s.attempt_number)
        from public.call_sessions s where s.intake_call_id = t.id), '[]'),
    'transcript', coalesce((
      select jsonb_agg(jsonb_build_object(
        'session_id', tt.session_id, 'sequence', tt.sequence, 'speaker', tt.speaker, 'text', tt.text,
        'started_at', tt.started_at, 'ended_at', tt.ended_at) order by s.attempt_number, tt.sequence)
        from public.transcript_turns tt join public.call_sessions s on s.id = tt.session_id
       where s.intake_call_id = t.id), '[]'),
    'escalations', coalesce((
      select jsonb_agg(jsonb_build_object(
        'id', e.id, 'session_id', e.session_id, 'level', e.level, 'reason', e.reason,
        'transferred_to', e.transferred_to, 'source', e.source, 'created_at', e.created_at) order by e.created_at)
        from public.escalations e where e.intake_call_id = t.id), '[]'),
    'events', coalesce((
      select jsonb_agg(jsonb_build_object(
        'id', ev.id, 'session_id', ev.session_id, 'source', ev.source, 'type', ev.type,
        'from_status', ev.from_status, 'to_status', ev.to_status, 'applied', ev.applied,
        'created_at', ev.created_at) order by ev.id)
        from public.call_events ev where ev.intake_call_id = t.id), '[]'))
    from public.intake_calls t where t.id = (select target.id from target)
$$;
comment on function public.intake_call_details is
  'A call with its attempts, transcript, results, escalations and audit trail, by id or by the app''s intake_id (row-level security applies).';

-- Operator overrides of a live call (seed 001) ------------------------------------------------------------
-- Both return the live attempt's carrier references; the edge function then acts at the carrier
-- (transfer or hang-up). The database is updated first so the carrier's later callbacks are late no-ops.
create function private.live_session_for_operator(call_id uuid) returns public.call_sessions
language plpgsql
set search_path = ''
as $$
declare
  call_row public.intake_calls;
  session_row public.call_sessions;
begin
  select * into call_row from public.intake_calls where id = call_id for update;
  if not found or not exists (select 1 from private.caller_org_ids() o where o = call_row.org_id) then
    perform private.fail(404, 'intake_call_not_found', 'intake call not found');
  end if;
  select * into session_row from public.call_sessions s
   where s.intake_call_id = call_id and s.status in ('dialing', 'ringing', 'answered')
   order by s.attempt_number desc limit 1;
  if not found then
    perform private.fail(409, 'call_not_live', format('intake call is %s, not live', call_row.status),
      jsonb_build_object('status', call_row.status));
  end if;
  return private.lock_session(session_row.id);
end
$$;

create function public.escalate_intake_call(call_id uuid, reason text default null) returns jsonb
language plpgsql security definer
set search_path = ''
as $$
declare
  session_row public.call_sessions := private.live_session_for_operator(call_id);
  call_row public.intake_calls;
  target text;
  escalation uuid;
begin
  select * into call_row from public.intake_calls where id = call_id;
  select o.escalation_phone into target from public.organizations o where o.id = call_row.org_id;
  if target is null then
    perform private.fail(422, 'no_escalation_phone', 'the organization has no escalation phone number to transfer to');
  end if;
  insert into public.escalations (org_id, intake_call_id, session_id, level, reason, transferred_to, source)
  values (call_row.org_id, call_id, session_row.id, 'override', coalesce(reason, 'operator override'), target, 'operator')
  returning id into escalation;
  perform private.record_event(call_id, session_row.id, 'operator', 'call.escalated', null, null, true,
    jsonb_build_object('level', 'override', 'escalation_id', escalation));
  perform private.enqueue_webhook(call_row, 'call.escalated',
    jsonb_build_object('level', 'override', 'escalation_id', escalation, 'session_id', session_row.id));
  return jsonb_build_object('escalation_id', escalation, 'session_id', session_row.id, 'carrier', session_row.carrier,
    'carrier_call_id', session_row.carrier_call_id, 'room_name', session_row.room_name, 'transfer_to', target);
end
$$;
comment on function public.escalate_intake_call is
  'Operator override: hands a live call to the org''s escalation number (recorded; the edge function transfers it at the carrier).';

create function public.terminate_intake_call(call_id uuid, reason text default null) returns jsonb
language plpgsql security definer
set search_path = ''
as $$
declare
  session_row public.call_sessions := private.live_session_for_operator(call_id);
begin
  perform public.record_session_outcome(session_row.id, 'terminated', 'operator', null,
    jsonb_build_object('reason', coalesce(reason, 'operator override')));
  return jsonb_build_object('session_id', session_row.id, 'carrier', session_row.carrier,
    'carrier_call_id', session_row.carrier_call_id, 'room_name', session_row.room_name);
end
$$;
comment on function public.terminate_intake_call is
  'Operator override: ends a live call now (outcome terminated; the edge function hangs up at the carrier).';

-- Rate limit per caller (API key, else user): a token bucket in the database, so every edge function
-- instance shares it. -------------------------------------------------------------------------------------
alter table private.platform_settings
  add column api_requests_per_second numeric not null default 50 check (api_requests_per_second > 0),
  add column api_burst integer not null default 200 check (api_burst > 0);
comment on column private.platform_settings.api_requests_per_second is 'Sustained requests per second per API key or user.';
comment on column private.platform_settings.api_burst is 'Requests a caller may make at once before being limited.';

create table private.api_rate_buckets (
  caller text primary key,
  tokens double precision not null,
  refilled_at timestamptz not null
);
alter table private.api_rate_buckets enable row level security;
comment on table private.api_rate_buckets is 'Token bucket per API caller (api_key:<id> or user:<id>).';

create function public.consume_api_rate_limit(cost integer default 1) returns double precision
language plpgsql security definer
set search_path = ''
as $$
declare
  settings private.platform_settings;
  bucket text := coalesce('api_key:' || nullif(auth.jwt() ->> 'api_key_id', ''), 'user:' || auth.uid()::text);
  at_time timestamptz := clock_timestamp();
  granted boolean;
  available double precision;
begin
  if bucket is null then
    return 0;
  end if;
  select * into settings from private.platform_settings;
  insert into private.api_rate_buckets as b (caller, tokens, refilled_at)
  values (bucket, settings.api_burst - cost, at_time)
  on conflict (caller) do update
     set tokens = least(settings.api_burst::double precision,
                        b.tokens + extract(epoch from at_time - b.refilled_at) * settings.api_requests_per_second) - cost,
         refilled_at = at_time
   where least(settings.api_burst::double precision,
               b.tokens + extract(epoch from at_time - b.refilled_at) * settings.api_requests_per_second) >= cost
  returning true into granted;
  if granted then
    return 0;
  end if;
  select least(settings.api_burst::double precision,
               b.tokens + extract(epoch from at_time - b.refilled_at) * settings.api_requests_per_second)
    into available from private.api_rate_buckets b where b.caller = bucket;
  return greatest((cost - available) / settings.api_requests_per_second, 0.001);
end
$$;
comment on function public.consume_api_rate_limit is
  'Takes cost tokens from the caller''s bucket: 0 when allowed, else the seconds to wait (the 429 Retry-After).';

-- Key lookups happen on every request: record last use at most once a minute, so a busy key is not
-- a hot row every request must lock.
create or replace function public.authenticate_api_key(api_key text)
returns table (api_key_id uuid, org_id uuid)
language plpgsql security definer
set search_path = ''
as $$
declare
  key_row public.api_keys;
begin
  select * into key_row from public.api_keys k
   where k.key_hash = private.hash_api_key(api_key) and k.revoked_at is null;
  if not found then
    return;
  end if;
  if key_row.last_used_at is null or key_row.last_used_at < now() - interval '1 minute' then
    update public.api_keys set last_used_at = now() where id = key_row.id;
  end if;
  return query select key_row.id, key_row.org_id;
end
$$;

revoke execute on function private.intake_call_summary(public.intake_calls), public.intake_call_details(text),
  private.live_session_for_operator(uuid), public.escalate_intake_call(uuid, text),
  public.terminate_intake_call(uuid, text), public.consume_api_rate_limit(integer)
from public, anon;
grant execute on function private.intake_call_summary(public.intake_calls), public.intake_call_details(text),
  public.escalate_intake_call(uuid, text), public.terminate_intake_call(uuid, text),
  public.consume_api_rate_limit(integer)
to authenticated, service_role;

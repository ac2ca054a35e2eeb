-- The call state machines. Every change of intake_calls.status or call_sessions.status happens here,
-- records a call_events row, and queues an app webhook where the app cares.
--
-- intake call:  queued -> dispatching -> in_progress -> completed | failed | cancelled | opted_out
--                  ^          |               |
--                  +----------+---------------+  (lease lapsed, dispatch error, retry after an attempt)
--               queued -> cancelled | expired | failed (do-not-call) ; final states never change.
-- session:      created -> dialing -> ringing -> answered -> ended   (monotonic: a late or duplicate
--               carrier event is recorded with applied = false and changes nothing)
-- When an attempt ends unsuccessfully, private.schedule_retry (20261121000710_retry_scheduling.sql) decides
-- whether and when the call is tried again.

alter table public.intake_calls add column cancel_requested_at timestamptz;
comment on column public.intake_calls.cancel_requested_at is
  'Set when the app cancels a live call: the carrier hangs up and the attempt ends as cancelled.';

create function private.is_final(s public.intake_call_status) returns boolean
language sql immutable
set search_path = ''
as $$ select s in ('completed', 'failed', 'cancelled', 'expired', 'opted_out') $$;

-- An attempt whose origination is in doubt: still `created` (no carrier answer recorded) while no dispatcher
-- will record one, because its call's claim was dropped (a timeout, a duplicate delivery, a lapsed lease) or the
-- call ended meanwhile (cancelled, expired). Only a reconciler asking the carrier settles it. The one definition
-- for the reconcilers' queue (claim_reconciliations) and the tick that wakes them.
create function private.origination_in_doubt(
  session_status public.session_status, call_status public.intake_call_status, claim uuid
) returns boolean
language sql immutable
set search_path = ''
as $$ select session_status = 'created' and ((call_status = 'dispatching' and claim is null) or private.is_final(call_status)) $$;

create function private.session_rank(s public.session_status) returns integer
language sql immutable
set search_path = ''
as $$ select array_position(array['created', 'dialing', 'ringing', 'answered', 'ended']::public.session_status[], s) $$;

-- The session row, locked for the transition; a clear 404 when it does not exist.
create function private.lock_session(session uuid) returns public.call_sessions
language plpgsql
set search_path = ''
as $$
declare
  session_row public.call_sessions;
begin
  select * into session_row from public.call_sessions where id = session for update;
  if not found then
    perform private.fail(404, 'session_not_found', 'call session not found');
  end if;
  return session_row;
end
$$;

-- Records an event; with a dedupe_key, a second identical event is dropped (returns false).
create function private.record_event(
  call_id uuid, session uuid, source public.event_source, event_type text,
  from_status text default null, to_status text default null, applied boolean default true,
  payload jsonb default '{}', dedupe_key text default null
) returns boolean
language plpgsql
set search_path = ''
as $$
#variable_conflict use_column
declare
  inserted integer;
begin
  insert into public.call_events (org_id, intake_call_id, session_id, source, type, from_status, to_status,
                                  applied, payload, dedupe_key, actor)
  select c.org_id, c.id, record_event.session, record_event.source, record_event.event_type,
         record_event.from_status, record_event.to_status, record_event.applied,
         coalesce(record_event.payload, '{}'), record_event.dedupe_key, auth.uid()
    from public.intake_calls c where c.id = record_event.call_id
  on conflict (dedupe_key) where dedupe_key is not null do nothing;
  get diagnostics inserted = row_count;
  return inserted = 1;
end
$$;

-- The only writer of intake_calls.status. Raises on an illegal transition.
create function private.transition_call(
  call_id uuid, to_status public.intake_call_status, source public.event_source, event_type text,
  final_outcome public.call_outcome default null, payload jsonb default '{}', session uuid default null
) returns public.intake_calls
language plpgsql
set search_path = ''
as $$
declare
  call_row public.intake_calls;
  from_status public.intake_call_status;
  legal boolean;
begin
  select * into call_row from public.intake_calls where id = call_id for update;
  if not found then
    perform private.fail(404, 'intake_call_not_found', 'intake call not found');
  end if;
  from_status := call_row.status;
  legal := case from_status
    when 'queued' then to_status in ('dispatching', 'cancelled', 'expired', 'failed', 'opted_out')
    when 'dispatching' then to_status in ('queued', 'in_progress', 'cancelled', 'expired', 'failed', 'opted_out')
    when 'in_progress' then to_status in ('queued', 'completed', 'failed', 'cancelled', 'opted_out', 'expired')
    else false
  end;
  if not legal then
    perform private.fail(409, 'illegal_transition',
      format('intake call is %s and cannot become %s', from_status, to_status),
      jsonb_build_object('from', from_status, 'to', to_status));
  end if;
  update public.intake_calls
     set status = to_status,
         outcome = case when private.is_final(to_status) then coalesce(final_outcome, outcome) else null end,
         completed_at = case when private.is_final(to_status) then now() else null end,
         lease_expires_at = case when to_status = 'dispatching' then lease_expires_at else null end,
         claim_token = case when to_status = 'dispatching' then claim_token else null end,
         updated_at = now()
   where id = call_id
  returning * into call_row;
  perform private.record_event(call_id, session, source, event_type, from_status::text, to_status::text, true, payload);
  if private.is_final(to_status) then
    perform private.enqueue_webhook(call_row, case to_status
      when 'completed' then 'call.completed'
      when 'opted_out' then 'call.opted_out'
      when 'cancelled' then 'call.cancelled'
      when 'expired' then 'call.expired'
      else 'call.failed' end,
      jsonb_build_object('results', call_row.results));
  end if;
  return call_row;
end
$$;

-- Creating a call (API or a row written by an external system) -----------------------------------------
create function private.prepare_new_call() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if not exists (select 1 from public.call_templates t where t.id = new.template_id and t.org_id = new.org_id) then
    perform private.fail(422, 'template_not_found', 'the template does not belong to this organization');
  end if;
  new.status := 'queued';
  new.outcome := null;
  new.attempts := 0;
  new.next_attempt_at := greatest(coalesce(new.not_before, now()), now());
  if exists (select 1 from public.do_not_call d where d.org_id = new.org_id and d.phone = new.callee_phone) then
    new.status := 'failed';
    new.outcome := 'do_not_call';
    new.completed_at := now();
  end if;
  return new;
end
$$;
create trigger prepare_new_call before insert on public.intake_calls
  for each row execute function private.prepare_new_call();

create function private.record_new_call() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  perform private.record_event(new.id, null, case when auth.role() is null then 'database' else 'api' end::public.event_source,
    'call.created', null, new.status::text, true,
    jsonb_build_object('carrier', new.carrier, 'not_before', new.not_before, 'deadline', new.deadline));
  perform private.enqueue_webhook(new, case when new.status = 'queued' then 'call.queued' else 'call.failed' end);
  return null;
end
$$;
create trigger record_new_call after insert on public.intake_calls
  for each row execute function private.record_new_call();

-- Rows are changed by the functions above and below only, whoever holds the table privilege. The trigger's WHEN
-- clause is the rule (and keeps the hot paths, claiming and transitions, from calling the function at all).
create function private.protect_call_columns() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  perform private.fail(409, 'immutable_column', 'org, template, callee phone and creation time of a call never change');
  return new;
end
$$;
create trigger protect_call_columns before update on public.intake_calls
  for each row
  when (new.org_id <> old.org_id or new.template_id <> old.template_id or new.callee_phone <> old.callee_phone
        or new.created_at <> old.created_at)
  execute function private.protect_call_columns();

create function public.create_intake_call(call jsonb, request_hash text default null)
returns table (intake_call public.intake_calls, created boolean)
language plpgsql security definer
set search_path = ''
as $$
declare
  target_org uuid := nullif(call ->> 'org_id', '')::uuid;
  key text := nullif(call ->> 'idempotency_key', '');
  existing public.intake_calls;
  row public.intake_calls;
begin
  perform private.require_org_access(target_org);
  if key is not null then
    select * into existing from public.intake_calls c where c.org_id = target_org and c.idempotency_key = key;
    if found then
      if existing.request_hash is distinct from request_hash then
        perform private.fail(409, 'idempotency_conflict',
          'this idempotency key was already used with a different request',
          jsonb_build_object('intake_call_id', existing.id));
      end if;
      return query select existing, false;
      return;
    end if;
  end if;
  insert into public.intake_calls (
    org_id, template_id, callee_phone, callee_timezone, callee_name, patient_id, external_ref, idempotency_key,
    request_hash, variables, greeting_override, carrier, priority, not_before, deadline, created_by, simulation)
  values (
    target_org, (call ->> 'template_id')::uuid, call ->> 'callee_phone', call ->> 'callee_timezone',
    call ->> 'callee_name', (call ->> 'patient_id')::uuid, call ->> 'external_ref', key, request_hash,
    coalesce(call -> 'variables', '{}'), call ->> 'greeting_override',
    coalesce(call ->> 'carrier', 'livekit')::public.call_carrier, coalesce((call ->> 'priority')::integer, 0),
    coalesce((call ->> 'not_before')::timestamptz, now()), (call ->> 'deadline')::timestamptz, auth.uid(),
    nullif(call -> 'simulation', 'null'::jsonb))
  on conflict (org_id, idempotency_key) do nothing
  returning * into row;
  if row.id is null then
    -- A concurrent request with the same key won the race: answer as its retry would be answered.
    select * into existing from public.intake_calls c where c.org_id = target_org and c.idempotency_key = key;
    if existing.request_hash is distinct from request_hash then
      perform private.fail(409, 'idempotency_conflict', 'this idempotency key was already used with a different request',
        jsonb_build_object('intake_call_id', existing.id));
    end if;
    return query select existing, false;
    return;
  end if;
  return query select row, true;
end
$$;
comment on function public.create_intake_call is
  'Creates an intake call for an org the caller belongs to; the same idempotency key returns the original call (409 when the request differs).';

create function public.cancel_intake_call(call_id uuid, reason text default null)
returns public.intake_calls
language plpgsql security definer
set search_path = ''
as $$
declare
  call_row public.intake_calls;
begin
  select * into call_row from public.intake_calls where id = call_id for update;
  if not found or not exists (select 1 from private.caller_org_ids() o where o = call_row.org_id) then
    perform private.fail(404, 'intake_call_not_found', 'intake call not found');
  end if;
  if call_row.status in ('queued', 'dispatching') then
    return private.transition_call(call_id, 'cancelled', 'api', 'call.cancelled', 'cancelled',
      jsonb_build_object('reason', reason));
  elsif call_row.status = 'in_progress' then
    update public.intake_calls set cancel_requested_at = coalesce(cancel_requested_at, now()), updated_at = now()
     where id = call_id returning * into call_row;
    perform private.record_event(call_id, null, 'api', 'call.cancel_requested', null, null, true,
      jsonb_build_object('reason', reason));
    return call_row;
  end if;
  perform private.fail(409, 'call_already_final', format('intake call is already %s', call_row.status));
  return null;
end
$$;
comment on function public.cancel_intake_call is
  'Cancels a queued call at once; a live call is marked for hang-up (the carrier ends it as cancelled).';

-- The call, locked, for the holder of `claim`; anyone else gets 409 claim_lost: a lapsed lease, a cancelled call,
-- or a claim handed to reconciliation (which leaves none: a null claim never matches, or a call being reconciled
-- could be dialled again). Every function that acts on a claim starts here.
create function private.lock_claimed_call(call_id uuid, claim uuid) returns public.intake_calls
language plpgsql
set search_path = ''
as $$
declare
  call_row public.intake_calls;
begin
  select * into call_row from public.intake_calls where id = call_id for update;
  if not found or call_row.status <> 'dispatching' or claim is null or call_row.claim_token is distinct from claim then
    perform private.fail(409, 'claim_lost', 'the call is not claimed by this dispatcher (lease lapsed or cancelled)');
  end if;
  return call_row;
end
$$;

-- Attempts (dispatcher, service_role) ---------------------------------------------------------------
-- An attempt's room is named after the attempt, `call-<session id>`, unless the caller names one: the id
-- alone finds the room (LiveKit reconciliation, the agent, the Twilio bridge).
create function public.start_call_attempt(call_id uuid, claim uuid, room text default null)
returns public.call_sessions
language plpgsql security definer
set search_path = ''
as $$
declare
  call_row public.intake_calls;
  session_row public.call_sessions;
  new_id uuid := gen_random_uuid();
begin
  call_row := private.lock_claimed_call(call_id, claim);
  -- Idempotent for the claim holder: a retried request gets the attempt already created.
  select * into session_row from public.call_sessions s
   where s.intake_call_id = call_id and s.status <> 'ended' order by s.attempt_number desc limit 1;
  if found then
    return session_row;
  end if;
  insert into public.call_sessions (id, org_id, intake_call_id, attempt_number, carrier, room_name)
  values (new_id, call_row.org_id, call_id,
          coalesce((select max(s.attempt_number) from public.call_sessions s where s.intake_call_id = call_id), 0) + 1,
          call_row.carrier, coalesce(room, 'call-' || new_id::text))
  returning * into session_row;
  perform private.record_event(call_id, session_row.id, 'dispatcher', 'session.created', null, 'created');
  return session_row;
end
$$;

-- The one hand-over of a claimed call to its live attempt: counted as an attempt, moved to in_progress and
-- announced to the app as call.dialing, whoever sees the attempt live first: the dispatcher marking it dialing,
-- or the scheduler adopting an attempt the carrier reported on after its dispatcher's lease lapsed.
create function private.hand_over_to_attempt(
  session_row public.call_sessions, source public.event_source, event_type text
) returns public.intake_calls
language plpgsql
set search_path = ''
as $$
declare
  call_row public.intake_calls;
begin
  update public.intake_calls set attempts = attempts + 1 where id = session_row.intake_call_id;
  call_row := private.transition_call(session_row.intake_call_id, 'in_progress', source, event_type, null,
    jsonb_build_object('attempt', session_row.attempt_number, 'session_status', session_row.status), session_row.id);
  perform private.enqueue_webhook(call_row, 'call.dialing', jsonb_build_object('session_id', session_row.id));
  return call_row;
end
$$;

-- Carrier events that overtake the dispatcher ------------------------------------------------------------------
-- A status callback (ringing, answered, even the end) may be recorded before the dispatcher has marked the
-- attempt dialing. The session keeps its later state; the carrier ids are filled in and the call is still
-- handed over to in_progress (unless the attempt already ended, which moved the call on by itself).
create function public.mark_session_dialing(session uuid, carrier_call text default null, dispatch text default null)
returns public.call_sessions
language plpgsql security definer
set search_path = ''
as $$
declare
  session_row public.call_sessions;
  call_row public.intake_calls;
begin
  session_row := private.lock_session(session);
  if session_row.status = 'created' then
    update public.call_sessions
       set status = 'dialing', dialed_at = now(),
           carrier_call_id = coalesce(carrier_call, carrier_call_id), dispatch_id = coalesce(dispatch, dispatch_id)
     where id = session returning * into session_row;
    perform private.record_event(session_row.intake_call_id, session, 'dispatcher', 'session.dialing', 'created', 'dialing');
  else
    update public.call_sessions
       set carrier_call_id = coalesce(carrier_call_id, carrier_call),
           dispatch_id = coalesce(dispatch_id, dispatch)
     where id = session returning * into session_row;
    perform private.record_event(session_row.intake_call_id, session, 'dispatcher', 'session.dialing',
      session_row.status::text, 'dialing', false);
  end if;
  select * into call_row from public.intake_calls where id = session_row.intake_call_id for update;
  if call_row.status = 'dispatching' and session_row.status <> 'ended' then
    perform private.hand_over_to_attempt(session_row, 'dispatcher', 'call.dialing');
  end if;
  return session_row;
end
$$;

-- Ends the call's attempts that never reached a carrier (status created) as not dialled, with the reason.
create function private.end_undialed_attempts(call_id uuid, reason text) returns void
language plpgsql
set search_path = ''
as $$
declare
  open_session uuid;
begin
  for open_session in
    update public.call_sessions set status = 'ended', ended_reason = 'not_dialed', ended_at = now()
     where intake_call_id = call_id and status = 'created'
    returning id
  loop
    perform private.record_event(call_id, open_session, 'dispatcher', 'session.ended', 'created', 'ended', true,
      jsonb_build_object('reason', reason));
  end loop;
end
$$;

-- Gives a claimed call back to the queue without consuming an attempt (retryable dispatch error).
create function public.release_call_claim(call_id uuid, claim uuid, reason text, retry_after_seconds integer default 30)
returns public.intake_calls
language plpgsql security definer
set search_path = ''
as $$
declare
  call_row public.intake_calls;
begin
  call_row := private.lock_claimed_call(call_id, claim);
  perform private.end_undialed_attempts(call_id, reason);
  call_row := private.transition_call(call_id, 'queued', 'dispatcher', 'call.released', null,
    jsonb_build_object('reason', reason, 'retry_after_seconds', retry_after_seconds));
  update public.intake_calls set next_attempt_at = now() + make_interval(secs => retry_after_seconds)
   where id = call_id returning * into call_row;
  return call_row;
end
$$;

-- Carrier progress (ringing, answered) ------------------------------------------------------------------
create function public.record_session_status(
  session uuid, new_status public.session_status, source public.event_source,
  dedupe_key text default null, payload jsonb default '{}', answered_by public.answered_by default null
) returns boolean
language plpgsql security definer
set search_path = ''
as $$
declare
  session_row public.call_sessions;
  applied boolean;
  call_row public.intake_calls;
begin
  if new_status not in ('ringing', 'answered') then
    perform private.fail(400, 'invalid_status', 'record_session_status takes ringing or answered; use record_session_outcome to end');
  end if;
  session_row := private.lock_session(session);
  applied := private.session_rank(new_status) > private.session_rank(session_row.status);
  if not private.record_event(session_row.intake_call_id, session, source, 'session.' || new_status::text,
       session_row.status::text, new_status::text, applied, payload, dedupe_key) then
    return false; -- the very same event again
  end if;
  if not applied then
    return false;
  end if;
  update public.call_sessions
     set status = new_status,
         ringing_at = case when new_status = 'ringing' then now() else ringing_at end,
         answered_at = case when new_status = 'answered' then now() else answered_at end,
         answered_by = coalesce(record_session_status.answered_by, call_sessions.answered_by),
         dialed_at = coalesce(dialed_at, now())
   where id = session;
  if new_status = 'answered' then
    select * into call_row from public.intake_calls where id = session_row.intake_call_id;
    perform private.enqueue_webhook(call_row, 'call.answered',
      jsonb_build_object('session_id', session, 'answered_by', answered_by));
  end if;
  return true;
end
$$;
comment on function public.record_session_status is
  'Moves a session forward (ringing, answered). A duplicate or late event is recorded with applied = false and changes nothing.';

-- Ending an attempt -----------------------------------------------------------------------------------
create function public.record_session_outcome(
  session uuid, outcome public.call_outcome, source public.event_source,
  dedupe_key text default null, payload jsonb default '{}', sip_status integer default null
) returns boolean
language plpgsql security definer
set search_path = ''
as $$
declare
  session_row public.call_sessions;
  call_row public.intake_calls;
begin
  session_row := private.lock_session(session);
  if not private.record_event(session_row.intake_call_id, session, source, 'session.ended',
       session_row.status::text, 'ended', session_row.status <> 'ended',
       coalesce(payload, '{}') || jsonb_build_object('outcome', outcome), dedupe_key) then
    return false;
  end if;
  if session_row.status = 'ended' then
    return false; -- late: the attempt already ended
  end if;
  update public.call_sessions
     set status = 'ended', ended_reason = outcome, ended_at = now(),
         sip_status_code = coalesce(sip_status, sip_status_code)
   where id = session;
  select * into call_row from public.intake_calls where id = session_row.intake_call_id for update;
  if private.is_final(call_row.status) or call_row.status = 'queued' then
    return true; -- the call has already moved on; only the attempt ends
  end if;
  if call_row.status = 'dispatching' and outcome <> 'not_dialed' then
    -- The carrier refused the origination (busy, invalid number, ...): that was an attempt.
    update public.intake_calls set attempts = attempts + 1 where id = call_row.id;
  end if;
  if outcome = 'not_dialed' then
    -- Never reached the carrier: back to the queue without spending an attempt.
    perform private.transition_call(call_row.id, 'queued', source, 'call.requeued', null, '{}', session);
  elsif call_row.cancel_requested_at is not null and outcome not in ('completed', 'escalated', 'opted_out') then
    perform private.transition_call(call_row.id, 'cancelled', source, 'call.cancelled', 'cancelled', '{}', session);
  elsif outcome in ('completed', 'escalated') then
    perform private.transition_call(call_row.id, 'completed', source, 'call.completed', outcome, '{}', session);
  elsif outcome = 'opted_out' then
    insert into public.do_not_call (org_id, phone, reason, source)
    values (call_row.org_id, call_row.callee_phone, 'callee asked not to be called', 'spoken_opt_out')
    on conflict do nothing;
    perform private.transition_call(call_row.id, 'opted_out', source, 'call.opted_out', 'opted_out', '{}', session);
  elsif outcome in ('invalid_number', 'wrong_number', 'do_not_call') then
    perform private.transition_call(call_row.id, 'failed', source, 'call.failed', outcome, '{}', session);
  elsif outcome in ('cancelled', 'terminated') then
    perform private.transition_call(call_row.id, 'cancelled', source, 'call.cancelled', outcome, '{}', session);
  elsif outcome = 'expired' then
    perform private.transition_call(call_row.id, 'expired', source, 'call.expired', 'expired', '{}', session);
  else
    perform private.schedule_retry(call_row.id, outcome, session);
  end if;
  return true;
end
$$;
comment on function public.record_session_outcome is
  'Ends an attempt and moves its call on: completed, opted out (number added to do-not-call), failed, or retried by policy. A late or duplicate end is recorded and changes nothing.';

-- Do-not-call: an entry stops every future call to that number for that org ---------------------------
create function private.apply_do_not_call() returns trigger
language plpgsql security definer
set search_path = ''
as $$
declare
  call_id uuid;
begin
  for call_id in
    select c.id from public.intake_calls c
     where c.org_id = new.org_id and c.callee_phone = new.phone and c.status = 'queued'
  loop
    perform private.transition_call(call_id, 'failed', 'database', 'call.do_not_call', 'do_not_call',
      jsonb_build_object('source', new.source));
  end loop;
  return null;
end
$$;
create trigger apply_do_not_call after insert on public.do_not_call
  for each row execute function private.apply_do_not_call();

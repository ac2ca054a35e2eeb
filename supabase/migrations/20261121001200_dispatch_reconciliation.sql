-- The dispatcher's side of the call state machine (service_role only): starting an attempt without ever
-- originating it twice, recording what the carrier answered, and reconciling requests whose answer was lost.
--
-- The rule that keeps a call from being dialled twice: an attempt (call_sessions row) is originated by the
-- dispatcher that created it, once. Whoever finds an attempt in `created` state it did not just create -- a
-- duplicate delivery of the same claim, a lapsed lease, a request that timed out -- never originates it again:
-- the call's claim is dropped (an event `session.reconcile_required` says why), and a reconciler asks the carrier
-- whether the request arrived (found: the attempt is dialing; not found: the call goes back to the queue).
--
-- Also here: two fixes for carrier events that overtake the dispatcher's own acknowledgement (a Twilio
-- status callback can arrive before mark_session_dialing).

-- What the dispatcher needs to originate an attempt ------------------------------------------------------------
-- Ids, the number to dial (kept in memory, never logged) and the few settings the carriers read. The replayable
-- IVR path is included only while the number's classification is fresh and says an IVR answers.
create function private.dispatch_context(session uuid) returns jsonb
language sql stable
set search_path = ''
as $$
  select jsonb_build_object(
    'session', jsonb_build_object('id', s.id, 'intake_call_id', s.intake_call_id, 'org_id', s.org_id,
                                  'attempt_number', s.attempt_number, 'carrier', s.carrier,
                                  'room_name', s.room_name, 'created_at', s.created_at,
                                  'carrier_call_id', s.carrier_call_id, 'dispatch_id', s.dispatch_id),
    'call', jsonb_build_object('callee_phone', c.callee_phone),
    'template', jsonb_build_object('max_duration_seconds', t.max_duration_seconds,
                                   'voicemail_policy', t.voicemail_policy),
    'organization', jsonb_build_object('caller_id', o.caller_id, 'livekit_sip_trunk_id', o.livekit_sip_trunk_id),
    'ivr_steps', (select p.ivr_steps from public.phone_system_classifications p
                   where p.org_id = c.org_id and p.phone = c.callee_phone and p.expires_at > now()
                     and p.classification in ('ivr_only', 'ivr_then_human')))
    from public.call_sessions s
    join public.intake_calls c on c.id = s.intake_call_id
    join public.call_templates t on t.id = c.template_id
    join public.organizations o on o.id = c.org_id
   where s.id = session
$$;

-- A claimed call the dispatcher cannot originate: a web call is live only while its browser is connected, so an
-- attempt of it that ended unsuccessfully is not redialled; the call ends failed with that attempt's outcome.
create function private.close_undialable_call(call_id uuid, reason text) returns public.intake_calls
language plpgsql
set search_path = ''
as $$
declare
  last_outcome public.call_outcome;
begin
  select s.ended_reason into last_outcome from public.call_sessions s
   where s.intake_call_id = call_id and s.ended_reason is not null order by s.attempt_number desc limit 1;
  return private.transition_call(call_id, 'failed', 'dispatcher', 'call.not_dialable',
    coalesce(last_outcome, 'failed'), jsonb_build_object('reason', reason));
end
$$;

-- Starting an attempt ------------------------------------------------------------------------------------------
-- For the holder of a claim: creates the attempt (room `call-<session id>`) and returns what the carriers need,
-- `{"deferred": false, "session": ..., ...}`. When the call already has an open attempt, an earlier delivery of
-- the same claim may have sent it to the carrier: it is handed to reconciliation and `{"deferred": true}` says
-- so. A web call is never dialled: it is closed and `{"not_dialable": true}` says so. A claim that is not (or no
-- longer) this caller's raises 409 claim_lost.
create function public.begin_call_attempt(call_id uuid, claim uuid) returns jsonb
language plpgsql security definer
set search_path = ''
as $$
declare
  call_row public.intake_calls;
  session_row public.call_sessions;
begin
  call_row := private.lock_claimed_call(call_id, claim);
  select * into session_row from public.call_sessions s
   where s.intake_call_id = call_id and s.status <> 'ended' order by s.attempt_number desc limit 1;
  if found then
    -- Dropping the claim is what hands the attempt to reconciliation (private.origination_in_doubt). Nothing here
    -- may wait on the attempt's row: its originator may hold it (recording the origination locks the attempt,
    -- then the call), and waiting for it while holding the call deadlocks. That includes the foreign-key check
    -- of an event naming the attempt (KEY SHARE against the originator's FOR UPDATE; CI hit it), so the event is
    -- the call's, with the attempt in its payload.
    update public.intake_calls set claim_token = null, updated_at = now() where id = call_id;
    perform private.record_event(call_id, null, 'dispatcher', 'session.reconcile_required',
      session_row.status::text, session_row.status::text, true,
      jsonb_build_object('reason', 'duplicate_claim', 'session_id', session_row.id));
    return jsonb_build_object('deferred', true, 'session_id', session_row.id);
  end if;
  if call_row.carrier = 'web' then
    perform private.close_undialable_call(call_id, 'web calls are held in the browser, never dialled');
    return jsonb_build_object('deferred', false, 'not_dialable', true);
  end if;
  session_row := public.start_call_attempt(call_id, claim);
  return jsonb_build_object('deferred', false) || private.dispatch_context(session_row.id);
end
$$;
comment on function public.begin_call_attempt is
  'Creates the attempt of a claimed call and returns what the carrier needs; never hands out an attempt twice (an existing one goes to reconciliation).';

-- After the carrier accepted the origination: the attempt is dialing (mark_session_dialing) and the answer says
-- whether the call was cancelled or expired meanwhile, in which case the dispatcher hangs up at once.
create function public.record_origination(session uuid, carrier_call text default null, dispatch text default null)
returns jsonb
language plpgsql security definer
set search_path = ''
as $$
declare
  session_row public.call_sessions := public.mark_session_dialing(session, carrier_call, dispatch);
  call_status public.intake_call_status;
begin
  select c.status into call_status from public.intake_calls c where c.id = session_row.intake_call_id;
  return jsonb_build_object('session_status', session_row.status, 'call_status', call_status,
                            'hang_up', private.is_final(call_status) and session_row.status <> 'ended');
end
$$;

-- The origination request may have reached the carrier without an answer (a timeout), or a second dispatcher
-- found the attempt already created: flag the attempt and drop the call's claim, so that a reconciler (any
-- dispatcher run, after the grace period) asks the carrier before anything else happens to the call.
create function public.defer_to_reconciliation(session uuid, reason text default 'timeout') returns boolean
language plpgsql security definer
set search_path = ''
as $$
declare
  session_row public.call_sessions := private.lock_session(session);
begin
  if session_row.status <> 'created' then
    return false; -- the carrier already reported on it: nothing to reconcile
  end if;
  update public.intake_calls set claim_token = null, updated_at = now()
   where id = session_row.intake_call_id and status = 'dispatching';
  perform private.record_event(session_row.intake_call_id, session, 'dispatcher', 'session.reconcile_required',
    'created', 'created', true, jsonb_build_object('reason', reason));
  return true;
end
$$;
comment on function public.defer_to_reconciliation is
  'Flags an attempt whose origination may have reached the carrier and drops the claim: a reconciler asks the carrier before any retry.';

-- Attempts to reconcile, each handed to one reconciler at a time:
--   - attempts still `created` whose call is dispatching with no claim holder (deferred above, a duplicate claim,
--     or a lapsed lease: only these drop a claim without leaving dispatching): the call gets a fresh claim token
--     and lease, with which the reconciler either records the origination (found) or releases the call;
--   - attempts still `created` whose call was cancelled or expired meanwhile: found means hang up.
-- Only attempts created at least grace_seconds ago: a request still in flight must have timed out by then.
create function public.claim_reconciliations(max_sessions integer, grace_seconds integer, at_time timestamptz default now())
returns table (session_id uuid, intake_call_id uuid, claim_token uuid, call_status public.intake_call_status, context jsonb)
language plpgsql security definer
set search_path = ''
as $$
declare
  lease integer := (select claim_lease_seconds from private.platform_settings);
begin
  return query
  with candidates as (
    select s.id as session_id, c.id as call_id, c.status as call_status
      from public.call_sessions s
      join public.intake_calls c on c.id = s.intake_call_id
     where s.status = 'created' and s.created_at <= at_time - make_interval(secs => grace_seconds)
       and private.origination_in_doubt(s.status, c.status, c.claim_token)
     order by s.created_at
     limit least(max_sessions, 1000)
       for update of c skip locked
  ),
  claimed as (
    update public.intake_calls c
       set claim_token = gen_random_uuid(), lease_expires_at = at_time + make_interval(secs => lease), updated_at = now()
      from candidates k
     where c.id = k.call_id and k.call_status = 'dispatching'
    returning c.id, c.claim_token
  )
  select k.session_id, k.call_id, cl.claim_token, k.call_status, private.dispatch_context(k.session_id)
    from candidates k left join claimed cl on cl.id = k.call_id;
end
$$;
comment on function public.claim_reconciliations is
  'Hands attempts whose origination is in doubt to one reconciler each (claim + lease), after a grace period.';

create index call_sessions_created on public.call_sessions (created_at) where status = 'created';

-- Which of these carrier call ids already belong to an attempt (Twilio reconciliation matches the calls it
-- finds against them).
create function public.known_carrier_call_ids(carrier public.call_carrier, ids text[]) returns setof text
language sql stable security definer
set search_path = ''
as $$
  select s.carrier_call_id from public.call_sessions s
   where s.carrier = known_carrier_call_ids.carrier and s.carrier_call_id = any (ids)
$$;

revoke execute on function public.begin_call_attempt(uuid, uuid), public.record_origination(uuid, text, text),
  public.defer_to_reconciliation(uuid, text), public.claim_reconciliations(integer, integer, timestamptz),
  public.known_carrier_call_ids(public.call_carrier, text[]),
  private.dispatch_context(uuid), private.close_undialable_call(uuid, text)
from public, anon, authenticated;
grant execute on function public.begin_call_attempt(uuid, uuid), public.record_origination(uuid, text, text),
  public.defer_to_reconciliation(uuid, text), public.claim_reconciliations(integer, integer, timestamptz),
  public.known_carrier_call_ids(public.call_carrier, text[]),
  private.dispatch_context(uuid), private.close_undialable_call(uuid, text)
to service_role;

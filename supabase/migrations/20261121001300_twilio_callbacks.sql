-- Twilio's webhooks (the twilio-voice and twilio-status edge functions), as business rules: the
-- functions verify X-Twilio-Signature, call these, and render what they decide. Twilio delivers at
-- least once and in any order, so every rule here is idempotent and monotonic:
--
--  * one call_events row per callback (source carrier, type twilio.*), keyed CallSid:SequenceNumber
--    (CallSid:amd for the asynchronous answering-machine result, CallSid:voice for the TwiML request):
--    the very same callback a second time is dropped without a row (a replayed request changes
--    nothing, and cannot fill the table), a late one is recorded with applied = false;
--  * the transitions themselves go through mark_session_dialing, record_session_status and
--    record_session_outcome, which keep the session and call state machines and write their own events;
--  * a callback whose CallSid is not the session's (a second carrier call for one attempt) changes
--    nothing, and its TwiML request is answered with a hang-up.
--
-- Who decides how an answered call ended: the agent. Twilio's "completed" only says the line closed;
-- on an answered, human-answered attempt the agent's report (completed, escalated, opted out, wrong
-- number...) is what the call's state machine needs, and it often arrives after Twilio's callback. So
-- "completed" on such an attempt only stamps carrier_ended_at, and settle_carrier_hangups() ends the
-- attempt as `failed` (retried by policy) when the agent has not reported within
-- platform_settings.agent_outcome_grace_seconds. An attempt the agent already ended stays as the agent
-- left it; one answered by a machine, or whose call the app cancelled, ends at once.

alter table public.call_sessions add column carrier_ended_at timestamptz;
comment on column public.call_sessions.carrier_ended_at is
  'When the carrier reported the line closed on an answered attempt the agent had not yet ended; '
  'settle_carrier_hangups() ends it after the grace period if the agent never reports.';
create index call_sessions_awaiting_agent on public.call_sessions (carrier_ended_at)
  where carrier_ended_at is not null and status <> 'ended';

alter table private.platform_settings
  add column agent_outcome_grace_seconds integer not null default 60 check (agent_outcome_grace_seconds > 0);
comment on column private.platform_settings.agent_outcome_grace_seconds is
  'How long after the carrier hung up an answered call the agent may still report its outcome.';

-- Twilio's AnsweredBy (human, machine_start, machine_end_beep|silence|other, fax, unknown) in our terms.
create function private.twilio_answered_by(raw text) returns public.answered_by
language sql immutable
set search_path = ''
as $$
  select case
    when raw = 'human' then 'human'
    when raw like 'machine%' then 'voicemail'
    when raw in ('fax', 'unknown') then 'unknown'
  end::public.answered_by
$$;

-- What a failed dial's SIP final response means for the attempt: the same map as shared/src/sip-status.ts, which
-- the LiveKit carrier and the agent use (a Deno test holds the two equal over every final response). Busy and
-- declined retry as busy, no answer as no_answer, an invalid number never; any other response is `failed`.
create function private.sip_outcome(sip_code integer) returns public.call_outcome
language sql immutable
set search_path = ''
as $$
  select case
    when sip_code in (486, 600) then 'busy'
    when sip_code in (408, 480, 487) then 'no_answer'
    when sip_code = 603 then 'declined'
    when sip_code in (404, 410, 484, 604) then 'invalid_number'
    else 'failed'
  end::public.call_outcome
$$;

-- How an unanswered Twilio call ended: Twilio's own busy and no-answer first, then a failed call by its SIP
-- answer (no SipResponseCode: failed). `canceled` only happens when we cancelled the call through the REST API.
create function private.twilio_outcome(call_status text, sip_code integer) returns public.call_outcome
language sql immutable
set search_path = ''
as $$
  select case call_status
    when 'busy' then 'busy'
    when 'no-answer' then 'no_answer'
    when 'canceled' then 'cancelled'
    when 'failed' then private.sip_outcome(sip_code)
  end::public.call_outcome
$$;

-- The fields of a Twilio request kept in the audit trail. Never the numbers (To, From, Called,
-- Caller...): they are PHI.
create function private.twilio_event_payload(params jsonb) returns jsonb
language sql immutable
set search_path = ''
as $$
  select jsonb_strip_nulls(jsonb_build_object(
    'CallSid', params ->> 'CallSid',
    'CallStatus', params ->> 'CallStatus',
    'SequenceNumber', params ->> 'SequenceNumber',
    'AnsweredBy', params ->> 'AnsweredBy',
    'MachineDetectionDuration', params ->> 'MachineDetectionDuration',
    'SipResponseCode', params ->> 'SipResponseCode',
    'CallDuration', params ->> 'CallDuration',
    'ErrorCode', params ->> 'ErrorCode',
    'Timestamp', params ->> 'Timestamp'))
$$;

-- A template text with {{organization}}, {{callee_name}} and the call's {{variables}} filled in;
-- a placeholder without a value becomes empty rather than being read out as braces.
create function private.render_call_text(body text, call_row public.intake_calls) returns text
language plpgsql stable
set search_path = ''
as $$
declare
  vars jsonb := coalesce(call_row.variables, '{}')
    || jsonb_build_object('organization', (select o.name from public.organizations o where o.id = call_row.org_id),
                          'callee_name', coalesce(call_row.callee_name, ''));
  out text := body;
  placeholder text;
begin
  for placeholder in
    select distinct m[1] from regexp_matches(body, '\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}', 'g') m
  loop
    out := regexp_replace(out, '\{\{\s*' || placeholder || '\s*\}\}',
                          replace(coalesce(vars ->> placeholder, ''), '\', '\\'), 'g');
  end loop;
  return out;
end
$$;

-- The attempt's state before a callback is applied: a carrier callback proves the call was placed, so
-- a session still `created` (Twilio's first callback can beat the dispatcher's own bookkeeping) becomes
-- `dialing` with this CallSid, exactly as the dispatcher would have done; a session without a CallSid
-- learns it.
create function private.adopt_twilio_call(session_row public.call_sessions, call_sid text)
returns public.call_sessions
language plpgsql
set search_path = ''
as $$
begin
  if session_row.status = 'created' then
    perform public.mark_session_dialing(session_row.id, call_sid);
  elsif session_row.carrier_call_id is null then
    update public.call_sessions set carrier_call_id = call_sid where id = session_row.id;
  end if;
  select * into session_row from public.call_sessions where id = session_row.id;
  return session_row;
end
$$;

-- Why a Twilio request cannot act on this attempt (null when it can): another carrier's attempt, another call
-- than the one the attempt placed, or an attempt already over. Both webhooks refuse the same way.
create function private.twilio_refusal(session_row public.call_sessions, call_sid text) returns text
language sql immutable
set search_path = ''
as $$
  select case
    when session_row.carrier <> 'twilio' then 'not_a_twilio_session'
    when session_row.carrier_call_id is not null and session_row.carrier_call_id <> call_sid then 'call_sid_mismatch'
    when session_row.status = 'ended' then 'session_ended'
  end
$$;

-- What to do when answering-machine detection says a machine answered (null for a person or an unknown
-- answer): a fax ends the attempt as failed and is hung up on; a voicemail follows the template's policy,
-- leaving its message (returned rendered) or hanging up, and the attempt ends as voicemail, retried by policy.
create function private.answer_machine(session_row public.call_sessions, raw_answered_by text, source_payload jsonb)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  call_row public.intake_calls;
  template_row public.call_templates;
begin
  if raw_answered_by = 'fax' then
    perform public.record_session_outcome(session_row.id, 'failed', 'carrier', null, source_payload);
    return jsonb_build_object('action', 'hang_up', 'reason', 'fax_answered');
  elsif private.twilio_answered_by(raw_answered_by) is distinct from 'voicemail' then
    return null;
  end if;
  select * into call_row from public.intake_calls where id = session_row.intake_call_id;
  select * into template_row from public.call_templates where id = call_row.template_id;
  perform public.record_session_outcome(session_row.id, 'voicemail', 'carrier', null, source_payload);
  if template_row.voicemail_policy = 'leave_message' then
    return jsonb_build_object('action', 'leave_message', 'reason', 'machine_answered',
                              'message', private.render_call_text(template_row.voicemail_message, call_row));
  end if;
  return jsonb_build_object('action', 'hang_up', 'reason', 'machine_answered');
end
$$;

-- The TwiML request (twilio-voice) ------------------------------------------------------------------------
create function public.answer_twilio_call(session uuid, params jsonb)
returns jsonb
language plpgsql security definer
set search_path = ''
as $$
declare
  call_sid text := params ->> 'CallSid';
  key text := call_sid || ':voice';
  payload jsonb := private.twilio_event_payload(params);
  raw_answered_by text := params ->> 'AnsweredBy';
  session_row public.call_sessions;
  call_row public.intake_calls;
  template_row public.call_templates;
  answer jsonb;
  refusal text;
  applied boolean := true;
begin
  if call_sid is null then
    perform private.fail(400, 'missing_call_sid', 'the Twilio request has no CallSid');
  end if;
  select * into session_row from public.call_sessions s where s.id = session for update;
  if not found then
    return jsonb_build_object('action', 'hang_up', 'reason', 'session_not_found');
  end if;
  select * into call_row from public.intake_calls where id = session_row.intake_call_id;
  select * into template_row from public.call_templates where id = call_row.template_id;
  -- Twilio asks once per call; a repeat (Twilio's retry, a replay) gets the answer already given. The
  -- stored answer has no message text (it may name the callee): it is rendered again.
  select e.payload -> 'answer' into answer from public.call_events e where e.dedupe_key = key;
  if answer is not null then
    if answer ->> 'action' = 'leave_message' then
      answer := answer || jsonb_build_object('message', private.render_call_text(template_row.voicemail_message, call_row));
    end if;
    return answer;
  end if;

  refusal := private.twilio_refusal(session_row, call_sid);
  if refusal is not null then
    answer := jsonb_build_object('action', 'hang_up', 'reason', refusal);
    applied := false;
  else
    session_row := private.adopt_twilio_call(session_row, call_sid);
    -- Twilio fetches the TwiML when the callee picks up (after the beep with DetectMessageEnd).
    perform public.record_session_status(session, 'answered', 'carrier', null, payload,
                                         private.twilio_answered_by(raw_answered_by));
    if call_row.cancel_requested_at is not null then
      perform public.record_session_outcome(session, 'cancelled', 'carrier', null, payload);
      answer := jsonb_build_object('action', 'hang_up', 'reason', 'cancel_requested');
    else
      answer := coalesce(private.answer_machine(session_row, raw_answered_by, payload),
                         jsonb_build_object('action', 'bridge', 'session_id', session,
                                            'time_limit_seconds', template_row.max_duration_seconds));
    end if;
  end if;
  perform private.record_event(session_row.intake_call_id, session, 'carrier', 'twilio.voice', null, null, applied,
    payload || jsonb_build_object('answer', answer - 'message'), key);
  return answer;
end
$$;
comment on function public.answer_twilio_call is
  'Decides the TwiML for a Twilio call of a session: bridge into LiveKit, leave the voicemail message, or hang up '
  '(unknown, ended, foreign or cancelled attempt; machine by policy). Idempotent per CallSid.';

-- Status and answering-machine callbacks (twilio-status) -------------------------------------------------
create function public.record_twilio_callback(session uuid, params jsonb)
returns jsonb
language plpgsql security definer
set search_path = ''
as $$
declare
  call_sid text := params ->> 'CallSid';
  call_status text := params ->> 'CallStatus';
  raw_answered_by text := params ->> 'AnsweredBy';
  is_amd boolean := call_status is null;
  key text;
  payload jsonb := private.twilio_event_payload(params);
  session_row public.call_sessions;
  call_row public.intake_calls;
  before public.call_sessions;
  refusal text;
  result jsonb := '{}'::jsonb;
  applied boolean;
begin
  if call_sid is null then
    perform private.fail(400, 'missing_call_sid', 'the Twilio callback has no CallSid');
  end if;
  if is_amd and raw_answered_by is null then
    perform private.fail(400, 'missing_call_status', 'the Twilio callback has neither CallStatus nor AnsweredBy');
  end if;
  if not is_amd and call_status not in ('queued', 'initiated', 'ringing', 'in-progress', 'completed', 'busy',
                                        'no-answer', 'canceled', 'failed') then
    perform private.fail(400, 'invalid_call_status', 'unknown CallStatus', jsonb_build_object('CallStatus', call_status));
  end if;
  -- An empty SequenceNumber is an absent one: falling back to the status keeps ringing and in-progress apart
  -- (keyed on "" every status of the call would be one key, and the second would be dropped as a duplicate).
  key := call_sid || ':' || case when is_amd then 'amd'
                                 else coalesce(nullif(btrim(params ->> 'SequenceNumber'), ''), call_status) end;

  select * into session_row from public.call_sessions s where s.id = session for update;
  if not found then
    perform private.fail(404, 'session_not_found', 'call session not found');
  end if;
  if exists (select 1 from public.call_events e where e.dedupe_key = key) then
    return jsonb_build_object('applied', false, 'duplicate', true);
  end if;
  before := session_row;

  refusal := private.twilio_refusal(session_row, call_sid);
  if refusal is not null then
    result := jsonb_build_object('reason', refusal);
  else
    session_row := private.adopt_twilio_call(session_row, call_sid);
    select * into call_row from public.intake_calls where id = session_row.intake_call_id;
    if is_amd then
      if session_row.status <> 'answered' then
        perform public.record_session_status(session, 'answered', 'carrier', null, payload,
                                             private.twilio_answered_by(raw_answered_by));
      else
        -- Answered already (the status callback came first): the detection's verdict is the one to keep.
        update public.call_sessions set answered_by = private.twilio_answered_by(raw_answered_by)
         where id = session and answered_by is distinct from private.twilio_answered_by(raw_answered_by);
      end if;
      select * into session_row from public.call_sessions where id = session;
      if call_row.cancel_requested_at is null then
        result := coalesce(private.answer_machine(session_row, raw_answered_by, payload), result);
      end if;
    elsif call_status in ('ringing', 'in-progress') then
      perform public.record_session_status(session,
        case call_status when 'ringing' then 'ringing' else 'answered' end::public.session_status,
        'carrier', null, payload, private.twilio_answered_by(raw_answered_by));
    elsif call_status in ('busy', 'no-answer', 'canceled', 'failed')
          and (session_row.answered_at is not null or session_row.carrier_ended_at is not null) then
      -- A Twilio call has one final status. Once the attempt was answered (and so can only end `completed`)
      -- or its final status already came, a later busy / no-answer / canceled / failed is a contradiction
      -- (a replayed or misrouted callback): it must not end an answered attempt and queue a retry of a call
      -- someone spoke on. Recorded with applied = false, nothing else.
      result := jsonb_build_object('reason', 'final_status_already_known');
    elsif call_status in ('busy', 'no-answer', 'canceled', 'failed') then
      perform public.record_session_outcome(session,
        private.twilio_outcome(call_status, nullif(params ->> 'SipResponseCode', '')::integer),
        'carrier', null, payload, nullif(params ->> 'SipResponseCode', '')::integer);
    elsif call_status = 'completed' then
      -- Completed means answered and hung up; the answered callback may not have arrived yet.
      if session_row.status <> 'answered' then
        perform public.record_session_status(session, 'answered', 'carrier', null, payload,
                                             private.twilio_answered_by(raw_answered_by));
        select * into session_row from public.call_sessions where id = session;
      end if;
      if call_row.cancel_requested_at is not null then
        perform public.record_session_outcome(session, 'cancelled', 'carrier', null, payload, 200);
      elsif session_row.answered_by = 'voicemail' then
        perform public.record_session_outcome(session, 'voicemail', 'carrier', null, payload, 200);
      else
        update public.call_sessions set carrier_ended_at = coalesce(carrier_ended_at, now()) where id = session;
        result := jsonb_build_object('reason', 'awaiting_agent_outcome');
      end if;
    end if;
    -- queued / initiated: only the adoption above.
  end if;

  select * into session_row from public.call_sessions where id = session;
  applied := session_row is distinct from before;
  perform private.record_event(session_row.intake_call_id, session, 'carrier',
    case when is_amd then 'twilio.amd' else 'twilio.' || call_status end,
    before.status::text, session_row.status::text, applied, payload || (result - 'message'), key);
  return result || jsonb_build_object('applied', applied, 'duplicate', false, 'status', session_row.status);
end
$$;
comment on function public.record_twilio_callback is
  'Applies a Twilio status or asynchronous answering-machine callback to a session, monotonically and once per '
  'CallSid:SequenceNumber (CallSid:amd); returns {applied, duplicate, status, action?, message?} where action '
  'asks the caller to hang up or play the voicemail message on the live call.';

-- Answered attempts whose line closed and whose agent never reported end here (pg_cron, every tick).
create function public.settle_carrier_hangups() returns integer
language plpgsql security definer
set search_path = ''
as $$
declare
  grace integer := (select s.agent_outcome_grace_seconds from private.platform_settings s);
  session_row public.call_sessions;
  n integer := 0;
begin
  for session_row in
    select * from public.call_sessions s
     where s.carrier_ended_at is not null and s.status <> 'ended'
       and s.carrier_ended_at <= now() - make_interval(secs => grace)
     for update skip locked
  loop
    perform public.record_session_outcome(session_row.id,
      case when session_row.answered_by = 'voicemail' then 'voicemail' else 'failed' end::public.call_outcome,
      'scheduler', null, jsonb_build_object('reason', 'no_agent_outcome', 'grace_seconds', grace));
    n := n + 1;
  end loop;
  return n;
end
$$;
comment on function public.settle_carrier_hangups is
  'Ends answered attempts whose carrier hung up more than agent_outcome_grace_seconds ago without an agent outcome '
  '(as failed, so the call is retried by policy). Run by the pg_cron job settle-carrier-hangups.';

do $$
declare
  tick text := case
    when (select regexp_match(extversion, '^(\d+)\.(\d+)')::int[] from pg_extension where extname = 'pg_cron') >= array[1, 5]
    then '10 seconds' else '* * * * *' end;
begin
  perform cron.schedule('settle-carrier-hangups', tick, 'select public.settle_carrier_hangups()');
end
$$;

revoke execute on function public.answer_twilio_call(uuid, jsonb), public.record_twilio_callback(uuid, jsonb),
  public.settle_carrier_hangups() from public, anon, authenticated;
grant execute on function public.answer_twilio_call(uuid, jsonb), public.record_twilio_callback(uuid, jsonb),
  public.settle_carrier_hangups() to service_role;
revoke execute on function private.twilio_answered_by(text), private.sip_outcome(integer),
  private.twilio_outcome(text, integer), private.twilio_event_payload(jsonb), private.render_call_text(text, public.intake_calls),
  private.adopt_twilio_call(public.call_sessions, text), private.twilio_refusal(public.call_sessions, text),
  private.answer_machine(public.call_sessions, text, jsonb)
from public;

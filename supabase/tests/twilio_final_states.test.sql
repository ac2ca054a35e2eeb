-- A Twilio call has one final status. Once an answered attempt is reported `completed`, a later busy,
-- no-answer, failed or canceled (a replay, a misrouted callback) changes nothing: it is recorded with
-- applied = false, the attempt stays as completed left it, and the call is not queued for a retry. Also in
-- other orders (completed before in-progress), and an empty SequenceNumber is treated as absent.
begin;
\ir _fixtures.psql
select plan(21);

create function tests.twilio_session(phone text, call_sid text) returns uuid language plpgsql as $$
declare
  call_id uuid := tests.new_call('aaaaaaaa-aaaa-0000-0000-000000000000', phone, carrier => 'twilio');
  session uuid;
begin
  update public.intake_calls set claim_token = gen_random_uuid() where id = call_id;
  perform private.transition_call(call_id, 'dispatching', 'scheduler', 'call.claimed');
  session := (public.start_call_attempt(call_id, (select claim_token from public.intake_calls where id = call_id))).id;
  perform public.mark_session_dialing(session, call_sid);
  return session;
end
$$;
create function tests.cb(session uuid, call_sid text, status text, seq text) returns jsonb language sql as $$
  select public.record_twilio_callback(session, jsonb_build_object('CallSid', call_sid, 'CallStatus', status,
    'SequenceNumber', seq, 'AnsweredBy', 'human', 'SipResponseCode', case when status = 'failed' then '500' end))
$$;
-- The attempt and its call, as one comparable text.
create function tests.state(session uuid) returns text language sql as $$
  select s.status || '/' || coalesce(s.ended_reason::text, '-') || '/' || (s.carrier_ended_at is not null)
         || ' call ' || c.status
    from public.call_sessions s join public.intake_calls c on c.id = s.intake_call_id where s.id = session
$$;

-- ringing#1, in-progress#2, completed#3, then each late final status as #4.
do $$
declare
  late text;
  n integer := 0;
  session uuid;
  sid text;
begin
  foreach late in array array['busy', 'no-answer', 'failed', 'canceled'] loop
    n := n + 1;
    sid := 'CA' || lpad(n::text, 32, 'f');
    session := tests.twilio_session('+1212555020' || n, sid);
    perform tests.cb(session, sid, 'ringing', '1');
    perform tests.cb(session, sid, 'in-progress', '2');
    perform tests.cb(session, sid, 'completed', '3');
    perform set_config('tests.late_' || replace(late, '-', '_'), session::text, true);
    perform set_config('tests.late_result_' || replace(late, '-', '_'), tests.cb(session, sid, late, '4')::text, true);
  end loop;
end
$$;
select is(current_setting('tests.late_result_busy')::jsonb ->> 'applied', 'false', 'busy after completed: not applied');
select is(tests.state(current_setting('tests.late_busy')::uuid), 'answered/-/true call in_progress',
  '... the attempt still awaits the agent''s outcome and the call is not queued again');
select is(current_setting('tests.late_result_no_answer')::jsonb ->> 'applied', 'false', 'no-answer after completed: not applied');
select is(tests.state(current_setting('tests.late_no_answer')::uuid), 'answered/-/true call in_progress', '... nothing changed');
select is(current_setting('tests.late_result_failed')::jsonb ->> 'applied', 'false', 'failed after completed: not applied');
select is(tests.state(current_setting('tests.late_failed')::uuid), 'answered/-/true call in_progress', '... nothing changed');
select is(current_setting('tests.late_result_canceled')::jsonb ->> 'applied', 'false', 'canceled after completed: not applied');
select is(tests.state(current_setting('tests.late_canceled')::uuid), 'answered/-/true call in_progress', '... nothing changed');
select is((select count(*)::int from public.call_events e
            where e.session_id = current_setting('tests.late_busy')::uuid and e.type = 'twilio.busy'
              and not e.applied and e.payload ->> 'reason' = 'final_status_already_known'),
  1, 'the late callback is in the audit trail, applied = false, with the reason');
select is((select count(*)::int from public.call_sessions s
            where s.intake_call_id = (select intake_call_id from public.call_sessions
                                       where id = current_setting('tests.late_busy')::uuid)),
  1, 'no second attempt exists');

-- The agent's outcome still ends the attempt afterwards, and a late busy after that changes nothing either.
select public.record_session_outcome(current_setting('tests.late_busy')::uuid, 'completed', 'agent', null, '{}');
select is(tests.state(current_setting('tests.late_busy')::uuid), 'ended/completed/true call completed',
  'the agent''s report still decides how the answered call ended');
select is(tests.cb(current_setting('tests.late_busy')::uuid, 'CA' || lpad('1', 32, 'f'), 'busy', '5') ->> 'applied',
  'false', 'a busy after the agent ended it: not applied');
select is(tests.state(current_setting('tests.late_busy')::uuid), 'ended/completed/true call completed', '... still completed');

-- Reordered: completed#3 before in-progress#2 and ringing#1, then busy#4.
select tests.twilio_session('+12125550211', 'CA' || repeat('e', 32)) as reordered \gset
select tests.cb(:'reordered', 'CA' || repeat('e', 32), 'completed', '3');
select is(tests.cb(:'reordered', 'CA' || repeat('e', 32), 'in-progress', '2') ->> 'applied', 'false',
  'in-progress after completed: nothing to apply');
select tests.cb(:'reordered', 'CA' || repeat('e', 32), 'ringing', '1');
select is(tests.cb(:'reordered', 'CA' || repeat('e', 32), 'busy', '4') ->> 'applied', 'false',
  'busy after a completed that came first: not applied');
select is(tests.state(:'reordered'), 'answered/-/true call in_progress', '... the attempt awaits the agent');

-- Reordered: in-progress#2 (answered) then busy#4 before completed#3: an answered call cannot be busy.
select tests.twilio_session('+12125550212', 'CA' || repeat('9', 32)) as answered_then_busy \gset
select tests.cb(:'answered_then_busy', 'CA' || repeat('9', 32), 'in-progress', '2');
select is(tests.cb(:'answered_then_busy', 'CA' || repeat('9', 32), 'no-answer', '4') ->> 'applied', 'false',
  'no-answer on an answered attempt: not applied');
select tests.cb(:'answered_then_busy', 'CA' || repeat('9', 32), 'completed', '3');
select is(tests.state(:'answered_then_busy'), 'answered/-/true call in_progress', '... and completed still lands');

-- Unanswered calls still end by their final status (the guard is for answered attempts only).
select tests.twilio_session('+12125550213', 'CA' || repeat('8', 32)) as unanswered \gset
select tests.cb(:'unanswered', 'CA' || repeat('8', 32), 'ringing', '1');
select tests.cb(:'unanswered', 'CA' || repeat('8', 32), 'busy', '2');
select is(tests.state(:'unanswered'), 'ended/busy/false call queued', 'a ringing attempt that is busy ends busy, retried');

-- SequenceNumber present but empty: as if absent, so ringing and in-progress are two callbacks, not one.
select tests.twilio_session('+12125550214', 'CA' || repeat('7', 32)) as empty_seq \gset
select tests.cb(:'empty_seq', 'CA' || repeat('7', 32), 'ringing', '');
select is(tests.cb(:'empty_seq', 'CA' || repeat('7', 32), 'in-progress', '') - 'status',
  '{"applied": true, "duplicate": false}'::jsonb, 'in-progress after ringing with an empty SequenceNumber is applied');
select is((select status::text from public.call_sessions where id = :'empty_seq'), 'answered', '... the attempt is answered');

select * from finish();
rollback;

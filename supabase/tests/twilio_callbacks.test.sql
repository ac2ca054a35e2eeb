-- Twilio's webhooks as SQL: who may call the functions, the pg_cron sweep of answered attempts whose agent
-- never reported, the status mapping, and the audit trail keeping no phone numbers. The edge-function tests
-- (supabase/functions/twilio-*/handler.test.ts) drive the same functions end to end with signed callbacks.
begin;
\ir _fixtures.psql
select plan(17);

select ok(not has_function_privilege('authenticated', 'public.record_twilio_callback(uuid, jsonb)', 'execute')
  and not has_function_privilege('anon', 'public.answer_twilio_call(uuid, jsonb)', 'execute')
  and not has_function_privilege('authenticated', 'public.settle_carrier_hangups()', 'execute'),
  'apps cannot play Twilio: the webhook functions are not executable by anon or authenticated');
select ok(has_function_privilege('service_role', 'public.record_twilio_callback(uuid, jsonb)', 'execute')
  and has_function_privilege('service_role', 'public.answer_twilio_call(uuid, jsonb)', 'execute'),
  'the edge functions (service_role) can');
select ok(not has_function_privilege('authenticated', 'private.render_call_text(text, public.intake_calls)', 'execute'),
  'the private helpers are not executable by app users');
select ok(exists (select 1 from cron.job where jobname = 'settle-carrier-hangups'), 'the sweep is a pg_cron job');

select is(private.twilio_outcome('failed', 404), 'invalid_number', 'SIP 404 on a failed call: invalid number (not retried)');
select is(private.twilio_outcome('failed', 500), 'failed', 'other failures are retried as failed');
select is(private.twilio_answered_by('machine_end_silence'), 'voicemail', 'every machine_* verdict is voicemail');
select is(private.twilio_event_payload('{"CallSid":"CA1","To":"+12125550100","From":"+12025550100","Caller":"+1","CallStatus":"busy"}'),
  '{"CallSid":"CA1","CallStatus":"busy"}'::jsonb, 'the audit payload keeps no phone numbers');

-- An answered Twilio attempt whose line closed: within the grace period it waits, after it the sweep ends it.
select tests.new_call('aaaaaaaa-aaaa-0000-0000-000000000000', '+12125550190', carrier => 'twilio') as call_id \gset
update public.intake_calls set claim_token = gen_random_uuid() where id = :'call_id';
select private.transition_call(:'call_id', 'dispatching', 'scheduler', 'call.claimed');
select (public.start_call_attempt(:'call_id', (select claim_token from public.intake_calls where id = :'call_id'))).id
  as session_id \gset
select public.mark_session_dialing(:'session_id', 'CA' || repeat('a', 32));
select public.record_twilio_callback(:'session_id', jsonb_build_object('CallSid', 'CA' || repeat('a', 32),
  'CallStatus', 'completed', 'SequenceNumber', '3', 'AnsweredBy', 'human'));
select is(public.settle_carrier_hangups(), 0, 'within the grace period the agent may still report');
update public.call_sessions set carrier_ended_at = now() - interval '2 minutes' where id = :'session_id';
select is(public.settle_carrier_hangups(), 1, 'after it the sweep ends the attempt');
select is((select ended_reason::text from public.call_sessions where id = :'session_id'), 'failed',
  'as failed, so the call is retried by policy');
select is((select status::text from public.intake_calls where id = :'call_id'), 'queued', 'and the call is queued again');

-- A dialling attempt of a Twilio call (as the dispatcher leaves it), for the cases below.
create function tests.dialing_twilio_session(phone text, call_sid text, carrier public.call_carrier default 'twilio')
returns uuid language plpgsql as $$
declare
  call_id uuid := tests.new_call('aaaaaaaa-aaaa-0000-0000-000000000000', phone, carrier => carrier);
  session uuid;
begin
  update public.intake_calls set claim_token = gen_random_uuid() where id = call_id;
  perform private.transition_call(call_id, 'dispatching', 'scheduler', 'call.claimed');
  session := (public.start_call_attempt(call_id, (select claim_token from public.intake_calls where id = call_id))).id;
  perform public.mark_session_dialing(session, call_sid);
  return session;
end
$$;

-- A fax is hung up on and the attempt fails, whether the TwiML request or the detection callback says so.
select tests.dialing_twilio_session('+12125550191', 'CA' || repeat('b', 32)) as fax_voice \gset
select is(public.answer_twilio_call(:'fax_voice', jsonb_build_object('CallSid', 'CA' || repeat('b', 32), 'AnsweredBy', 'fax'))
            - 'applied', '{"action": "hang_up", "reason": "fax_answered"}'::jsonb,
  'a fax answering the TwiML request is hung up on');
select tests.dialing_twilio_session('+12125550192', 'CA' || repeat('c', 32)) as fax_amd \gset
select is(public.record_twilio_callback(:'fax_amd', jsonb_build_object('CallSid', 'CA' || repeat('c', 32), 'AnsweredBy', 'fax'))
            ->> 'action', 'hang_up', 'a fax reported by the detection callback is hung up on');
select is((select array_agg(ended_reason::text order by ended_reason) from public.call_sessions
            where id in (:'fax_voice', :'fax_amd')), array['failed', 'failed'], '... and both attempts end failed');
-- A Twilio request for another carrier's attempt changes nothing.
select tests.dialing_twilio_session('+12125550193', 'SIP_x', 'livekit') as livekit_session \gset
select is(public.answer_twilio_call(:'livekit_session', jsonb_build_object('CallSid', 'CA' || repeat('d', 32))) ->> 'reason',
  'not_a_twilio_session', 'a TwiML request for a LiveKit attempt is hung up on');
select is((select status::text || '/' || carrier_call_id from public.call_sessions where id = :'livekit_session'),
  'dialing/SIP_x', '... and the attempt is as it was');

select * from finish();
rollback;

-- What the agent records is validated against the template's field definitions, and a refused value
-- comes back with a reason the model can act on; the end of the call carries the results.
begin;
\ir _fixtures.psql
select plan(16);

select tests.new_call('aaaaaaaa-aaaa-0000-0000-000000000000', '+12125550190') as call \gset
select claim_token as claim from public.claim_due_calls(10, tests.open_hours()) where intake_call_id = :'call' \gset
select id as session from public.start_call_attempt(:'call', :'claim') \gset
select is((public.start_call_attempt(:'call', :'claim')).id, :'session'::uuid,
  'start_call_attempt is idempotent for the claim holder');
select public.mark_session_dialing(:'session');
select throws_ok($$ select public.record_session_status('00000000-0000-0000-0000-000000000000', 'ringing', 'carrier') $$,
  'PT404', null, 'an unknown session is a clear 404');

select tests.as_agent(:'session');
select ok(public.agent_mark_answered('human'), 'the agent marks the callee connected');
select is(public.agent_record_field('date_of_birth', '"1985-03-14"'), '{"ok": true}'::jsonb, 'a valid date is stored');
select ok(public.agent_record_field('date_of_birth', '"14/03/1985"') ->> 'error' like '%YYYY-MM-DD%', 'a date in another format is refused, saying which format');
select ok(public.agent_record_field('date_of_birth', '"1985-02-30"') ->> 'error' like '%not a real calendar date%', 'an impossible date is refused');
select ok(public.agent_record_field('date_of_birth', to_jsonb((current_date + 1)::text)) ->> 'error' like '%future%', 'a birth date in the future is refused');
select ok(public.agent_record_field('date_of_birth', 'null') ->> 'error' like '%required%', 'a required field cannot be emptied');
select ok(public.agent_record_field('pain_level', '11') ->> 'error' like '%at most 10%', 'a number above max is refused');
select ok(public.agent_record_field('pain_level', '"a lot"') ->> 'error' like '%must be a number%', 'a non-number is refused');
select is(public.agent_record_field('pain_level', '7'), '{"ok": true}'::jsonb, 'a number in range is stored');
select ok(public.agent_record_field('visit_reason', '"surgery"') ->> 'error' like '%one of: checkup, follow_up, new_issue%',
  'a choice outside the options is refused, listing them');
select ok(public.agent_record_field('favourite_colour', '"blue"') ->> 'error' like '%no field named%', 'an unknown field is refused');
select ok(public.agent_end_call('completed'), 'the agent ends the call');

select tests.as_postgres();
select is((select results from public.intake_calls where id = :'call'), '{"date_of_birth": "1985-03-14", "pain_level": 7}'::jsonb,
  'only the valid answers are in the results');
select is((select count(*) from public.call_events where intake_call_id = :'call' and type = 'field.rejected' and not applied),
  8::bigint, 'every refused value is in the audit trail (without the value)');

select * from finish();
rollback;

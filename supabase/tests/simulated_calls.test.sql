-- A simulated call's scenario travels with the call and only the attempt's own credential reads it: the runner
-- gets its call's scenario, a real call's credential gets none, app users cannot call the function, and a real
-- call cannot carry a scenario.
begin;
\ir _fixtures.psql
select plan(5);

create function tests.attempt_of(call_id uuid) returns uuid language plpgsql as $$
begin
  update public.intake_calls set claim_token = gen_random_uuid() where id = call_id;
  perform private.transition_call(call_id, 'dispatching', 'scheduler', 'call.claimed');
  return (public.start_call_attempt(call_id, (select claim_token from public.intake_calls where id = call_id))).id;
end
$$;

select tests.new_call('aaaaaaaa-aaaa-0000-0000-000000000000', '+12125550500', carrier => 'simulation') as sim \gset
update public.intake_calls set simulation = '{"name": "cooperative patient"}' where id = :'sim';
select tests.new_call('aaaaaaaa-aaaa-0000-0000-000000000000', '+12125550501') as real_call \gset
select tests.attempt_of(:'sim') as sim_session \gset
select tests.attempt_of(:'real_call') as real_session \gset

select tests.as_agent(:'sim_session');
select is(public.agent_simulation_scenario(), '{"name": "cooperative patient"}'::jsonb,
  'the attempt''s credential reads its simulated call''s scenario');
select tests.as_agent(:'real_session');
select is(public.agent_simulation_scenario(), null, 'a real call''s credential gets none');
select tests.as_user('aaaaaaaa-0000-0000-0000-000000000001');
select throws_ok('select public.agent_simulation_scenario()', '42501', null, 'app users cannot read scenarios');
select tests.as_postgres();
select throws_ok(format('update public.intake_calls set simulation = %L where id = %L', '{"name": "x"}', :'real_call'),
  '23514', null, 'a real call cannot carry a scenario');
select throws_ok(format('update public.intake_calls set simulation = %L where id = %L', '[1]', :'sim'),
  '23514', null, 'a scenario is an object');

select * from finish();
rollback;

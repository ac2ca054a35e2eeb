-- The Studio and app views: analytics (outcomes_by_hour) leave simulated calls out, the call history marks
-- them, and every view shows a reader only their own organisation's calls (security_invoker + RLS).
begin;
\ir _fixtures.psql
select plan(6);

-- One ended attempt per call, through the state-machine functions as the dispatcher and agent would (the
-- scheduler's claim has been made: one claim takes every due call).
create function tests.completed_attempt(call uuid) returns void language plpgsql as $$
declare claim uuid; s uuid;
begin
  select c.claim_token into claim from public.intake_calls c where c.id = call and c.status = 'dispatching';
  if claim is null then raise exception 'call % was not claimed', call; end if;
  s := (public.start_call_attempt(call, claim)).id;
  perform public.mark_session_dialing(s);
  perform public.record_session_outcome(s, 'completed', 'agent');
end $$;

select tests.new_call('aaaaaaaa-aaaa-0000-0000-000000000000', '+12125550160') as real_call \gset
select tests.new_call('aaaaaaaa-aaaa-0000-0000-000000000000', '+12125550161', null, 0, 'simulation') as sim_call \gset
select tests.new_call('bbbbbbbb-bbbb-0000-0000-000000000000', '+4930901850') as other_org_call \gset
select is((select count(*) from public.claim_due_calls(100, tests.open_hours())), 3::bigint, 'the three calls are claimed');
select tests.completed_attempt(:'real_call');
select tests.completed_attempt(:'sim_call');
select tests.completed_attempt(:'other_org_call');

select tests.as_user('aaaaaaaa-0000-0000-0000-000000000001');
select is((select (sum(attempts), sum(reached))::text from public.outcomes_by_hour), '(1,1)',
  'analytics count the real attempt only, not the simulated one');
select is((select array_agg(is_simulation order by is_simulation) from public.call_history
            where intake_call_id in (:'real_call', :'sim_call')), array[false, true],
  'the call history shows both, the simulated one marked');
select is((select count(*) from public.call_history where org_id <> 'aaaaaaaa-aaaa-0000-0000-000000000000'), 0::bigint,
  'and only the reader''s organisation');

select tests.as_user('bbbbbbbb-0000-0000-0000-000000000001');
select is((select array_agg(distinct org_id) from public.outcomes_by_hour),
  array['bbbbbbbb-bbbb-0000-0000-000000000000'::uuid], 'another organisation''s member sees only their analytics');
select is((select count(*) from public.call_history where intake_call_id in (:'real_call', :'sim_call')), 0::bigint,
  'and none of A''s calls');

select * from finish();
rollback;

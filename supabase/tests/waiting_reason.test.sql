-- Why a queued call waits (private.call_waiting_reason, in every API shape of a call): one case per reason, all
-- judged at one instant, and held to the scheduler: the claim at that instant takes exactly the calls whose
-- reason is `due`.
begin;
\ir _fixtures.psql
select plan(17);

select tests.open_hours() as t \gset
-- Other suites' calls may share the database (and this file's claims take theirs too): the platform cap is
-- lifted until its own case.
update private.platform_settings set max_concurrent_calls = 1000000;
create function tests.reason(call_id uuid) returns jsonb language sql as $$
  select private.call_waiting_reason(c, tests.open_hours()) from public.intake_calls c where c.id = call_id $$;

-- Given back by the dispatcher because its carrier is not configured (as dispatch does it), retried in 2 days.
select tests.new_call('aaaaaaaa-aaaa-0000-0000-000000000000', '+12125550301') as unconfigured \gset
select claim_token as unconfigured_claim from public.claim_due_calls(1000, :'t') where intake_call_id = :'unconfigured' \gset
select public.release_call_claim(:'unconfigured', :'unconfigured_claim', 'not_configured', 172800);

select tests.new_call('aaaaaaaa-aaaa-0000-0000-000000000000', '+12125550302') as due \gset
select tests.new_call('aaaaaaaa-aaaa-0000-0000-000000000000', '+12125550303', 'Asia/Tokyo', 0, 'simulation') as sim \gset
select tests.new_call('bbbbbbbb-bbbb-0000-0000-000000000000', '+4930555030', 'Asia/Tokyo') as closed \gset
select tests.new_call('aaaaaaaa-aaaa-0000-0000-000000000000', '+12125550304') as later \gset
update public.intake_calls set not_before = :'t'::timestamptz + interval '1 hour',
                              next_attempt_at = :'t'::timestamptz + interval '1 hour' where id = :'later';
select tests.new_call('aaaaaaaa-aaaa-0000-0000-000000000000', '+12125550305') as retry \gset
update public.intake_calls set attempts = 1, next_attempt_at = :'t'::timestamptz + interval '30 minutes'
 where id = :'retry';
select tests.new_call('aaaaaaaa-aaaa-0000-0000-000000000000', '+12125550306') as overdue \gset
update public.intake_calls set deadline = now() + interval '1 hour' where id = :'overdue';
-- A number put on the list fails its queued calls at once (phone_lists.sql); the claim still skips one that
-- would be queued, so the list is entered behind the triggers' back to reach that state.
select tests.new_call('aaaaaaaa-aaaa-0000-0000-000000000000', '+12125550307') as dnc \gset
set local session_replication_role = replica;
insert into public.do_not_call (org_id, phone, source) values ('aaaaaaaa-aaaa-0000-0000-000000000000', '+12125550307', 'manual');
set local session_replication_role = origin;
update public.organizations set max_concurrent_calls = 0 where id = 'bbbbbbbb-bbbb-0000-0000-000000000000';
select tests.new_call('bbbbbbbb-bbbb-0000-0000-000000000000', '+4930555031') as capped \gset

select is(tests.reason(:'due'), jsonb_build_object('code', 'due', 'message', 'due: the scheduler claims it on its next tick', 'until', null),
  'a call nothing holds is due: {code, message, until}');
select is(tests.reason(:'sim') ->> 'code', 'due', 'a simulated call has no calling window (it rings no one)');
select is((tests.reason(:'closed') ->> 'code', (tests.reason(:'closed') ->> 'until')::timestamptz),
  ('outside_calling_window'::text, (((:'t'::timestamptz at time zone 'Asia/Tokyo')::date + 1 + time '08:00') at time zone 'Asia/Tokyo')),
  'outside the callee''s window (23:30 in Tokyo) until 08:00 there the next day');
select matches(tests.reason(:'closed') ->> 'message', 'Asia/Tokyo', 'and the message names the zone that applies');
select is((tests.reason(:'later') ->> 'code', (tests.reason(:'later') ->> 'until')::timestamptz),
  ('not_before'::text, :'t'::timestamptz + interval '1 hour'), 'not before the time asked');
select is((tests.reason(:'retry') ->> 'code', (tests.reason(:'retry') ->> 'until')::timestamptz),
  ('retry_scheduled'::text, :'t'::timestamptz + interval '30 minutes'), 'a retry scheduled after a failed attempt');
select is((tests.reason(:'unconfigured') ->> 'code', (tests.reason(:'unconfigured') ->> 'until')::timestamptz),
  ('carrier_not_configured'::text, (select next_attempt_at from public.intake_calls where id = :'unconfigured')),
  'given back by the dispatcher for an unconfigured carrier, until its retry');
select matches(tests.reason(:'unconfigured') ->> 'message', 'livekit', 'naming the carrier');
select is(tests.reason(:'overdue') ->> 'code', 'deadline_passed', 'the deadline passed: about to expire');
select is(tests.reason(:'dnc'), jsonb_build_object('code', 'do_not_call',
  'message', 'the number is on the organization''s do-not-call list', 'until', null), 'on the do-not-call list');
select is(tests.reason(:'capped') ->> 'code', 'org_cap_reached', 'the org''s concurrent calls are all in use');

-- (Only the fixture orgs' calls are compared: the database may hold other suites' calls.)
select array(select id from public.intake_calls
              where org_id in ('aaaaaaaa-aaaa-0000-0000-000000000000', 'bbbbbbbb-bbbb-0000-0000-000000000000')
                and status = 'queued' and tests.reason(id) ->> 'code' = 'due' order by 1)::text as expected_due \gset
select is(array(select intake_call_id from public.claim_due_calls(1000, :'t') c
                 where c.org_id in ('aaaaaaaa-aaaa-0000-0000-000000000000', 'bbbbbbbb-bbbb-0000-0000-000000000000')
                 order by 1)::text, :'expected_due',
  'the scheduler claims at that instant exactly the calls whose reason is due');

update private.platform_settings set max_concurrent_calls = 0;
select tests.new_call('aaaaaaaa-aaaa-0000-0000-000000000000', '+12125550308') as full \gset
select is(tests.reason(:'full') ->> 'code', 'platform_cap_reached', 'the platform''s concurrent calls are all in use');
select is((select count(*) from public.claim_due_calls(1000, :'t') where intake_call_id = :'full'), 0::bigint,
  'and the scheduler does not claim it');

select is(tests.reason(:'due'), null, 'a call that is no longer queued waits for nothing');
select c::text as full_row from public.intake_calls c where c.id = :'full' \gset
select tests.as_user('bbbbbbbb-0000-0000-0000-000000000001');
select is(private.call_waiting_reason(:'full_row'::public.intake_calls), null, 'another org''s call tells its member nothing');
select tests.as_user('aaaaaaaa-0000-0000-0000-000000000001');
select is((select private.intake_call_summary(c) -> 'waiting_reason' ->> 'code' from public.intake_calls c where c.id = :'dnc'),
  'do_not_call', 'the API''s shape of a call carries it, for the caller''s own org');

select * from finish();
rollback;

-- GET /intake-calls/{ref} looks a call up by our id or by the app's intake_id, under the caller's row-level
-- security, and an intake_id that is not a UUID finds its call whichever plan the statistics lead to (with an
-- index path, a cast of the reference to uuid used to run first and raise).
begin;
\ir _fixtures.psql
select plan(6);

select tests.new_call('aaaaaaaa-aaaa-0000-0000-000000000000', '+12125550400') as call_id \gset
update public.intake_calls set idempotency_key = 'app-7f3a' where id = :'call_id';

select tests.as_user('aaaaaaaa-0000-0000-0000-000000000001');
select is(public.intake_call_details(:'call_id') ->> 'id', :'call_id', 'by our id');
select is(public.intake_call_details(upper(:'call_id')) ->> 'id', :'call_id', 'by our id in capitals');
select is(public.intake_call_details('app-7f3a') ->> 'id', :'call_id', 'by the app''s intake_id');
set local enable_seqscan = off;
select is(public.intake_call_details('app-7f3a') ->> 'id', :'call_id', '... also when the planner takes the indexes');
select is(public.intake_call_details('not-a-call'), null, 'an unknown reference finds nothing');
reset enable_seqscan;
select tests.as_user('bbbbbbbb-0000-0000-0000-000000000001');
select is(public.intake_call_details('app-7f3a'), null, 'another organisation''s member finds nothing');

select * from finish();
rollback;

-- The scheduler: calling windows in the callee's zone (edges, DST days, zones without DST, callee
-- zone differing from the org's), caps, do-not-call, priority, leases and deadlines.
begin;
\ir _fixtures.psql
select plan(32);

-- Window edges, in New York (EST in January, UTC-5).
select ok(not private.in_calling_window('2026-01-15 12:59:00+00', 'America/New_York', '08:00', '21:00'), '07:59 local is outside');
select ok(private.in_calling_window('2026-01-15 13:00:00+00', 'America/New_York', '08:00', '21:00'), '08:00 local is inside');
select ok(private.in_calling_window('2026-01-16 01:59:00+00', 'America/New_York', '08:00', '21:00'), '20:59 local is inside');
select ok(not private.in_calling_window('2026-01-16 02:00:00+00', 'America/New_York', '08:00', '21:00'), '21:00 local is outside');
-- Spring forward (2026-03-08: 02:00 EST -> 03:00 EDT): 08:00 local is 12:00 UTC that day.
select ok(not private.in_calling_window('2026-03-08 11:59:00+00', 'America/New_York', '08:00', '21:00'), 'spring-forward day: 07:59 EDT outside');
select ok(private.in_calling_window('2026-03-08 12:00:00+00', 'America/New_York', '08:00', '21:00'), 'spring-forward day: 08:00 EDT inside');
-- Fall back (2026-11-01: 02:00 EDT -> 01:00 EST): 08:00 local is 13:00 UTC that day, 21:00 is 02:00 UTC next day.
select ok(not private.in_calling_window('2026-11-01 12:59:00+00', 'America/New_York', '08:00', '21:00'), 'fall-back day: 07:59 EST outside');
select ok(private.in_calling_window('2026-11-01 13:00:00+00', 'America/New_York', '08:00', '21:00'), 'fall-back day: 08:00 EST inside');
select ok(not private.in_calling_window('2026-11-02 02:00:00+00', 'America/New_York', '08:00', '21:00'), 'fall-back day: 21:00 EST outside');
-- A zone without DST (Phoenix, UTC-7 all year): the same UTC instant in January and July.
select ok(private.in_calling_window('2026-01-15 15:00:00+00', 'America/Phoenix', '08:00', '21:00')
      and private.in_calling_window('2026-07-15 15:00:00+00', 'America/Phoenix', '08:00', '21:00')
      and not private.in_calling_window('2026-07-15 14:59:00+00', 'America/Phoenix', '08:00', '21:00'),
  'Phoenix: 08:00 is 15:00 UTC in winter and summer alike');
select is(private.next_window_start('2026-03-08 03:00:00+00', 'America/New_York', '08:00', '21:00'),
  '2026-03-08 12:00:00+00'::timestamptz, 'next window on the spring-forward day opens at 08:00 EDT');
select is(private.next_window_start('2026-11-02 02:30:00+00', 'America/New_York', '08:00', '21:00'),
  '2026-11-02 13:00:00+00'::timestamptz, 'after 21:00 the next window is 08:00 the next local day');

-- Claims: the callee's zone wins over the org's.
select tests.new_call('aaaaaaaa-aaaa-0000-0000-000000000000', '+4930901801', 'Europe/Berlin') as berlin_callee \gset
select tests.new_call('aaaaaaaa-aaaa-0000-0000-000000000000', '+12125550120') as ny_callee \gset
-- Tomorrow 07:30 UTC: 08:30 or 09:30 in Berlin, 02:30 or 03:30 in New York.
select is((select array_agg(intake_call_id) from public.claim_due_calls(10, date_trunc('day', now()) + interval '1 day 7 hours 30 minutes')),
  array[:'berlin_callee'::uuid], 'at 07:30 UTC only the Berlin callee of the New York org is due');
update public.intake_calls set status = 'queued', claim_token = null, lease_expires_at = null where id = :'berlin_callee';

-- Do-not-call and priority.
insert into public.do_not_call (org_id, phone, source) values ('aaaaaaaa-aaaa-0000-0000-000000000000', '+12125550120', 'manual');
select is((select status::text || '/' || outcome from public.intake_calls where id = :'ny_callee'), 'failed/do_not_call',
  'adding a number to do-not-call stops its queued calls');
select tests.new_call('aaaaaaaa-aaaa-0000-0000-000000000000', '+12125550120') as dnc_new \gset
select is((select outcome::text from public.intake_calls where id = :'dnc_new'), 'do_not_call',
  'a new call to a do-not-call number is refused at insert');
select tests.new_call('aaaaaaaa-aaaa-0000-0000-000000000000', '+12125550121', null, 50) as urgent \gset
select is((select intake_call_id from public.claim_due_calls(1, tests.open_hours())), :'urgent'::uuid, 'most urgent first');

-- Org cap: A allows 5 at once; 1 is already dispatching (urgent) -> 4 more.
select tests.new_call('aaaaaaaa-aaaa-0000-0000-000000000000', '+1212555013' || g) from generate_series(0, 7) g;
select is((select count(*) from public.claim_due_calls(100, tests.open_hours())), 4::bigint, 'the org cap of 5 holds (1 + 4)');
select is((select count(*) from public.claim_due_calls(100, tests.open_hours())), 0::bigint, 'a full org gets nothing more');
-- Simulated calls use no line: they are not held back by the cap.
select tests.new_call('aaaaaaaa-aaaa-0000-0000-000000000000', '+12125550140', null, 0, 'simulation') as sim \gset
select is((select array_agg(intake_call_id) from public.claim_due_calls(100, tests.open_hours())), array[:'sim'::uuid],
  'a simulated call is claimed even when the org is at its cap');
-- Simulated calls ring no one: no calling window holds them back (03:00 in New York).
select tests.new_call('aaaaaaaa-aaaa-0000-0000-000000000000', '+12125550141', null, 0, 'simulation') as sim_night \gset
select tests.new_call('bbbbbbbb-bbbb-0000-0000-000000000000', '+4930901831', 'America/New_York') as real_night \gset
select is((select array_agg(intake_call_id) from public.claim_due_calls(100,
            date_trunc('day', tests.open_hours()) + interval '8 hours')), array[:'sim_night'::uuid],
  'at night only the simulated call is claimed');
select is((select status::text from public.intake_calls where id = :'real_night'), 'queued',
  'the real call to a sleeping callee waits for the window');
update public.intake_calls set status = 'cancelled', outcome = 'cancelled', completed_at = now()
 where id = :'real_night';
-- Platform cap: B has room, but the platform allows only what is already running.
select tests.new_call('bbbbbbbb-bbbb-0000-0000-000000000000', '+4930901830') as b1 \gset
update private.platform_settings set max_concurrent_calls = 5;
select is((select count(*) from public.claim_due_calls(100, tests.open_hours())), 0::bigint, 'the platform cap holds across orgs');
update private.platform_settings set max_concurrent_calls = 100;
select is((select array_agg(intake_call_id) from public.claim_due_calls(100, tests.open_hours())), array[:'b1'::uuid],
  'with platform room, B is not blocked behind A');

-- Leases: a lapsed claim comes back; one whose attempt may have reached the carrier is reconciled instead.
select id as leased from public.intake_calls where id = :'urgent' \gset
select public.reclaim_expired_leases(tests.open_hours() + interval '1 hour');
select is((select status::text from public.intake_calls where id = :'urgent'), 'queued', 'a lapsed lease returns the call to the queue');
select is((select count(*) from public.call_events where intake_call_id = :'urgent' and type = 'call.lease_expired'), 1::bigint,
  '... recorded');
select tests.new_call('bbbbbbbb-bbbb-0000-0000-000000000000', '+4930901831') as b2 \gset
create temp table cb as select * from public.claim_due_calls(100, tests.open_hours());
select claim_token as b2claim from cb where intake_call_id = :'b2' \gset
select id as b2session from public.start_call_attempt(:'b2', :'b2claim') \gset
select public.reclaim_expired_leases(tests.open_hours() + interval '1 hour');
select is((select status::text from public.intake_calls where id = :'b2'), 'dispatching',
  'a lapsed claim with an attempt already created is not re-queued blindly');
select ok(tests.in_doubt(:'b2session'), '... its session awaits reconciliation');
select public.record_session_outcome(:'b2session', 'not_dialed', 'dispatcher');
select is((select status::text || '/' || attempts from public.intake_calls where id = :'b2'), 'queued/0',
  'reconciled as never dialled: back in the queue without spending an attempt');

-- Deadlines.
select tests.new_call('bbbbbbbb-bbbb-0000-0000-000000000000', '+4930901832') as late \gset
update public.intake_calls set deadline = now() + interval '1 minute' where id = :'late';
select is(public.expire_overdue_calls(now() + interval '2 minutes') >= 1, true, 'expire_overdue_calls finds it');
select is((select status::text || '/' || outcome from public.intake_calls where id = :'late'), 'expired/expired',
  'a call past its deadline expires');
select is((select count(*) from public.claim_due_calls(100, tests.open_hours()) where intake_call_id = :'late'), 0::bigint,
  'an expired call is never claimed');
select ok(exists (select 1 from cron.job where jobname = 'scheduler-tick'), 'the scheduler tick is a pg_cron job');

select * from finish();
rollback;

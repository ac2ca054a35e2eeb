-- Reconciliation: an attempt whose origination may have reached the carrier is handed to one reconciler at a
-- time, only after a grace period, with a claim that lets it either record the origination or release the call;
-- a reconciler that dies gives the attempt back through the lease; orphans of cancelled calls are included.
begin;
\ir _fixtures.psql
select plan(25);

select tests.new_call('aaaaaaaa-aaaa-0000-0000-000000000000', '+12125550400') as call \gset
create temp table c as select * from public.claim_due_calls(10, tests.open_hours());
select claim_token as claim from c where intake_call_id = :'call' \gset
select (public.begin_call_attempt(:'call', :'claim') -> 'session' ->> 'id') as s1 \gset

select is((select count(*) from public.claim_reconciliations(10, 0) where session_id = :'s1'), 0::bigint,
  'an attempt being originated by its claim holder is not reconciled');

-- The origination request timed out.
select ok(public.defer_to_reconciliation(:'s1'), 'a timed-out origination is deferred to reconciliation');
select is((select claim_token from public.intake_calls where id = :'call'), null, '... dropping the claim');
select is((select status::text from public.intake_calls where id = :'call'), 'dispatching', '... the call stays dispatching');
select ok(exists (select 1 from public.call_events where session_id = :'s1' and type = 'session.reconcile_required'),
  '... and the deferral is recorded');
-- With the claim dropped, no one holds the call: a null claim must not pass for the missing one, or the attempt
-- that may be at the carrier could be ended as not dialled, or handed out and dialled again.
select throws_ok(format('select public.release_call_claim(%L, null, %L, 0)', :'call', 'x'), 'PT409', null,
  'a null claim cannot release a call under reconciliation');
select throws_ok(format('select public.start_call_attempt(%L, null)', :'call'), 'PT409', null,
  '... nor get its attempt');
select is((select status::text from public.call_sessions where id = :'s1'), 'created', '... which is left as it was');

select is((select count(*) from public.claim_reconciliations(10, 3600) where session_id = :'s1'), 0::bigint,
  'not within the grace period (the request may still be in flight)');
create temp table r1 as select * from public.claim_reconciliations(10, 0);
select is((select count(*) from r1 where session_id = :'s1'), 1::bigint, 'after it, one reconciler gets the attempt');
select ok((select claim_token from r1 where session_id = :'s1') is not null, '... with a fresh claim');
select is((select context -> 'session' ->> 'room_name' from r1 where session_id = :'s1'), 'call-' || :'s1',
  '... and the context to ask the carrier');
select is((select count(*) from public.claim_reconciliations(10, 0) where session_id = :'s1'), 0::bigint,
  'a second reconciler does not get it while the first holds it');

-- Not found at the carrier: the reconciler releases the call with its claim; the attempt ends not dialled.
select claim_token as rclaim from r1 where session_id = :'s1' \gset
select is((public.release_call_claim(:'call', :'rclaim', 'not at the carrier', 0)).status::text, 'queued',
  'not found: the call goes back to the queue');
select is((select status::text || '/' || ended_reason from public.call_sessions where id = :'s1'), 'ended/not_dialed',
  '... its attempt ended as not dialled, no attempt spent');

-- A reconciler that dies: its lease lapses and the attempt is handed out again.
select tests.new_call('aaaaaaaa-aaaa-0000-0000-000000000000', '+12125550401') as call2 \gset
create temp table c2 as select * from public.claim_due_calls(10, tests.open_hours());
select claim_token as claim2 from c2 where intake_call_id = :'call2' \gset
select (public.begin_call_attempt(:'call2', :'claim2') -> 'session' ->> 'id') as s2 \gset
select public.defer_to_reconciliation(:'s2');
create temp table r2 as select * from public.claim_reconciliations(10, 0) where session_id = :'s2';
select public.reclaim_expired_leases(now() + interval '1 hour');
select is((select tests.in_doubt(:'s2')::text || '/' || (claim_token is null)::text from public.intake_calls
            where id = :'call2'), 'true/true',
  'a lapsed reconciliation lease leaves the attempt in doubt with no claim holder');
create temp table r3 as select * from public.claim_reconciliations(10, 0) where session_id = :'s2';
select ok((select claim_token from r3) is distinct from (select claim_token from r2),
  '... and the next reconciler gets it with a new claim');
-- Found at the carrier: the origination is recorded (with the ids the carrier gave).
select is(public.record_origination(:'s2', null, 'AD_found') ->> 'call_status', 'in_progress',
  'found: the attempt is dialing and the call in progress');

-- An attempt left `created` by a call cancelled meanwhile is reconciled too (found: hang up), without a claim.
select tests.new_call('aaaaaaaa-aaaa-0000-0000-000000000000', '+12125550402') as call3 \gset
create temp table c3 as select * from public.claim_due_calls(10, tests.open_hours());
select claim_token as claim3 from c3 where intake_call_id = :'call3' \gset
select (public.begin_call_attempt(:'call3', :'claim3') -> 'session' ->> 'id') as s3 \gset
select tests.as_user('aaaaaaaa-0000-0000-0000-000000000001');
select public.cancel_intake_call(:'call3');
select tests.as_postgres();
create temp table r4 as select * from public.claim_reconciliations(10, 0) where session_id = :'s3';
select is((select call_status::text || '/' || (claim_token is null)::text from r4), 'cancelled/true',
  'the orphan attempt of a cancelled call is handed out for a hang-up check');

-- Twilio reconciliation: which call sids are already someone's attempt.
update public.call_sessions set carrier = 'twilio', carrier_call_id = 'CA_known' where id = :'s2';
select is(array(select public.known_carrier_call_ids('twilio', array['CA_known', 'CA_unknown'])), array['CA_known'],
  'known carrier call ids are recognised');

select row(c.*)::text as call3_before from public.intake_calls c where c.id = :'call3' \gset
select tests.as_service();
select is(public.defer_to_reconciliation(:'s3', 'timeout'), true, 'service_role may defer attempts');
select tests.as_postgres();
select is((select row(c.*)::text from public.intake_calls c where c.id = :'call3'), :'call3_before',
  '... and deferring leaves a call that is no longer dispatching untouched');
select ok(tests.in_doubt(:'s3'), '... while its attempt stays in doubt, for a reconciler to hang up');
select is(public.defer_to_reconciliation(:'s2'), false,
  'an attempt the carrier has reported on is not deferred');
select is((select status::text from public.call_sessions where id = :'s2') || '/' || tests.in_doubt(:'s2')::text,
  'dialing/false', '... and is left as it was');

select * from finish();
rollback;

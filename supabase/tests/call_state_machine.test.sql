-- Every legal transition works; every illegal one raises; duplicate and late events change nothing
-- and are still recorded; each transition leaves an audit event (and an outbox row where the app cares).
begin;
\ir _fixtures.psql
select plan(32);
update public.organizations set webhook_url = 'https://app.example.org/hooks';

select tests.new_call('aaaaaaaa-aaaa-0000-0000-000000000000') as call \gset
select is((select status::text from public.intake_calls where id = :'call'), 'queued', 'a new call is queued');
select is((select count(*) from public.call_events where intake_call_id = :'call' and type = 'call.created'), 1::bigint,
  'its creation is an event');
select is((select count(*) from public.webhook_deliveries where intake_call_id = :'call' and event_type = 'call.queued'),
  1::bigint, 'and an outbox row for the app');

create temp table c as select * from public.claim_due_calls(10, tests.open_hours());
select claim_token as claim from c where intake_call_id = :'call' \gset
select is((select status::text from public.intake_calls where id = :'call'), 'dispatching', 'claimed: dispatching');
select throws_ok(format($$ select public.start_call_attempt(%L, gen_random_uuid()) $$, :'call'), 'PT409', null,
  'only the claim holder may start the attempt');
select id as s1 from public.start_call_attempt(:'call', :'claim') \gset
select is((select attempt_number from public.call_sessions where id = :'s1'), 1, 'the first session is attempt 1');
select public.mark_session_dialing(:'s1', 'SIP_1', 'AD_1');
select is((select status::text || '/' || attempts from public.intake_calls where id = :'call'), 'in_progress/1',
  'dialling: call in progress, one attempt');
select ok(public.record_session_status(:'s1', 'ringing', 'carrier', 'CA1:1'), 'ringing applies');
select ok(public.record_session_status(:'s1', 'answered', 'carrier', 'CA1:2', '{}', 'human'), 'answered applies');
select ok(not public.record_session_status(:'s1', 'ringing', 'carrier', 'CA1:3'), 'a late ringing after answered is a no-op');
select is((select status::text from public.call_sessions where id = :'s1'), 'answered', '... the session stays answered');
select is((select applied from public.call_events where dedupe_key = 'CA1:3'), false, '... and is recorded as not applied');
select ok(not public.record_session_status(:'s1', 'answered', 'carrier', 'CA1:2'), 'the same event twice is dropped');
select is((select count(*) from public.call_events where dedupe_key = 'CA1:2'), 1::bigint, '... recorded once');
select throws_ok(format($$ select public.record_session_status(%L, 'dialing', 'carrier') $$, :'s1'), 'PT400', null,
  'an unknown progress status raises');

select ok(public.record_session_outcome(:'s1', 'completed', 'agent', 'end-1'), 'the attempt completes');
select is((select status::text || '/' || outcome from public.intake_calls where id = :'call'), 'completed/completed',
  'the call is completed');
select ok(not public.record_session_outcome(:'s1', 'no_answer', 'carrier', 'end-2'), 'a late end is a no-op');
select is((select outcome::text from public.intake_calls where id = :'call'), 'completed', '... the outcome stands');
select is((select applied from public.call_events where dedupe_key = 'end-2'), false, '... recorded as not applied');
select tests.as_user('aaaaaaaa-0000-0000-0000-000000000001');
select throws_ok(format($$ select public.cancel_intake_call(%L) $$, :'call'), 'PT409', null, 'a final call cannot be cancelled');
select tests.as_postgres();
select throws_ok(format($$ select private.transition_call(%L, 'queued', 'operator', 'x') $$, :'call'), 'PT409', null,
  'final states never change');
select is((select count(*) from public.webhook_deliveries where intake_call_id = :'call' and event_type = 'call.completed'),
  1::bigint, 'completion reaches the outbox once');
select ok((select array_agg(type order by id) from public.call_events where intake_call_id = :'call')
  @> array['call.created', 'call.claimed', 'session.created', 'session.dialing', 'call.dialing', 'session.ringing',
           'session.answered', 'session.ended', 'call.completed'], 'the audit trail has every step');

-- Cancelling: a queued call at once, a live call through the carrier.
select tests.new_call('aaaaaaaa-aaaa-0000-0000-000000000000', '+12125550111') as q \gset
select tests.as_user('aaaaaaaa-0000-0000-0000-000000000001');
select is((public.cancel_intake_call(:'q', 'changed plans')).status::text, 'cancelled', 'a queued call is cancelled at once');
select tests.as_postgres();
select tests.new_call('aaaaaaaa-aaaa-0000-0000-000000000000', '+12125550112') as live \gset
create temp table c2 as select * from public.claim_due_calls(10, tests.open_hours());
select claim_token as claim2 from c2 where intake_call_id = :'live' \gset
select id as s2 from public.start_call_attempt(:'live', :'claim2') \gset
select public.mark_session_dialing(:'s2');
select tests.as_user('aaaaaaaa-0000-0000-0000-000000000001');
select is((public.cancel_intake_call(:'live')).status::text, 'in_progress', 'a live call stays live until the carrier hangs up');
select tests.as_postgres();
select public.record_session_outcome(:'s2', 'no_answer', 'carrier');
select is((select status::text || '/' || outcome from public.intake_calls where id = :'live'), 'cancelled/cancelled',
  'when the attempt ends, the cancelled call is not retried');

-- Opt-out adds the number to do-not-call and stops other queued calls to it.
select tests.new_call('aaaaaaaa-aaaa-0000-0000-000000000000', '+12125550113') as o1 \gset
select tests.new_call('aaaaaaaa-aaaa-0000-0000-000000000000', '+12125550113') as o2 \gset
update public.intake_calls set priority = 100 where id = :'o1';
create temp table c3 as select * from public.claim_due_calls(1, tests.open_hours());
select claim_token as claim3 from c3 where intake_call_id = :'o1' \gset
select id as s3 from public.start_call_attempt(:'o1', :'claim3') \gset
select public.mark_session_dialing(:'s3');
select public.record_session_outcome(:'s3', 'opted_out', 'agent');
select is((select status::text from public.intake_calls where id = :'o1'), 'opted_out', 'a spoken opt-out ends the call');
select is((select source::text from public.do_not_call where phone = '+12125550113'), 'spoken_opt_out',
  'and puts the number on the do-not-call list');
select is((select status::text || '/' || outcome from public.intake_calls where id = :'o2'), 'failed/do_not_call',
  'the other queued call to that number is stopped');

-- Who a call is for and what it was asked for never change, whoever holds the table privilege.
select throws_ok(format('update public.intake_calls set callee_phone = %L where id = %L', '+12125550999', :'call'),
  'PT409', null, 'the callee phone of a call cannot be changed');
select lives_ok(format('update public.intake_calls set priority = priority + 1 where id = %L', :'call'),
  '... while the columns the state machine moves can');

select * from finish();
rollback;

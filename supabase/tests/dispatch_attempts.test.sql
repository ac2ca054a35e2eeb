-- Starting and recording attempts for the dispatcher: an attempt is handed out once per claim (a second
-- delivery of the same claim goes to reconciliation), carrier events that overtake the dispatcher's own
-- acknowledgement never leave the call stuck or dial it twice, a call cancelled during origination is hung up,
-- and only service_role reaches these functions.
begin;
\ir _fixtures.psql
select plan(29);

select tests.new_call('aaaaaaaa-aaaa-0000-0000-000000000000', '+12125550300') as call \gset
insert into public.phone_system_classifications (org_id, phone, classification, ivr_steps)
values ('aaaaaaaa-aaaa-0000-0000-000000000000', '+12125550300', 'ivr_then_human', '[{"after_ms": 3000, "dtmf": "2"}]');
update public.organizations set caller_id = '+12125550199', livekit_sip_trunk_id = 'ST_a'
 where id = 'aaaaaaaa-aaaa-0000-0000-000000000000';
create temp table c as select * from public.claim_due_calls(10, tests.open_hours());
select claim_token as claim from c where intake_call_id = :'call' \gset

select tests.as_service();
select public.begin_call_attempt(:'call', :'claim') as began \gset
select tests.as_postgres();
select (:'began'::jsonb -> 'session' ->> 'id') as s1 \gset
select is(:'began'::jsonb ->> 'deferred', 'false', 'the claim holder gets a new attempt');
select is((select room_name from public.call_sessions where id = :'s1'), 'call-' || :'s1', 'its room is call-<session id>');
select is(:'began'::jsonb -> 'session' ->> 'room_name', 'call-' || :'s1', 'the context names the room');
select is(:'began'::jsonb -> 'call' ->> 'callee_phone', '+12125550300', 'the context has the number to dial');
select is(:'began'::jsonb -> 'organization', '{"caller_id": "+12125550199", "livekit_sip_trunk_id": "ST_a"}'::jsonb,
  'the org''s caller id and trunk');
select is(:'began'::jsonb -> 'template', '{"max_duration_seconds": 900, "voicemail_policy": "hang_up"}'::jsonb,
  'the template''s duration and voicemail policy');
select is(:'began'::jsonb -> 'ivr_steps', '[{"after_ms": 3000, "dtmf": "2"}]'::jsonb, 'the learned IVR path to replay');

-- The same claim delivered a second time (a duplicate wake-up): never a second origination.
select tests.as_service();
select public.begin_call_attempt(:'call', :'claim') as again \gset
select tests.as_postgres();
select is(:'again'::jsonb, jsonb_build_object('deferred', true, 'session_id', :'s1'::uuid),
  'a second delivery of the claim is deferred, naming the existing attempt');
select is(tests.in_doubt(:'s1'), true, '... which is handed to reconciliation');
select is((select claim_token from public.intake_calls where id = :'call'), null, '... and the claim is dropped');
select is((select count(*) from public.call_sessions where intake_call_id = :'call'), 1::bigint, 'still one attempt');
select throws_ok(format($$ select public.begin_call_attempt(%L, %L) $$, :'call', :'claim'), 'PT409', null,
  'the dropped claim cannot start anything any more');
select throws_ok(format($$ select public.begin_call_attempt(%L, null) $$, :'call'), 'PT409', null,
  'nor can a missing claim, even while the call has no claim holder');

-- The ids of a classification that is stale or not an IVR are not replayed.
select tests.new_call('aaaaaaaa-aaaa-0000-0000-000000000000', '+12125550301') as plain \gset
insert into public.phone_system_classifications (org_id, phone, classification, ivr_steps, expires_at)
values ('aaaaaaaa-aaaa-0000-0000-000000000000', '+12125550301', 'ivr_only', '[{"after_ms": 1000, "dtmf": "1"}]',
        now() - interval '1 day');
create temp table c2 as select * from public.claim_due_calls(10, tests.open_hours());
select claim_token as plain_claim from c2 where intake_call_id = :'plain' \gset
select is(public.begin_call_attempt(:'plain', :'plain_claim') -> 'ivr_steps', 'null'::jsonb,
  'an expired classification is not replayed');

-- A status callback overtakes the dispatcher: the session is already ringing when the origination is recorded.
select (id)::text as s2 from public.call_sessions where intake_call_id = :'plain' \gset
select public.record_session_status(:'s2', 'ringing', 'carrier', 'CAx:0');
select public.record_origination(:'s2', 'CA_plain', null) as rec \gset
select is(:'rec'::jsonb, '{"session_status": "ringing", "call_status": "in_progress", "hang_up": false}'::jsonb,
  'recording the origination after an early ringing still hands the call over');
select is((select status::text || '/' || carrier_call_id from public.call_sessions where id = :'s2'), 'ringing/CA_plain',
  '... keeps the later session state and fills in the carrier call id');
select is((select attempts from public.intake_calls where id = :'plain'), 1, '... counting the attempt once');

-- Cancelled while the origination request was in flight: the dispatcher is told to hang up.
select tests.new_call('aaaaaaaa-aaaa-0000-0000-000000000000', '+12125550302') as cancel_me \gset
create temp table c3 as select * from public.claim_due_calls(10, tests.open_hours());
select claim_token as cancel_claim from c3 where intake_call_id = :'cancel_me' \gset
select (public.begin_call_attempt(:'cancel_me', :'cancel_claim') -> 'session' ->> 'id') as s3 \gset
select tests.as_user('aaaaaaaa-0000-0000-0000-000000000001');
select public.cancel_intake_call(:'cancel_me', 'changed plans');
select tests.as_postgres();
select is(public.record_origination(:'s3', 'AD_x', null) ->> 'hang_up', 'true', 'a call cancelled meanwhile is to be hung up');
select is((select status::text from public.intake_calls where id = :'cancel_me'), 'cancelled', '... and stays cancelled');

-- A dispatcher died after the carrier took the call, and a callback already moved the attempt: its lapsed
-- lease adopts the live call instead of queueing it to be dialled again.
update public.organizations set webhook_url = 'https://app.example.org/hooks'
 where id = 'aaaaaaaa-aaaa-0000-0000-000000000000';
select tests.new_call('aaaaaaaa-aaaa-0000-0000-000000000000', '+12125550303') as orphan \gset
create temp table c4 as select * from public.claim_due_calls(10, tests.open_hours());
select claim_token as orphan_claim from c4 where intake_call_id = :'orphan' \gset
select (public.begin_call_attempt(:'orphan', :'orphan_claim') -> 'session' ->> 'id') as s4 \gset
select public.record_session_status(:'s4', 'answered', 'carrier', 'CAy:1', '{}', 'human');
select public.reclaim_expired_leases(tests.open_hours() + interval '1 hour');
select is((select status::text || '/' || attempts from public.intake_calls where id = :'orphan'), 'in_progress/1',
  'a lapsed claim whose attempt was answered is adopted, not queued');
select ok(exists (select 1 from public.call_events where intake_call_id = :'orphan' and type = 'call.adopted'),
  '... and the adoption is in the audit trail');
select is((select array_agg(w.event_type) from public.webhook_deliveries w where w.intake_call_id = :'orphan'
            and w.event_type = 'call.dialing'), array['call.dialing'],
  '... and the app hears call.dialing, as when the dispatcher marks the attempt');
select public.mark_session_dialing(:'s4', 'CAy');
select is((select count(*)::int from public.webhook_deliveries w where w.intake_call_id = :'orphan'
            and w.event_type = 'call.dialing'), 1, 'the dispatcher acknowledging late does not announce it twice');

-- A web call that comes back to the queue (its attempt ended unsuccessfully) is not redialled.
select tests.new_call('aaaaaaaa-aaaa-0000-0000-000000000000', '+12125550304', null, 0, 'web') as web \gset
create temp table c5 as select * from public.claim_due_calls(10, tests.open_hours());
select claim_token as web_claim from c5 where intake_call_id = :'web' \gset
select is(public.begin_call_attempt(:'web', :'web_claim'), '{"deferred": false, "not_dialable": true}'::jsonb,
  'a claimed web call is not dialable');
select is((select status::text || '/' || outcome from public.intake_calls where id = :'web'), 'failed/failed',
  '... it is closed as failed, with no new attempt');

-- Privileges: service_role only.
select tests.as_user('aaaaaaaa-0000-0000-0000-000000000001');
select throws_ok(format($$ select public.begin_call_attempt(%L, %L) $$, :'call', :'claim'), '42501', null,
  'an app user cannot start attempts');
select throws_ok($$ select * from public.claim_reconciliations(10, 0) $$, '42501', null,
  'nor claim reconciliations');
select tests.as_agent(:'s1');
select throws_ok(format($$ select public.record_origination(%L) $$, :'s1'), '42501', null,
  'nor can an agent credential record originations');
select tests.as_postgres();
select is(
  (select array_agg(p.proname::text order by p.proname) from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname = 'public'
      and p.proname in ('begin_call_attempt', 'record_origination', 'defer_to_reconciliation', 'claim_reconciliations',
                        'known_carrier_call_ids', 'abandon_web_call')
      and (has_function_privilege('authenticated', p.oid, 'EXECUTE') or has_function_privilege('anon', p.oid, 'EXECUTE')
           or not has_function_privilege('service_role', p.oid, 'EXECUTE'))),
  null, 'every dispatcher function is executable by service_role and by no app role');

select * from finish();
rollback;

-- Web calls: created with their one attempt at once, held (dispatching, claimed) by the creating request, never
-- scheduled; only members and API keys of the org may create them; abandoning one ends it failed.
begin;
\ir _fixtures.psql
select plan(10);

select tests.as_user('aaaaaaaa-0000-0000-0000-000000000002');
select public.create_web_call(jsonb_build_object('org_id', 'aaaaaaaa-aaaa-0000-0000-000000000000',
  'template_id', 'aaaaaaaa-7e00-0000-0000-000000000000', 'callee_phone', '+12125550500', 'callee_name', 'Ada')) as web \gset
select tests.as_postgres();
select (:'web'::jsonb ->> 'intake_call_id') as call, (:'web'::jsonb ->> 'session_id') as session \gset
select is((select status::text || '/' || carrier::text from public.intake_calls where id = :'call'), 'dispatching/web',
  'a member''s web call is held by the request that created it');
select is((select room_name from public.call_sessions where id = :'session'), 'call-' || :'session',
  'with its attempt and room at once');
select is(:'web'::jsonb ->> 'claim_token', (select claim_token::text from public.intake_calls where id = :'call'),
  'the creating request holds the claim');
select is((select count(*) from public.claim_due_calls(100, tests.open_hours()) where intake_call_id = :'call'), 0::bigint,
  'the scheduler never claims it');
select is((public.mark_session_dialing(:'session', null, 'AD_web')).status::text, 'dialing', 'the agent dispatched, it is dialing');
select is((select status::text from public.intake_calls where id = :'call'), 'in_progress', '... and the call in progress');

-- Abandoned when LiveKit refused the dispatch.
select tests.as_user('aaaaaaaa-0000-0000-0000-000000000002');
select public.create_web_call(jsonb_build_object('org_id', 'aaaaaaaa-aaaa-0000-0000-000000000000',
  'template_id', 'aaaaaaaa-7e00-0000-0000-000000000000', 'callee_phone', '+12125550501')) as web2 \gset
select tests.as_postgres();
select is((public.abandon_web_call((:'web2'::jsonb ->> 'intake_call_id')::uuid, (:'web2'::jsonb ->> 'claim_token')::uuid,
  'livekit down')).status::text, 'failed', 'an abandoned web call ends failed');

-- Who may create them.
select tests.as_user('bbbbbbbb-0000-0000-0000-000000000001');
select throws_ok($$ select public.create_web_call('{"org_id": "aaaaaaaa-aaaa-0000-0000-000000000000",
  "template_id": "aaaaaaaa-7e00-0000-0000-000000000000", "callee_phone": "+12125550502"}') $$, 'PT404', null,
  'a member of another org cannot');
select tests.as_anon();
select throws_ok($$ select public.create_web_call('{}') $$, '42501', null, 'anon cannot');
select tests.as_user('aaaaaaaa-0000-0000-0000-000000000002');
select throws_ok(format($$ select public.abandon_web_call(%L, gen_random_uuid(), 'x') $$, :'call'), '42501', null,
  'an app user cannot abandon calls');
select tests.as_postgres();

select * from finish();
rollback;

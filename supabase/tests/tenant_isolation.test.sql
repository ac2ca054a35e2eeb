-- Isolation matrix: a member of org A sees none of org B's rows in any table and cannot write them;
-- anon reads nothing; an API key acts for its org only (and for none once revoked); an agent
-- credential for session S reaches S and nothing else, not even another session of the same org.
begin;
\ir _fixtures.psql
select plan(51);

-- Data in every table for both orgs, written as the platform writes it.
update public.organizations set webhook_url = 'https://app.example.org/hooks';
select tests.new_call('aaaaaaaa-aaaa-0000-0000-000000000000', '+12125550101') as call_a \gset
select tests.new_call('aaaaaaaa-aaaa-0000-0000-000000000000', '+12125550102') as call_a2 \gset
select tests.new_call('bbbbbbbb-bbbb-0000-0000-000000000000', '+4930901820') as call_b \gset
create temp table claims as select * from public.claim_due_calls(10, tests.open_hours());
select claim_token as claim_a from claims where intake_call_id = :'call_a' \gset
select claim_token as claim_a2 from claims where intake_call_id = :'call_a2' \gset
select claim_token as claim_b from claims where intake_call_id = :'call_b' \gset
select id as session_a from public.start_call_attempt(:'call_a', :'claim_a') \gset
select id as session_a2 from public.start_call_attempt(:'call_a2', :'claim_a2') \gset
select id as session_b from public.start_call_attempt(:'call_b', :'claim_b') \gset
insert into public.transcript_turns (org_id, session_id, sequence, speaker, text, started_at, ended_at) values
  ('aaaaaaaa-aaaa-0000-0000-000000000000', :'session_a', 0, 'agent', 'Hello A', now(), now()),
  ('bbbbbbbb-bbbb-0000-0000-000000000000', :'session_b', 0, 'agent', 'Hallo B', now(), now());
insert into public.escalations (org_id, intake_call_id, level, reason, source) values
  ('aaaaaaaa-aaaa-0000-0000-000000000000', :'call_a', 'override', 'test', 'operator'),
  ('bbbbbbbb-bbbb-0000-0000-000000000000', :'call_b', 'override', 'test', 'operator');
insert into public.do_not_call (org_id, phone, source) values
  ('aaaaaaaa-aaaa-0000-0000-000000000000', '+12125550199', 'manual'),
  ('bbbbbbbb-bbbb-0000-0000-000000000000', '+4930901899', 'manual');
insert into public.phone_system_classifications (org_id, phone, classification) values
  ('aaaaaaaa-aaaa-0000-0000-000000000000', '+12125550101', 'human'),
  ('bbbbbbbb-bbbb-0000-0000-000000000000', '+4930901820', 'ivr_only');
insert into public.api_keys (id, org_id, name, prefix, key_hash) values
  ('aaaaaaaa-cccc-0000-0000-000000000000', 'aaaaaaaa-aaaa-0000-0000-000000000000', 'A key', 'ik_a', '\x01'),
  ('bbbbbbbb-cccc-0000-0000-000000000000', 'bbbbbbbb-bbbb-0000-0000-000000000000', 'B key', 'ik_b', '\x02');

create function tests.visible_rows(tbl text, org uuid) returns bigint language plpgsql as $$
declare n bigint;
begin
  execute format('select count(*) from public.%I where %I = $1', tbl,
                 case tbl when 'organizations' then 'id' else 'org_id' end) into n using org;
  return n;
end $$;
grant execute on function tests.visible_rows(text, uuid) to public;

create temp table tenant_tables (name text);
grant select on tenant_tables to public;
insert into tenant_tables values ('organizations'), ('organization_members'), ('api_keys'), ('call_templates'),
  ('intake_calls'), ('call_sessions'), ('transcript_turns'), ('call_events'), ('escalations'), ('do_not_call'),
  ('phone_system_classifications'), ('webhook_deliveries');

select is((select count(*) from tenant_tables), (select count(*) from pg_tables where schemaname = 'public'),
  'the matrix covers every table in public');

-- Admin of A: sees A's rows in every table (so the matrix is not vacuous) and none of B's.
select tests.as_user('aaaaaaaa-0000-0000-0000-000000000001');
select ok(tests.visible_rows(name, 'aaaaaaaa-aaaa-0000-0000-000000000000') > 0, 'admin of A sees A''s ' || name)
  from tenant_tables order by name;
select is(tests.visible_rows(name, 'bbbbbbbb-bbbb-0000-0000-000000000000'), 0::bigint, 'admin of A sees none of B''s ' || name)
  from tenant_tables order by name;

select throws_ok($$ insert into public.call_templates (org_id, name, fallback_prompt, greeting)
                    values ('bbbbbbbb-bbbb-0000-0000-000000000000', 'x', 'p', 'g') $$,
  '42501', null, 'A cannot create a template in B');
select throws_ok($$ insert into public.do_not_call (org_id, phone, source)
                    values ('bbbbbbbb-bbbb-0000-0000-000000000000', '+4930901877', 'manual') $$,
  '42501', null, 'A cannot add to B''s do-not-call list');
update public.organizations set name = 'hijacked' where id = 'bbbbbbbb-bbbb-0000-0000-000000000000';
delete from public.organization_members where org_id = 'bbbbbbbb-bbbb-0000-0000-000000000000';
select throws_ok(format($$ select public.cancel_intake_call(%L) $$, :'call_b'), 'PT404', null,
  'A cannot cancel B''s call (it does not exist for A)');
select throws_ok($$ select public.create_intake_call('{"org_id":"bbbbbbbb-bbbb-0000-0000-000000000000",
   "template_id":"bbbbbbbb-7e00-0000-0000-000000000000","callee_phone":"+4930901821"}') $$,
  'PT404', null, 'A cannot create a call for B');
select throws_ok($$ insert into public.intake_calls (org_id, template_id, callee_phone)
                    values ('aaaaaaaa-aaaa-0000-0000-000000000000', 'aaaaaaaa-7e00-0000-0000-000000000000', '+12125550155') $$,
  '42501', null, 'members write calls only through the functions');

-- A plain member of A may read but not administer.
select tests.as_user('aaaaaaaa-0000-0000-0000-000000000002');
select is(tests.visible_rows('api_keys', 'aaaaaaaa-aaaa-0000-0000-000000000000'), 0::bigint,
  'a plain member does not see API keys');
select throws_ok($$ select public.create_api_key('aaaaaaaa-aaaa-0000-0000-000000000000', 'mine') $$, 'PT403', null,
  'a plain member cannot create API keys');

select tests.as_postgres();
select is((select name from public.organizations where id = 'bbbbbbbb-bbbb-0000-0000-000000000000'), 'Clinic B',
  'the update of B''s organization by A changed nothing');
select is((select count(*) from public.organization_members where org_id = 'bbbbbbbb-bbbb-0000-0000-000000000000'),
  1::bigint, 'the delete of B''s members by A removed nothing');

-- anon: no privilege at all.
select tests.as_anon();
select throws_ok('select count(*) from public.intake_calls', '42501', null, 'anon cannot read intake calls');
select throws_ok('select count(*) from public.organizations', '42501', null, 'anon cannot read organizations');
select throws_ok($$ select public.create_intake_call('{}') $$, '42501', null, 'anon cannot create calls');

-- An API key acts for its org; revoked, for none.
select tests.as_api_key('aaaaaaaa-cccc-0000-0000-000000000000');
select is(tests.visible_rows('intake_calls', 'aaaaaaaa-aaaa-0000-0000-000000000000'), 2::bigint, 'A''s key reads A''s calls');
select is(tests.visible_rows('intake_calls', 'bbbbbbbb-bbbb-0000-0000-000000000000'), 0::bigint, 'A''s key reads none of B''s');
select tests.as_postgres();
update public.api_keys set revoked_at = now() where id = 'aaaaaaaa-cccc-0000-0000-000000000000';
select tests.as_api_key('aaaaaaaa-cccc-0000-0000-000000000000');
select is(tests.visible_rows('intake_calls', 'aaaaaaaa-aaaa-0000-0000-000000000000'), 0::bigint, 'a revoked key reads nothing');

-- The agent credential of session A reaches session A only.
select tests.as_agent(:'session_a');
select is((select count(*) from public.call_sessions), 1::bigint, 'the agent sees exactly one session');
select is((select id from public.call_sessions), :'session_a'::uuid, '... its own');
select is((select count(*) from public.intake_calls), 1::bigint, 'the agent sees exactly one call, its own');
select is((select count(*) from public.transcript_turns where session_id = :'session_b'), 0::bigint,
  'the agent cannot read another org''s transcript');
select is((agent_call_context() -> 'session' ->> 'id')::uuid, :'session_a'::uuid, 'agent_call_context is its own session''s');
select lives_ok(format($$ insert into public.transcript_turns (org_id, session_id, sequence, speaker, text, started_at, ended_at)
                          values ('aaaaaaaa-aaaa-0000-0000-000000000000', %L, 1, 'callee', 'Hi', now(), now()) $$, :'session_a'),
  'the agent writes its own transcript');
select throws_ok(format($$ insert into public.transcript_turns (org_id, session_id, sequence, speaker, text, started_at, ended_at)
                           values ('aaaaaaaa-aaaa-0000-0000-000000000000', %L, 0, 'agent', 'x', now(), now()) $$, :'session_a2'),
  '42501', null, 'the agent cannot write the transcript of another session of the same org');
select throws_ok(format($$ update public.call_sessions set status = 'ended' where id = %L $$, :'session_a'),
  '42501', null, 'the agent cannot update tables directly');
select throws_ok($$ select public.cancel_intake_call('00000000-0000-0000-0000-000000000000') $$, '42501', null,
  'the agent cannot use app operations');
select tests.as_agent(:'session_a2');
select is((select count(*) from public.transcript_turns), 0::bigint, 'session A2''s credential sees none of session A''s turns');
select tests.as_user('aaaaaaaa-0000-0000-0000-000000000001');
select throws_ok($$ select public.agent_call_context() $$, '42501', null, 'an app user cannot use agent operations');

select * from finish();
rollback;

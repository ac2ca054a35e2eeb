-- The platform objects our migrations rely on behave as on Supabase (on plain Postgres they come
-- from devstack/postgres/plain-postgres.sql; on `supabase start` from Supabase itself).
begin;
select plan(12);

select is(auth.uid(), null, 'auth.uid() is null without request claims');

select set_config('request.jwt.claims',
  '{"sub":"6f1b2a52-7d0e-4a3c-9a55-2f0b1d1f4c11","role":"authenticated","email":"a@example.org"}', true);
select is(auth.uid(), '6f1b2a52-7d0e-4a3c-9a55-2f0b1d1f4c11'::uuid, 'auth.uid() is the sub of request.jwt.claims');
select is(auth.role(), 'authenticated', 'auth.role() is the role claim');
select is(auth.jwt() ->> 'email', 'a@example.org', 'auth.jwt() returns the whole claims object');

select set_config('request.jwt.claim.sub', '0a5c3c4e-2f55-4bb0-8f7a-0a9f1b7e3a01', true);
select is(auth.uid(), '0a5c3c4e-2f55-4bb0-8f7a-0a9f1b7e3a01'::uuid,
  'the legacy request.jwt.claim.sub setting wins, as on Supabase');

select ok((select rolbypassrls from pg_roles where rolname = 'service_role'), 'service_role bypasses RLS');
select ok(not (select rolcanlogin from pg_roles where rolname = 'anon'), 'anon cannot log in');
select ok(not (select rolbypassrls from pg_roles where rolname = 'authenticated'), 'authenticated is subject to RLS');
select ok(pg_has_role('authenticator', 'authenticated', 'member'), 'authenticator can switch to authenticated');

select isnt(net.http_post('http://127.0.0.1:9/hook', '{"a":1}'::jsonb), null, 'net.http_post returns a request id');
select is(
  (select convert_from(body, 'UTF8')::jsonb from net.http_request_queue order by id desc limit 1),
  '{"a":1}'::jsonb, 'the request body is queued as pg_net queues it');
select is(
  (select url from net.http_request_queue order by id desc limit 1), 'http://127.0.0.1:9/hook',
  'the queued request keeps its URL');

select * from finish();
rollback;

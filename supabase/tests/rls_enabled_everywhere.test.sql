-- Row-level security is on for every table of every exposed schema, and anon can read nothing:
-- checked against the catalog, so a table added later without RLS fails here.
begin;
select plan(4);

select is(
  (select coalesce(array_agg(c.relname::text order by c.relname), '{}')
     from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relrowsecurity),
  '{}'::text[], 'every table in public has row-level security enabled');

select is(
  (select coalesce(array_agg(c.relname::text order by c.relname), '{}')
     from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relkind in ('r', 'p', 'v', 'm')
      and has_table_privilege('anon', c.oid, 'SELECT')),
  '{}'::text[], 'anon has SELECT on no table or view in public');

select is(
  (select coalesce(array_agg(p.proname::text order by p.proname), '{}')
     from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname = 'public' and has_function_privilege('anon', p.oid, 'EXECUTE')),
  '{}'::text[], 'anon can execute no function in public');

select is(
  (select coalesce(array_agg(c.relname::text order by c.relname), '{}')
     from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relkind = 'v'
      and not coalesce((select option_value = 'true' from pg_options_to_table(c.reloptions)
                         where option_name = 'security_invoker'), false)),
  '{}'::text[], 'every view in public is security_invoker (RLS of the reader applies)');

select * from finish();
rollback;

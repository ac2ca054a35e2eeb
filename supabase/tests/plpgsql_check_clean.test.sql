-- plpgsql_check finds no errors or warnings in any of our PL/pgSQL functions.
begin;
select plan(1);
select is(
  (select coalesce(array_agg(format('%s.%s: %s %s', n.nspname, p.proname, r.level, r.message) order by 1), '{}')
     from pg_proc p
     join pg_namespace n on n.oid = p.pronamespace
     join pg_language l on l.oid = p.prolang and l.lanname = 'plpgsql'
     cross join lateral extensions.plpgsql_check_function_tb(p.oid,
       relid => coalesce((select t.tgrelid from pg_trigger t where t.tgfoid = p.oid limit 1), 0),
       newtable => (select case when t.tgnewtable is not null then t.tgnewtable end from pg_trigger t where t.tgfoid = p.oid limit 1)
     ) r
    where n.nspname in ('public', 'private')),
  '{}'::text[], 'plpgsql_check: no errors or warnings');
select * from finish();
rollback;

-- Extensions the platform uses. pg_cron runs the scheduler; pg_net lets the database call edge
-- functions (the dispatcher) asynchronously after commit. On plain Postgres the local
-- compatibility layer already provides the `net` schema, so pg_net is only created where missing.
create extension if not exists pg_cron;

do $$
begin
  if not exists (select from pg_namespace where nspname = 'net') then
    create extension pg_net with schema extensions;
  end if;
end
$$;

create extension if not exists pgcrypto with schema extensions;

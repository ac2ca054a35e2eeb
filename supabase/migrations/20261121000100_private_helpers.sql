-- The private schema: helpers that policies and business functions call. It is not exposed
-- through the API (PostgREST serves `public` only), so nothing here is callable by apps directly.
create schema if not exists private;
revoke all on schema private from public;
grant usage on schema private to authenticated, service_role;

-- Platform-wide knobs (one row). Changed by operators in Studio or SQL, read by the scheduler.
create table private.platform_settings (
  id boolean primary key default true check (id),
  max_concurrent_calls integer not null default 100 check (max_concurrent_calls >= 0),
  claim_lease_seconds integer not null default 120 check (claim_lease_seconds > 0),
  dispatch_batch_size integer not null default 50 check (dispatch_batch_size between 1 and 1000),
  webhook_max_attempts integer not null default 8 check (webhook_max_attempts > 0)
);
insert into private.platform_settings default values;
comment on table private.platform_settings is
  'Platform-wide scheduler settings: the concurrency cap over all organisations, claim lease, batch sizes.';

-- Custom SQLSTATEs of the form PTxxx make PostgREST answer HTTP xxx; the edge functions map them
-- the same way. One helper so every business error reads alike.
create function private.fail(http_status integer, code text, message text, details jsonb default null)
returns void
language plpgsql
set search_path = ''
as $$
begin
  raise exception using
    errcode = 'PT' || http_status::text,
    message = message,
    detail = code,
    hint = coalesce(details::text, '');
end
$$;
comment on function private.fail is
  'Raises a business error: SQLSTATE PT<http status>, MESSAGE for humans, DETAIL = machine code, HINT = details json.';

-- Used by CHECK constraints on every insert: converting a fixed instant is cheap, whereas scanning
-- pg_timezone_names reads the whole zone database each time.
create function private.is_valid_timezone(tz text) returns boolean
language plpgsql immutable
set search_path = ''
as $$
begin
  perform '2000-01-01 00:00:00+00'::timestamptz at time zone tz;
  return tz is not null;
exception when invalid_parameter_value then
  return false;
end
$$;

-- A phone number in E.164 (+, country code, at most 15 digits), the only form stored: the API parses what
-- callers send with libphonenumber-js, and SIP, Twilio and the do-not-call list compare numbers exactly.
-- One domain for every phone column, so the rule is written once; a value outside it fails as check_violation
-- (23514) naming the constraint `e164`, which the API answers 422 constraint_violation.
create domain public.e164 as text constraint e164 check (value ~ '^\+[1-9][0-9]{6,14}$');
comment on domain public.e164 is 'A phone number in E.164 form, e.g. +15551234567.';

-- Calling windows are wall-clock times in the callee's zone. `at time zone` applies that zone's
-- rules for the instant in question, so DST days need no special case. No `set search_path` here on
-- purpose: a SET clause stops Postgres from inlining a SQL function, and the scheduler evaluates this
-- for every candidate row; the body names no table or function that a search path could redirect.
create function private.in_calling_window(
  at_time timestamptz, tz text, window_start time, window_end time
) returns boolean
language sql immutable
as $$
  select (at_time at time zone tz)::time >= window_start
     and (at_time at time zone tz)::time < window_end
$$;
comment on function private.in_calling_window is
  'True when at_time falls inside [window_start, window_end) of local wall-clock time in zone tz.';

-- The earliest instant >= at_time inside the window. When the window opens at a local time that
-- does not exist that day (a spring-forward gap), Postgres maps it forward, which is still inside.
create function private.next_window_start(
  at_time timestamptz, tz text, window_start time, window_end time
) returns timestamptz
language plpgsql immutable
set search_path = ''
as $$
declare
  local_ts timestamp := at_time at time zone tz;
  candidate timestamptz;
begin
  if private.in_calling_window(at_time, tz, window_start, window_end) then
    return at_time;
  end if;
  if local_ts::time < window_start then
    candidate := (local_ts::date + window_start) at time zone tz;
  else
    candidate := ((local_ts::date + 1) + window_start) at time zone tz;
  end if;
  return candidate;
end
$$;
comment on function private.next_window_start is
  'The first instant at or after at_time that lies inside the local calling window of zone tz.';

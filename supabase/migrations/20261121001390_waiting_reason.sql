-- Why a queued call is still waiting, for GET /intake-calls/{id} and the list: a machine code, a human message
-- and, where one applies, the instant the reason ends (`until`). The checks are claim_due_calls' (scheduler.sql)
-- in its order, on the same helpers (private.in_calling_window, private.next_window_start) and the same
-- tables (do_not_call, the caps' counts of dispatching and in_progress calls, simulated calls exempt), so it
-- says what the claim would decide; supabase/tests/waiting_reason.test.sql holds each reason to the claim.
-- Codes:
--   deadline_passed         the deadline is reached; the next tick expires the call
--   carrier_not_configured  the dispatcher found the call's carrier unconfigured and gave it back (until the retry)
--   retry_scheduled         an attempt failed; the next one is due at `until`
--   not_before              the caller asked for no call before `until`
--   outside_calling_window  the callee's local calling window opens at `until`
--   do_not_call             the number is on the org's do-not-call list: it is never claimed
--   org_cap_reached         the org's max_concurrent_calls are all dispatching or live
--   platform_cap_reached    the platform's max_concurrent_calls are all dispatching or live
--   due                     nothing holds it: the next scheduler tick (or a dispatcher wake-up) claims it
-- A call that is not queued has none (null), and so does a call the caller may not see: the function reads the
-- org's settings, the do-not-call list and the platform-wide count, which the caller's row-level security
-- does not all allow, so it runs as its owner and answers only for the caller's own orgs' calls.
create function private.waiting_reason(code text, message text, until timestamptz) returns jsonb
language sql immutable
set search_path = ''
as $$ select jsonb_build_object('code', code, 'message', message, 'until', until) $$;

create function private.call_waiting_reason(c public.intake_calls, at_time timestamptz default now()) returns jsonb
language plpgsql stable security definer
set search_path = ''
as $$
declare
  org public.organizations;
  zone text;
  released_for text;
  cap integer;
begin
  -- The row is taken as given, not read again: a POST answers in the statement that inserted it, whose
  -- snapshot does not show it yet. Only its org is trusted, and only when it is the caller's.
  if c.status is distinct from 'queued'
     or not (private.is_database_owner_session() or c.org_id in (select private.caller_org_ids())) then
    return null;
  end if;
  if c.deadline is not null and c.deadline <= at_time then
    return private.waiting_reason('deadline_passed', 'the deadline has passed; the call is about to expire', c.deadline);
  end if;
  if c.next_attempt_at > at_time then
    select e.payload ->> 'reason' into released_for from public.call_events e
     where e.intake_call_id = c.id order by e.id desc limit 1;
    -- Only the latest event counts: a release long ago followed by a failed attempt is a retry.
    if released_for = 'not_configured' then
      return private.waiting_reason('carrier_not_configured',
        format('the %s carrier is not configured; the dispatcher tries again at the time given', c.carrier),
        c.next_attempt_at);
    elsif c.attempts > 0 then
      return private.waiting_reason('retry_scheduled', 'a retry is scheduled', c.next_attempt_at);
    end if;
    return private.waiting_reason('not_before', 'not to be called before the time given', c.next_attempt_at);
  end if;
  select * into org from public.organizations o where o.id = c.org_id;
  zone := coalesce(c.callee_timezone, org.timezone);
  if not c.is_simulation
     and not private.in_calling_window(at_time, zone, org.calling_window_start, org.calling_window_end) then
    return private.waiting_reason('outside_calling_window',
      format('outside the callee''s calling window (%s-%s, %s)', org.calling_window_start, org.calling_window_end, zone),
      private.next_window_start(at_time, zone, org.calling_window_start, org.calling_window_end));
  end if;
  if exists (select 1 from public.do_not_call d where d.org_id = c.org_id and d.phone = c.callee_phone) then
    return private.waiting_reason('do_not_call', 'the number is on the organization''s do-not-call list', null);
  end if;
  if not c.is_simulation then
    if org.max_concurrent_calls <= (select count(*) from public.intake_calls a
                                     where a.org_id = c.org_id and a.status in ('dispatching', 'in_progress')
                                       and not a.is_simulation) then
      return private.waiting_reason('org_cap_reached',
        format('the organization''s %s concurrent calls are in use', org.max_concurrent_calls), null);
    end if;
    select s.max_concurrent_calls into cap from private.platform_settings s;
    if cap <= (select count(*) from public.intake_calls a
                where a.status in ('dispatching', 'in_progress') and not a.is_simulation) then
      return private.waiting_reason('platform_cap_reached',
        format('the platform''s %s concurrent calls are in use', cap), null);
    end if;
  end if;
  return private.waiting_reason('due', 'due: the scheduler claims it on its next tick', null);
end
$$;
comment on function private.call_waiting_reason is
  'Why a queued call waits ({code, message, until}), by claim_due_calls'' rules; null for a call that is not queued.';

revoke execute on function private.call_waiting_reason(public.intake_calls, timestamptz), private.waiting_reason(text, text, timestamptz)
  from public;
grant execute on function private.call_waiting_reason(public.intake_calls, timestamptz) to authenticated;

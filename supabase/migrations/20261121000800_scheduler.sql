-- The scheduler: which calls are due, claiming them under a lease, giving lapsed claims back,
-- expiring overdue calls, and waking the edge functions (dispatch, webhooks) through pg_net.
--
-- Due = queued, next_attempt_at reached, deadline not passed, inside the callee's calling window
-- (the callee's zone, else the org's; DST handled by `at time zone`), number not on do-not-call,
-- under the org's and the platform's concurrency caps (simulated calls use no real line and count
-- against neither, and ring no one, so no calling window applies to them). Most urgent first: priority, then
-- how long it has been due.

create function public.claim_due_calls(max_calls integer default null, at_time timestamptz default now())
returns table (intake_call_id uuid, org_id uuid, claim_token uuid, carrier public.call_carrier,
               lease_expires_at timestamptz)
language plpgsql security definer
set search_path = ''
-- An OLTP statement whose estimated cost grows with the table: JIT compilation would cost more
-- (tens of ms) than the whole claim.
set jit = off
as $$
declare
  settings private.platform_settings;
  batch integer;
  platform_free integer;
begin
  select * into settings from private.platform_settings;
  batch := least(coalesce(max_calls, settings.dispatch_batch_size), 1000);
  select settings.max_concurrent_calls - count(*) into platform_free
    from public.intake_calls a where a.status in ('dispatching', 'in_progress') and not a.is_simulation;

  return query
  with orgs as (
    select o.id, o.timezone, o.calling_window_start, o.calling_window_end,
           o.max_concurrent_calls - (select count(*) from public.intake_calls a
                                      where a.org_id = o.id and a.status in ('dispatching', 'in_progress')
                                        and not a.is_simulation) as free
      from public.organizations o
  ),
  -- Per org, in urgency order, at most what the org may still start (simulated calls: no cap).
  -- Only those rows are locked, so the work follows the due set and the caps, not the table; rows
  -- another claimer holds are skipped, so concurrent claimers share the work and never a call.
  candidates as (
    select c.id, c.org_id, c.priority, c.next_attempt_at, c.is_simulation, o.free
      from orgs o
      cross join (values (false), (true)) as sim(is_simulation)
      cross join lateral (
        select c.id, c.org_id, c.priority, c.next_attempt_at, c.is_simulation
          from public.intake_calls c
         where c.org_id = o.id and c.status = 'queued' and c.next_attempt_at <= at_time
           and c.is_simulation = sim.is_simulation
           and (c.deadline is null or c.deadline > at_time)
           -- A simulated call rings no one: it may run at any hour (tests, demos, scenario suites).
           and (sim.is_simulation or private.in_calling_window(at_time, coalesce(c.callee_timezone, o.timezone),
                                                               o.calling_window_start, o.calling_window_end))
           and not exists (select 1 from public.do_not_call d
                            where d.org_id = c.org_id and d.phone = c.callee_phone)
         order by c.priority desc, c.next_attempt_at
         limit case when sim.is_simulation then batch else least(batch, greatest(o.free, 0)) end
           for update of c skip locked
      ) c
  ),
  -- Round-robin across organisations: every org's most urgent call first, then every org's second, and
  -- so on, so one org's backlog never fills the batch or the platform cap while another org waits.
  within_org as (
    select w.*, row_number() over (partition by w.org_id, w.is_simulation
                                   order by w.priority desc, w.next_attempt_at) as org_rank
      from candidates w
  ),
  within_platform_cap as (
    select w.*, row_number() over (partition by w.is_simulation
                                   order by w.org_rank, w.priority desc, w.next_attempt_at) as platform_rank
      from within_org w
  ),
  chosen as (
    select w.id from within_platform_cap w
     where w.is_simulation or w.platform_rank <= platform_free
     order by w.org_rank, w.priority desc, w.next_attempt_at
     limit batch
  ),
  claimed as (
    update public.intake_calls c
       set status = 'dispatching', claim_token = gen_random_uuid(),
           lease_expires_at = at_time + make_interval(secs => settings.claim_lease_seconds), updated_at = now()
      from chosen
     where c.id = chosen.id
    returning c.id, c.org_id, c.claim_token, c.carrier, c.lease_expires_at
  ),
  audit as (
    insert into public.call_events (org_id, intake_call_id, source, type, from_status, to_status, payload)
    select cl.org_id, cl.id, 'scheduler', 'call.claimed', 'queued', 'dispatching',
           jsonb_build_object('lease_expires_at', cl.lease_expires_at)
      from claimed cl
  )
  select cl.id, cl.org_id, cl.claim_token, cl.carrier, cl.lease_expires_at from claimed cl;
end
$$;
comment on function public.claim_due_calls is
  'Claims up to max_calls due calls under a lease, round-robin across organisations (FOR UPDATE SKIP LOCKED: concurrent claimers never share a call).';

-- Claims whose lease lapsed (a dispatcher died) come back. When an attempt was already created, the
-- origination may have reached the carrier: the session is flagged for reconciliation instead of
-- the call being re-queued blindly.
-- A lapsed claim whose attempt the carrier already reported on
-- (ringing, answered) is live, so the call is adopted as in_progress instead of being queued and dialled again.
create function public.reclaim_expired_leases(at_time timestamptz default now()) returns integer
language plpgsql security definer
set search_path = ''
as $$
declare
  call_row public.intake_calls;
  open_session public.call_sessions;
  lease integer := (select claim_lease_seconds from private.platform_settings);
  n integer := 0;
begin
  for call_row in
    select * from public.intake_calls c
     where c.status = 'dispatching' and c.lease_expires_at < at_time
     for update skip locked
  loop
    select * into open_session from public.call_sessions s
     where s.intake_call_id = call_row.id and s.status <> 'ended'
     order by s.attempt_number desc limit 1;
    if open_session.status = 'created' then
      update public.intake_calls set lease_expires_at = at_time + make_interval(secs => lease), claim_token = null
       where id = call_row.id;
      perform private.record_event(call_row.id, null, 'scheduler', 'call.lease_expired', 'dispatching', 'dispatching',
        false, jsonb_build_object('reconcile', true));
    elsif open_session.id is not null then
      perform private.hand_over_to_attempt(open_session, 'scheduler', 'call.adopted');
    else
      perform private.transition_call(call_row.id, 'queued', 'scheduler', 'call.lease_expired');
    end if;
    n := n + 1;
  end loop;
  return n;
end
$$;

create function public.expire_overdue_calls(at_time timestamptz default now()) returns integer
language plpgsql security definer
set search_path = ''
as $$
declare
  call_id uuid;
  n integer := 0;
begin
  for call_id in
    select c.id from public.intake_calls c
     where c.status = 'queued' and c.deadline is not null and c.deadline <= at_time
     for update skip locked
  loop
    perform private.transition_call(call_id, 'expired', 'scheduler', 'call.expired', 'expired');
    n := n + 1;
  end loop;
  return n;
end
$$;

-- Waking edge functions --------------------------------------------------------------------------------
-- The project URL and the secret the dispatcher checks come from Vault (on Supabase:
-- `select vault.create_secret('https://<ref>.supabase.co', 'project_url')` and
-- `select vault.create_secret('<random>', 'dispatch_secret')`). Without them nothing is sent.
create function private.call_edge_function(function_name text, body jsonb) returns bigint
language plpgsql security definer
set search_path = ''
as $$
declare
  project_url text := (select decrypted_secret from vault.decrypted_secrets where name = 'project_url');
  secret text := (select decrypted_secret from vault.decrypted_secrets where name = 'dispatch_secret');
begin
  if project_url is null or secret is null then
    return null;
  end if;
  return net.http_post(
    url := project_url || '/functions/v1/' || function_name,
    body := body,
    headers := jsonb_build_object('Content-Type', 'application/json', 'Authorization', 'Bearer ' || secret),
    timeout_milliseconds := 30000);
end
$$;
comment on function private.call_edge_function is
  'POSTs to an edge function after commit through pg_net, authenticated with the dispatch secret from Vault.';

-- An inserted call that is due now wakes the dispatcher at once instead of waiting for the next tick.
create function private.wake_dispatcher_on_insert() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  if exists (select 1 from new_calls n where n.status = 'queued' and n.next_attempt_at <= now()) then
    perform private.call_edge_function('dispatch', jsonb_build_object('reason', 'insert'));
  end if;
  return null;
end
$$;
create trigger wake_dispatcher after insert on public.intake_calls
  referencing new table as new_calls
  for each statement execute function private.wake_dispatcher_on_insert();

-- One scheduler tick (pg_cron): give back lapsed claims, expire overdue calls, claim due calls and hand
-- them to the dispatcher, wake webhook delivery when events are waiting.
create function private.run_scheduler_tick() returns jsonb
language plpgsql security definer
set search_path = ''
as $$
declare
  reclaimed integer := public.reclaim_expired_leases();
  expired integer := public.expire_overdue_calls();
  claims jsonb;
  claimed integer;
begin
  select coalesce(jsonb_agg(jsonb_build_object('intake_call_id', c.intake_call_id, 'claim_token', c.claim_token)), '[]'),
         count(*)
    into claims, claimed
    from public.claim_due_calls() c;
  -- Also woken for attempts in doubt: a dispatcher that died mid-origination leaves one, and the call may be
  -- ringing at the carrier. (Without the reconcilers' grace period, which is the dispatcher's setting: during it
  -- a tick wakes a dispatcher that finds nothing to reconcile yet, a cheap no-op.)
  if claimed > 0 or exists (select 1 from public.call_sessions s join public.intake_calls c on c.id = s.intake_call_id
                             where s.status = 'created' and private.origination_in_doubt(s.status, c.status, c.claim_token)) then
    perform private.call_edge_function('dispatch', jsonb_build_object('reason', 'tick', 'claims', claims));
  end if;
  if exists (select 1 from public.webhook_deliveries w where w.status = 'pending' and w.next_attempt_at <= now()) then
    perform private.call_edge_function('webhooks', jsonb_build_object('reason', 'tick'));
  end if;
  return jsonb_build_object('reclaimed', reclaimed, 'expired', expired, 'claimed', claimed);
end
$$;

-- pg_cron 1.5+ (Supabase) takes second-granularity schedules; older pg_cron ticks every minute
-- (the insert trigger still wakes the dispatcher at once for new calls).
do $$
declare
  tick text := case
    when (select regexp_match(extversion, '^(\d+)\.(\d+)')::int[] from pg_extension where extname = 'pg_cron') >= array[1, 5]
    then '10 seconds' else '* * * * *' end;
begin
  perform cron.schedule('scheduler-tick', tick, 'select private.run_scheduler_tick()');
  perform cron.schedule('prune-cron-history', '17 3 * * *',
    $job$delete from cron.job_run_details where end_time < now() - interval '7 days'$job$);
end
$$;

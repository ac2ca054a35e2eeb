-- Views for Supabase Studio and the apps. security_invoker: they show only what the reader's RLS allows.
create view public.live_sessions with (security_invoker = true) as
  select s.id as session_id, s.org_id, s.intake_call_id, c.template_id, s.carrier, s.status, s.attempt_number,
         s.room_name, s.dialed_at, s.answered_at, now() - coalesce(s.answered_at, s.dialed_at, s.created_at) as running_for,
         c.is_simulation
    from public.call_sessions s
    join public.intake_calls c on c.id = s.intake_call_id
   where s.status <> 'ended';
comment on view public.live_sessions is 'Attempts in progress right now (created, dialing, ringing or answered).';

create view public.call_history with (security_invoker = true) as
  select c.id as intake_call_id, c.org_id, c.template_id, t.name as template_name, c.carrier, c.status, c.outcome,
         c.attempts, c.created_at, c.completed_at, c.external_ref, c.is_simulation,
         (select max(s.ended_at) from public.call_sessions s where s.intake_call_id = c.id) as last_attempt_ended_at,
         (select count(*) from public.escalations e where e.intake_call_id = c.id) as escalations
    from public.intake_calls c
    join public.call_templates t on t.id = c.template_id;
comment on view public.call_history is 'Every call with its outcome, attempts and escalations.';

create view public.outcomes_by_hour with (security_invoker = true) as
  select s.org_id,
         (s.created_at at time zone o.timezone)::date as local_day,
         extract(hour from s.created_at at time zone o.timezone)::integer as local_hour,
         count(*) as attempts,
         count(*) filter (where s.ended_reason in ('completed', 'escalated')) as reached,
         count(*) filter (where s.ended_reason in ('no_answer', 'busy', 'declined')) as not_reached,
         count(*) filter (where s.ended_reason = 'voicemail') as voicemail,
         round(100.0 * count(*) filter (where s.ended_reason in ('completed', 'escalated')) / nullif(count(*), 0), 1)
           as success_rate_pct
    from public.call_sessions s
    join public.intake_calls c on c.id = s.intake_call_id
    join public.organizations o on o.id = s.org_id
   where s.status = 'ended' and not c.is_simulation
   group by 1, 2, 3;
comment on view public.outcomes_by_hour is
  'Attempt outcomes per org, local day and local hour of day (seed 004''s analytics); simulated calls excluded.';

revoke all on public.live_sessions, public.call_history, public.outcomes_by_hour from anon;
grant select on public.live_sessions, public.call_history, public.outcomes_by_hour to authenticated;

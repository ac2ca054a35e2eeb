-- The outbox of app webhooks: written in the same transaction as the transition it reports, so an
-- event is never lost nor sent for a transition that rolled back. Delivered by the webhooks function.
create type public.delivery_status as enum ('pending', 'delivered', 'dead');

create table public.webhook_deliveries (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references public.organizations (id) on delete cascade,
  intake_call_id uuid references public.intake_calls (id) on delete cascade,
  event_type text not null,
  payload jsonb not null,
  status public.delivery_status not null default 'pending',
  attempts integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  locked_until timestamptz,
  last_status_code integer,
  last_error text,
  delivered_at timestamptz,
  created_at timestamptz not null default clock_timestamp()
);
create index webhook_deliveries_due on public.webhook_deliveries (next_attempt_at) where status = 'pending';
create index webhook_deliveries_call on public.webhook_deliveries (intake_call_id);
comment on table public.webhook_deliveries is
  'Outbox of signed webhooks to the org''s app. The row id is the event id receivers deduplicate on.';

alter table public.webhook_deliveries enable row level security;
revoke all on public.webhook_deliveries from anon, authenticated;
grant select on public.webhook_deliveries to authenticated;
create policy "admins read their org's webhook deliveries" on public.webhook_deliveries
  for select to authenticated using (org_id in (select private.caller_admin_org_ids()));

-- Queue an event for the org's app, if it has a webhook URL.
create function private.enqueue_webhook(call_row public.intake_calls, event_type text, extra jsonb default '{}')
returns void
language plpgsql
set search_path = ''
as $$
begin
  insert into public.webhook_deliveries (org_id, intake_call_id, event_type, payload)
  select call_row.org_id, call_row.id, event_type,
         jsonb_build_object(
           'type', event_type,
           'intake_call_id', call_row.id,
           'status', call_row.status,
           'outcome', call_row.outcome,
           'attempts', call_row.attempts,
           'external_ref', call_row.external_ref,
           'occurred_at', clock_timestamp()
         ) || extra
    from public.organizations o
   where o.id = call_row.org_id and o.webhook_url is not null;
end
$$;

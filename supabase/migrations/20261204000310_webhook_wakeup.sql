-- App webhooks are delivered at once: a new outbox row wakes the `webhooks` function through pg_net, as a due
-- call wakes the dispatcher (private.wake_dispatcher_on_insert), instead of waiting for the next scheduler tick
-- (every 10 s on pg_cron 1.5+, every minute before). The tick still wakes it for retries that fall due.
-- pg_net sends after commit, so the function finds the rows committed; a rolled-back change sends nothing.
-- One transaction often writes several events (queued, then dialing, ...) in separate statements; one wake-up
-- per transaction is enough, since a run claims every due delivery.
create function private.wake_webhooks_on_insert() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  if coalesce(current_setting('private.webhooks_woken_in', true), '') = txid_current()::text then
    return null;
  end if;
  if exists (select 1 from new_deliveries d where d.status = 'pending' and d.next_attempt_at <= now())
     and private.call_edge_function('webhooks', jsonb_build_object('reason', 'outbox')) is not null then
    perform set_config('private.webhooks_woken_in', txid_current()::text, true);
  end if;
  return null;
end
$$;
comment on function private.wake_webhooks_on_insert is
  'Wakes the webhooks function once per transaction that queues a due delivery (needs project_url and '
  'dispatch_secret in Vault, like every wake-up).';
revoke execute on function private.wake_webhooks_on_insert() from public;

create trigger wake_webhooks after insert on public.webhook_deliveries
  referencing new table as new_deliveries
  for each statement execute function private.wake_webhooks_on_insert();

-- The database wakes the dispatcher through pg_net: at once when a due call is inserted (by the API
-- or an external system), and on each scheduler tick with the claims it took or an attempt to reconcile. Nothing is sent
-- without the project URL and dispatch secret in Vault. A new app-webhook delivery wakes the webhooks function
-- the same way, once per transaction.
begin;
\ir _fixtures.psql
select plan(16);

create function tests.queued_requests() returns bigint language sql as $$ select count(*) from net.http_request_queue $$;
select tests.queued_requests() as before_any \gset

select tests.new_call('aaaaaaaa-aaaa-0000-0000-000000000000', '+12125550160');
select is(tests.queued_requests(), :before_any::bigint, 'without Vault secrets no wake-up is sent');

insert into vault.secrets (name, secret) values ('project_url', 'http://functions.test'), ('dispatch_secret', 's3cret')
on conflict (name) do update set secret = excluded.secret;
select tests.queued_requests() as before_insert \gset
insert into public.intake_calls (org_id, template_id, callee_phone)
select 'aaaaaaaa-aaaa-0000-0000-000000000000', 'aaaaaaaa-7e00-0000-0000-000000000000', '+1212555017' || g
  from generate_series(0, 4) g;
select is(tests.queued_requests(), :before_insert::bigint + 1, 'inserting five due calls in one statement wakes the dispatcher once');
select is((select url from net.http_request_queue order by id desc limit 1), 'http://functions.test/functions/v1/dispatch',
  'the wake-up goes to the dispatch function');
select is((select headers ->> 'Authorization' from net.http_request_queue order by id desc limit 1), 'Bearer s3cret',
  'authenticated with the dispatch secret');

select tests.queued_requests() as before_future \gset
insert into public.intake_calls (org_id, template_id, callee_phone, not_before)
values ('aaaaaaaa-aaaa-0000-0000-000000000000', 'aaaaaaaa-7e00-0000-0000-000000000000', '+12125550180', now() + interval '1 day');
select is(tests.queued_requests(), :before_future::bigint, 'a call not yet due wakes nothing');

-- A tick claims what is due (window open all day for this test) and hands the claims over.
update public.organizations set calling_window_start = '00:00', calling_window_end = '24:00';
select tests.queued_requests() as before_tick \gset
select (private.run_scheduler_tick() ->> 'claimed')::int as claimed \gset
select is(:claimed, 5, 'the tick claims the due calls, up to the org cap of 5');
select is(jsonb_array_length(convert_from((select body from net.http_request_queue order by id desc limit 1), 'UTF8')::jsonb -> 'claims'),
  :claimed, 'and posts every claim (id + claim token) to the dispatcher');
select is(tests.queued_requests(), :before_tick::bigint + 1, 'in one request');

-- A dispatcher died mid-origination and the call was then cancelled: no lease lapses (the call is final) and no
-- flag marks the attempt, yet the callee's phone may be ringing. The tick wakes a reconciler for it.
update public.intake_calls set not_before = now() + interval '1 day' where status = 'queued';
select tests.queued_requests() as before_idle \gset
select private.run_scheduler_tick();
select is(tests.queued_requests(), :before_idle::bigint, 'a tick with nothing to claim or reconcile wakes nothing');
select id as orphan, claim_token as orphan_claim from public.intake_calls where status = 'dispatching' limit 1 \gset
select public.start_call_attempt(:'orphan', :'orphan_claim');
select tests.as_user('aaaaaaaa-0000-0000-0000-000000000001');
select public.cancel_intake_call(:'orphan', 'changed plans');
select tests.as_postgres();
select private.run_scheduler_tick();
select is(tests.queued_requests(), :before_idle::bigint + 1,
  'an attempt in doubt whose call was cancelled wakes the dispatcher to reconcile it');

-- App webhooks: a due outbox row wakes the webhooks function at once, once per transaction. (This file is one
-- transaction; clearing the marker stands for a new one.)
create function tests.webhook_wakeups() returns bigint language sql as $$
  select count(*) from net.http_request_queue where url = 'http://functions.test/functions/v1/webhooks' $$;
update public.organizations set webhook_url = 'https://app.example.org/hooks' where id = 'aaaaaaaa-aaaa-0000-0000-000000000000';
select set_config('private.webhooks_woken_in', '', true);
select tests.webhook_wakeups() as before_hook \gset
select tests.new_call('aaaaaaaa-aaaa-0000-0000-000000000000', '+12125550190') as hooked \gset
select is(tests.webhook_wakeups(), :before_hook::bigint + 1, 'a call.queued delivery wakes the webhooks function');
select is((select headers ->> 'Authorization' from net.http_request_queue
            where url = 'http://functions.test/functions/v1/webhooks' order by id desc limit 1), 'Bearer s3cret',
  'authenticated with the dispatch secret');
select tests.as_user('aaaaaaaa-0000-0000-0000-000000000001');
select public.cancel_intake_call(:'hooked', 'changed plans');
select tests.as_postgres();
select is((select count(*) from public.webhook_deliveries where intake_call_id = :'hooked'), 2::bigint,
  'the cancellation queued a second delivery');
select is(tests.webhook_wakeups(), :before_hook::bigint + 1, 'but the same transaction wakes the function only once');
select set_config('private.webhooks_woken_in', '', true);
select tests.new_call('bbbbbbbb-bbbb-0000-0000-000000000000', '+4930555019');
insert into public.webhook_deliveries (org_id, event_type, payload, next_attempt_at)
values ('aaaaaaaa-aaaa-0000-0000-000000000000', 'call.queued', '{}', now() + interval '1 hour');
select is(tests.webhook_wakeups(), :before_hook::bigint + 1,
  'an org without a webhook URL queues nothing to wake for, nor does a delivery not yet due');

select ok(exists (select 1 from cron.job where jobname = 'prune-cron-history'), 'old cron run details are pruned by a cron job');

select * from finish();
rollback;

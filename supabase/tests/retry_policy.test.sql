-- Retries by outcome: each outcome its own delay and cap from the template (defaults otherwise), with
-- backoff, landing inside the calling window; exhausted attempts end the call with the last outcome.
begin;
\ir _fixtures.psql
select plan(13);

create function tests.attempt(call uuid, outcome public.call_outcome, at_time timestamptz default tests.open_hours())
returns void language plpgsql as $$
declare claim uuid; s uuid;
begin
  update public.intake_calls set next_attempt_at = now() - interval '1 second' where id = call;
  select c.claim_token into claim from public.claim_due_calls(100, at_time) c where c.intake_call_id = call;
  if claim is null then raise exception 'call % was not claimable', call; end if;
  s := (public.start_call_attempt(call, claim)).id;
  perform public.mark_session_dialing(s);
  perform public.record_session_outcome(s, outcome, 'carrier');
end $$;

-- Template A: no_answer every 30 min (max 3), busy every 5 min (max 2), backoff x2 (default).
select tests.new_call('aaaaaaaa-aaaa-0000-0000-000000000000', '+12125550150', 'America/Chicago') as call \gset
select tests.attempt(:'call', 'no_answer');
select is((select status::text from public.intake_calls where id = :'call'), 'queued', 'no answer: queued again');
select ok((select next_attempt_at from public.intake_calls where id = :'call')
          >= now() + interval '30 minutes' - interval '5 seconds', 'first no-answer retry after the template''s 30 minutes');
select ok(private.in_calling_window((select next_attempt_at from public.intake_calls where id = :'call'),
          'America/Chicago', '08:00', '21:00'), 'the retry lands inside the callee''s calling window');
select tests.attempt(:'call', 'no_answer');
select ok((select (payload ->> 'delay_minutes')::numeric from public.call_events
            where intake_call_id = :'call' and type = 'call.retry_scheduled' order by id desc limit 1) = 60,
  'second no-answer retry backs off to 60 minutes');
select tests.attempt(:'call', 'busy');
select is((select (payload ->> 'delay_minutes')::numeric from public.call_events
            where intake_call_id = :'call' and type = 'call.retry_scheduled' order by id desc limit 1), 5::numeric,
  'busy has its own delay (5 minutes)');
select tests.attempt(:'call', 'no_answer');
select is((select status::text || '/' || outcome || '/' || attempts from public.intake_calls where id = :'call'),
  'failed/no_answer/4', 'the third no-answer exhausts that outcome''s attempts: failed with the last outcome');
select is((select count(*) from public.webhook_deliveries where intake_call_id = :'call' and event_type = 'call.failed'), 0::bigint,
  'no webhook URL, no outbox rows');

-- A declined call is retried as busy, and counts against busy's cap (template A: 2).
select is(array(select private.retry_policy_key(o) from unnest(enum_range(null::public.call_outcome)) o
                 where private.retry_policy_key(o) is not null order by o),
  array['busy', 'no_answer', 'voicemail', 'busy', 'failed'], 'busy, no answer, voicemail, declined (as busy) and failed are retried');
select tests.new_call('aaaaaaaa-aaaa-0000-0000-000000000000', '+12125550151', 'America/Chicago') as dc \gset
select tests.attempt(:'dc', 'declined');
select is((select status::text || '/' || (payload ->> 'delay_minutes')::numeric::integer from public.intake_calls c
             join public.call_events e on e.intake_call_id = c.id and e.type = 'call.retry_scheduled'
            where c.id = :'dc'), 'queued/5', 'declined: retried after busy''s 5 minutes');
select tests.attempt(:'dc', 'busy');
select is((select status::text || '/' || outcome || '/' || attempts from public.intake_calls where id = :'dc'),
  'failed/busy/2', 'declined then busy spend busy''s two attempts: failed with the last outcome');

-- Defaults (template B has no policy): voicemail max 2.
select tests.new_call('bbbbbbbb-bbbb-0000-0000-000000000000', '+4930901840') as vm \gset
select tests.attempt(:'vm', 'voicemail');
select ok((select next_attempt_at from public.intake_calls where id = :'vm') >= now() + interval '239 minutes',
  'voicemail default delay: 4 hours (or the next window)');
select tests.attempt(:'vm', 'voicemail');
select is((select status::text || '/' || outcome from public.intake_calls where id = :'vm'), 'failed/voicemail',
  'default voicemail cap of 2 ends the call');

-- A retry that would land after the deadline expires the call instead.
select tests.new_call('bbbbbbbb-bbbb-0000-0000-000000000000', '+4930901841') as dl \gset
update public.intake_calls set deadline = now() + interval '10 minutes' where id = :'dl';
update public.organizations set calling_window_start = '00:00', calling_window_end = '24:00'
 where id = 'bbbbbbbb-bbbb-0000-0000-000000000000';
select tests.attempt(:'dl', 'no_answer', now());
select is((select status::text || '/' || outcome from public.intake_calls where id = :'dl'), 'expired/no_answer',
  'a retry past the deadline expires the call with the last outcome');

select * from finish();
rollback;

-- Retry scheduling: after an unsuccessful attempt, when (and whether) the call is tried again. The template's
-- retry_policy over private.default_retry_policy(), a delay per outcome grown by the backoff multiplier, landing
-- inside the callee's calling window (private.next_window_start); spent attempts fail the call, a deadline that
-- would pass expires it. Called by record_session_outcome (call state machine) when an attempt ends unsuccessfully.
create function private.retry_policy_for(template uuid) returns jsonb
language sql stable
set search_path = ''
as $$
  select d || coalesce((
    select jsonb_object_agg(k, case when jsonb_typeof(v) = 'object' and d ? k then (d -> k) || v else v end)
      from jsonb_each(t.retry_policy) as e(k, v)), '{}')
    from public.call_templates t, private.default_retry_policy() d
   where t.id = template
$$;
comment on function private.retry_policy_for is 'The template''s retry policy over the defaults, key by key.';

-- Which retry_policy entry an unsuccessful outcome falls under (a declined call is retried as busy); null for
-- outcomes that are never retried.
create function private.retry_policy_key(outcome public.call_outcome) returns text
language sql immutable
set search_path = ''
as $$
  select case outcome when 'busy' then 'busy' when 'declined' then 'busy' when 'no_answer' then 'no_answer'
                      when 'voicemail' then 'voicemail' when 'failed' then 'failed' end
$$;

-- After an unsuccessful attempt: the next try by the outcome's delay and backoff, inside the calling
-- window; or the end of the call when its attempts (per outcome or in all) are spent or the deadline would pass.
create function private.schedule_retry(call_id uuid, outcome public.call_outcome, session uuid)
returns public.intake_calls
language plpgsql
set search_path = ''
as $$
declare
  call_row public.intake_calls;
  org public.organizations;
  policy jsonb;
  policy_key text := coalesce(private.retry_policy_key(outcome), 'failed');
  same_outcome integer;
  delay interval;
  next_at timestamptz;
begin
  select * into call_row from public.intake_calls where id = call_id for update;
  select * into org from public.organizations where id = call_row.org_id;
  policy := private.retry_policy_for(call_row.template_id);
  select count(*) into same_outcome from public.call_sessions s
   where s.intake_call_id = call_id and s.ended_reason is not null
     and private.retry_policy_key(s.ended_reason) = policy_key;
  if call_row.cancel_requested_at is not null then
    return private.transition_call(call_id, 'cancelled', 'database', 'call.cancelled', 'cancelled', '{}', session);
  end if;
  if same_outcome >= coalesce((policy -> policy_key ->> 'max_attempts')::integer, 1)
     or call_row.attempts >= coalesce((policy ->> 'max_attempts')::integer, 1) then
    return private.transition_call(call_id, 'failed', 'scheduler', 'call.attempts_exhausted', outcome,
      jsonb_build_object('attempts', call_row.attempts, 'last_outcome', outcome), session);
  end if;
  delay := make_interval(mins => ((policy -> policy_key ->> 'delay_minutes')::numeric
           * power(coalesce((policy ->> 'backoff_multiplier')::numeric, 1), same_outcome - 1))::integer);
  next_at := private.next_window_start(now() + delay, coalesce(call_row.callee_timezone, org.timezone),
                                       org.calling_window_start, org.calling_window_end);
  if call_row.deadline is not null and next_at >= call_row.deadline then
    return private.transition_call(call_id, 'expired', 'scheduler', 'call.expired', outcome,
      jsonb_build_object('would_retry_at', next_at), session);
  end if;
  call_row := private.transition_call(call_id, 'queued', 'scheduler', 'call.retry_scheduled', null,
    jsonb_build_object('outcome', outcome, 'next_attempt_at', next_at, 'delay_minutes', extract(epoch from delay) / 60),
    session);
  update public.intake_calls set next_attempt_at = next_at where id = call_id returning * into call_row;
  perform private.enqueue_webhook(call_row, 'call.retry_scheduled',
    jsonb_build_object('last_outcome', outcome, 'next_attempt_at', next_at));
  return call_row;
end
$$;

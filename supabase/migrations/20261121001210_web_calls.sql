-- Web calls: the same agent and the same records as a phone call, but the callee joins the LiveKit room from a
-- browser instead of being dialled. The call and its one attempt are created together, claimed by the request
-- that creates them (never scheduled); the web-calls function then creates the agent dispatch and marks the
-- attempt dialing (waiting for the browser), or abandons it when LiveKit refused.

create function public.create_web_call(call jsonb) returns jsonb
language plpgsql security definer
set search_path = ''
as $$
declare
  target_org uuid := nullif(call ->> 'org_id', '')::uuid;
  claim uuid := gen_random_uuid();
  lease integer := (select claim_lease_seconds from private.platform_settings);
  call_row public.intake_calls;
  session_row public.call_sessions;
begin
  perform private.require_org_access(target_org);
  insert into public.intake_calls (
    org_id, template_id, callee_phone, callee_timezone, callee_name, patient_id, external_ref, variables,
    greeting_override, carrier, created_by)
  values (
    target_org, (call ->> 'template_id')::uuid, call ->> 'callee_phone', call ->> 'callee_timezone',
    call ->> 'callee_name', (call ->> 'patient_id')::uuid, call ->> 'external_ref',
    coalesce(call -> 'variables', '{}'), call ->> 'greeting_override', 'web', auth.uid())
  returning * into call_row;
  if call_row.status <> 'queued' then
    -- The number is on the org's do-not-call list (the insert trigger ended the call): create nothing.
    perform private.fail(422, 'do_not_call', 'this person asked not to be contacted by the organization');
  end if;
  update public.intake_calls
     set claim_token = claim, lease_expires_at = now() + make_interval(secs => lease)
   where id = call_row.id;
  perform private.transition_call(call_row.id, 'dispatching', 'api', 'call.claimed', null,
    jsonb_build_object('web', true));
  session_row := public.start_call_attempt(call_row.id, claim);
  return jsonb_build_object(
    'intake_call_id', call_row.id, 'session_id', session_row.id, 'org_id', call_row.org_id,
    'room_name', session_row.room_name, 'attempt_number', session_row.attempt_number, 'claim_token', claim,
    'max_duration_seconds', (select t.max_duration_seconds from public.call_templates t where t.id = call_row.template_id));
end
$$;
comment on function public.create_web_call is
  'Creates a web call (carrier web) and its attempt at once for an org the caller belongs to; it is never scheduled or dialled.';

-- LiveKit refused the agent dispatch: the attempt never started and the call ends failed (a web call is not
-- retried: the browser that asked for it got an error).
create function public.abandon_web_call(call_id uuid, claim uuid, reason text) returns public.intake_calls
language plpgsql security definer
set search_path = ''
as $$
declare
  call_row public.intake_calls;
begin
  call_row := private.lock_claimed_call(call_id, claim);
  if call_row.carrier <> 'web' then
    perform private.fail(409, 'claim_lost', 'the web call is not held by this request');
  end if;
  perform private.end_undialed_attempts(call_id, reason);
  return private.transition_call(call_id, 'failed', 'dispatcher', 'call.failed', 'failed',
    jsonb_build_object('reason', reason));
end
$$;

revoke execute on function public.create_web_call(jsonb), public.abandon_web_call(uuid, uuid, text)
from public, anon, authenticated;
grant execute on function public.create_web_call(jsonb) to authenticated, service_role;
grant execute on function public.abandon_web_call(uuid, uuid, text) to service_role;

-- The agent worker's credential. The dispatcher mints, per attempt, a short-lived JWT with
-- role = call_agent and call_session_id = <session>; PostgREST switches to this role and the
-- policies and functions below let it reach that one session, its call, template and org, and nothing else.
do $$
begin
  if not exists (select from pg_roles where rolname = 'call_agent') then
    create role call_agent nologin noinherit;
  end if;
end
$$;
grant call_agent to authenticator;
grant usage on schema public, private, extensions, auth to call_agent; -- as every Supabase API role has
grant execute on function auth.uid(), auth.role(), auth.jwt() to call_agent;

create function private.agent_session_id() returns uuid
language sql stable
set search_path = ''
as $$
  select case when auth.role() = 'call_agent' then nullif(auth.jwt() ->> 'call_session_id', '')::uuid end
$$;
comment on function private.agent_session_id is 'The one call session the current agent credential may touch (null for anyone else).';

create function private.agent_call_id() returns uuid
language sql stable security definer
set search_path = ''
as $$ select s.intake_call_id from public.call_sessions s where s.id = private.agent_session_id() $$;

grant select on public.call_sessions, public.intake_calls, public.call_templates, public.organizations,
  public.transcript_turns, public.phone_system_classifications to call_agent;
grant insert (org_id, session_id, sequence, speaker, text, started_at, ended_at) on public.transcript_turns to call_agent;

create policy "agent reads its session" on public.call_sessions
  for select to call_agent using (id = (select private.agent_session_id()));
create policy "agent reads its call" on public.intake_calls
  for select to call_agent using (id = (select private.agent_call_id()));
create policy "agent reads its call's template" on public.call_templates
  for select to call_agent using (id = (select c.template_id from public.intake_calls c where c.id = (select private.agent_call_id())));
create policy "agent reads its call's organization" on public.organizations
  for select to call_agent using (id = (select c.org_id from public.intake_calls c where c.id = (select private.agent_call_id())));
create policy "agent reads its session's transcript" on public.transcript_turns
  for select to call_agent using (session_id = (select private.agent_session_id()));
create policy "agent writes its session's transcript" on public.transcript_turns
  for insert to call_agent with check (
    session_id = (select private.agent_session_id())
    and org_id = (select s.org_id from public.call_sessions s where s.id = (select private.agent_session_id())));
create policy "agent reads the classification of the number it calls" on public.phone_system_classifications
  for select to call_agent using (
    (org_id, phone) = (select c.org_id, c.callee_phone from public.intake_calls c where c.id = (select private.agent_call_id())));

create function private.require_agent_session() returns uuid
language plpgsql stable
set search_path = ''
as $$
declare
  session uuid := private.agent_session_id();
begin
  if session is null then
    perform private.fail(403, 'not_an_agent', 'this operation needs a call-scoped agent credential');
  end if;
  return session;
end
$$;

-- Validates one answer against its field definition. Returns null when valid, else what is wrong, in
-- words the model can act on.
create function private.field_error(field jsonb, value jsonb) returns text
language plpgsql immutable
set search_path = ''
as $$
declare
  kind text := field ->> 'type';
  s text := value #>> '{}';
begin
  if value is null or value = 'null'::jsonb or coalesce(s, '') = '' then
    return case when coalesce((field ->> 'required')::boolean, false)
                then format('%s is required', field ->> 'name') end;
  end if;
  if kind = 'date' then
    if s !~ '^\d{4}-\d{2}-\d{2}$' then
      return format('%s must be a date written YYYY-MM-DD, got "%s"', field ->> 'name', s);
    end if;
    begin
      perform s::date;
    exception when others then
      return format('%s: %s is not a real calendar date', field ->> 'name', s);
    end;
    if s::date > current_date then
      return format('%s cannot be in the future', field ->> 'name');
    end if;
  elsif kind = 'number' then
    if jsonb_typeof(value) <> 'number' and s !~ '^-?\d+(\.\d+)?$' then
      return format('%s must be a number, got "%s"', field ->> 'name', s);
    end if;
    if field ? 'min' and s::numeric < (field ->> 'min')::numeric then
      return format('%s must be at least %s', field ->> 'name', field ->> 'min');
    end if;
    if field ? 'max' and s::numeric > (field ->> 'max')::numeric then
      return format('%s must be at most %s', field ->> 'name', field ->> 'max');
    end if;
  elsif kind = 'boolean' then
    if jsonb_typeof(value) <> 'boolean' then
      return format('%s must be true or false', field ->> 'name');
    end if;
  elsif kind = 'choice' then
    if not (field -> 'options') ? s then
      return format('%s must be one of: %s', field ->> 'name',
        (select string_agg(o, ', ') from jsonb_array_elements_text(field -> 'options') o));
    end if;
  elsif kind = 'phone' then
    -- The column rule, not a copy of it: the cast raises check_violation when s is not E.164. Phone answers
    -- are rare (one per phone field and call), so the subtransaction this block costs does not matter.
    begin
      perform s::public.e164;
    exception when check_violation then
      return format('%s must be a phone number in international format (+15551234567)', field ->> 'name');
    end;
  end if;
  if field ? 'pattern' and s !~ (field ->> 'pattern') then
    return format('%s does not have the expected format', field ->> 'name');
  end if;
  return null;
end
$$;

-- Agent operations ------------------------------------------------------------------------------------
create function public.agent_call_context() returns jsonb
language plpgsql security definer
set search_path = ''
as $$
declare
  session uuid := private.require_agent_session();
begin
  return (
    select jsonb_build_object(
      'session', jsonb_build_object('id', s.id, 'attempt_number', s.attempt_number, 'carrier', s.carrier,
                                    'room_name', s.room_name, 'status', s.status),
      'call', jsonb_build_object('id', c.id, 'callee_phone', c.callee_phone, 'callee_name', c.callee_name,
                                 'callee_timezone', coalesce(c.callee_timezone, o.timezone), 'variables', c.variables,
                                 'greeting_override', c.greeting_override, 'results', c.results,
                                 'is_simulation', c.is_simulation),
      'template', jsonb_build_object('id', t.id, 'name', t.name, 'purpose', t.purpose,
                                     'langfuse_prompt_name', t.langfuse_prompt_name,
                                     'langfuse_prompt_label', t.langfuse_prompt_label,
                                     'fallback_prompt', t.fallback_prompt, 'greeting', t.greeting, 'fields', t.fields,
                                     'voicemail_policy', t.voicemail_policy, 'voicemail_message', t.voicemail_message,
                                     'max_duration_seconds', t.max_duration_seconds),
      'organization', jsonb_build_object('id', o.id, 'name', o.name, 'escalation_phone', o.escalation_phone,
                                         'timezone', o.timezone),
      'classification', (select jsonb_build_object('classification', p.classification, 'ivr_steps', p.ivr_steps,
                                                   'confidence', p.confidence)
                           from public.phone_system_classifications p
                          where p.org_id = c.org_id and p.phone = c.callee_phone and p.expires_at > now()))
      from public.call_sessions s
      join public.intake_calls c on c.id = s.intake_call_id
      join public.call_templates t on t.id = c.template_id
      join public.organizations o on o.id = c.org_id
     where s.id = session);
end
$$;
comment on function public.agent_call_context is 'Everything the agent needs for its call, fetched once before the callee answers.';

create function public.agent_mark_answered(answered_by public.answered_by default 'human', dedupe_key text default null) returns boolean
language sql security definer
set search_path = ''
as $$
  select public.record_session_status(private.require_agent_session(), 'answered', 'agent', dedupe_key, '{}', answered_by)
$$;

create function public.agent_record_field(field_name text, value jsonb) returns jsonb
language plpgsql security definer
set search_path = ''
as $$
declare
  session uuid := private.require_agent_session();
  call_row public.intake_calls;
  field jsonb;
  problem text;
begin
  select c.* into call_row from public.intake_calls c where c.id = private.agent_call_id() for update;
  if private.is_final(call_row.status) then
    perform private.fail(409, 'call_already_final', 'the call has ended');
  end if;
  select f into field from public.call_templates t, jsonb_array_elements(t.fields) f
   where t.id = call_row.template_id and f ->> 'name' = field_name;
  problem := case when field is null then format('there is no field named %s', field_name)
                  else private.field_error(field, value) end;
  if problem is not null then
    perform private.record_event(call_row.id, session, 'agent', 'field.rejected', null, null, false,
      jsonb_build_object('field', field_name, 'error', problem));
    return jsonb_build_object('ok', false, 'error', problem);
  end if;
  update public.intake_calls set results = results || jsonb_build_object(field_name, value), updated_at = now()
   where id = call_row.id;
  perform private.record_event(call_row.id, session, 'agent', 'field.recorded', null, null, true,
    jsonb_build_object('field', field_name));
  return jsonb_build_object('ok', true);
end
$$;
comment on function public.agent_record_field is
  'Stores one answer after validating it against the template; a wrong value is refused with a reason the model can act on.';

create function public.agent_escalate(level public.escalation_level, reason text, transferred_to text default null)
returns uuid
language plpgsql security definer
set search_path = ''
as $$
declare
  session uuid := private.require_agent_session();
  call_row public.intake_calls;
  escalation uuid;
begin
  select * into call_row from public.intake_calls where id = private.agent_call_id();
  insert into public.escalations (org_id, intake_call_id, session_id, level, reason, transferred_to, source)
  values (call_row.org_id, call_row.id, session, level, reason, transferred_to, 'agent')
  returning id into escalation;
  perform private.record_event(call_row.id, session, 'agent', 'call.escalated', null, null, true,
    jsonb_build_object('level', level, 'escalation_id', escalation));
  perform private.enqueue_webhook(call_row, 'call.escalated',
    jsonb_build_object('level', level, 'escalation_id', escalation, 'session_id', session));
  return escalation;
end
$$;

create function public.agent_end_call(outcome public.call_outcome, dedupe_key text default null) returns boolean
language sql security definer
set search_path = ''
as $$ select public.record_session_outcome(private.require_agent_session(), outcome, 'agent', dedupe_key) $$;
comment on function public.agent_end_call is 'Ends the agent''s attempt with an outcome; opted_out also adds the number to do-not-call.';

create function public.agent_report_latency(figures jsonb) returns void
language sql security definer
set search_path = ''
as $$
  update public.call_sessions set latency = latency || figures where id = private.require_agent_session()
$$;

create function public.agent_save_classification(
  classification public.phone_system_type, ivr_steps jsonb default '[]', confidence numeric default 1
) returns void
language plpgsql security definer
set search_path = ''
as $$
declare
  session uuid := private.require_agent_session();
  call_row public.intake_calls;
begin
  select * into call_row from public.intake_calls where id = private.agent_call_id();
  insert into public.phone_system_classifications (org_id, phone, classification, ivr_steps, confidence, session_id)
  values (call_row.org_id, call_row.callee_phone, classification, ivr_steps, confidence, session)
  on conflict (org_id, phone) do update
     set classification = excluded.classification, ivr_steps = excluded.ivr_steps, confidence = excluded.confidence,
         session_id = excluded.session_id, classified_at = now(), expires_at = now() + interval '30 days';
  perform private.record_event(call_row.id, session, 'agent', 'phone_system.classified', null, null, true,
    jsonb_build_object('classification', classification));
end
$$;

revoke execute on function public.agent_call_context(), public.agent_mark_answered(public.answered_by, text),
  public.agent_record_field(text, jsonb), public.agent_escalate(public.escalation_level, text, text),
  public.agent_end_call(public.call_outcome, text), public.agent_report_latency(jsonb),
  public.agent_save_classification(public.phone_system_type, jsonb, numeric)
from public, anon, authenticated;
grant execute on function public.agent_call_context(), public.agent_mark_answered(public.answered_by, text),
  public.agent_record_field(text, jsonb), public.agent_escalate(public.escalation_level, text, text),
  public.agent_end_call(public.call_outcome, text), public.agent_report_latency(jsonb),
  public.agent_save_classification(public.phone_system_type, jsonb, numeric)
to call_agent, service_role;
grant execute on function private.agent_session_id(), private.agent_call_id(), private.require_agent_session(),
  private.fail(integer, text, text, jsonb) to call_agent;

-- Local demo data (applied by `npm start` and `supabase db reset`; never in production).
-- A demo clinic, its owner, an intake template and an API key whose plain value `npm start`
-- prints: ik_demo_local_development_key_do_not_use (only its hash is stored, as for every key).
insert into auth.users (id, email)
values ('00000000-0000-4000-8000-00000000de30', 'owner@demo-clinic.example')
on conflict do nothing;

insert into public.organizations (id, name, slug, timezone, escalation_phone, caller_id)
values ('00000000-0000-4000-8000-0000000000de', 'Demo Clinic', 'demo-clinic', 'America/New_York',
        '+12025550143', '+12025550100')
on conflict do nothing;

insert into public.organization_members (org_id, user_id, role)
values ('00000000-0000-4000-8000-0000000000de', '00000000-0000-4000-8000-00000000de30', 'owner')
on conflict do nothing;

insert into public.call_templates (id, org_id, name, purpose, langfuse_prompt_name, fallback_prompt, greeting, fields,
                                   voicemail_policy, voicemail_message)
values ('00000000-0000-4000-8000-00000000007e', '00000000-0000-4000-8000-0000000000de', 'Patient intake', 'intake',
        'patient-intake',
        'You are calling on behalf of {{organization_name}} to complete a short intake before the patient''s visit. '
        || 'Collect each field, confirm dates of birth and medication names by reading them back, and keep it brief.',
        'Hello, this is the virtual assistant of {{organization_name}}. Am I speaking with {{callee_name}}?',
        '[{"name":"date_of_birth","type":"date","required":true,"confirm":true,"description":"Patient date of birth"},
          {"name":"visit_reason","type":"choice","required":true,"options":["checkup","follow_up","new_issue"],
           "description":"Why the patient is coming in"},
          {"name":"medications","type":"text","required":true,"confirm":true,
           "description":"Medications the patient takes now"},
          {"name":"pain_level","type":"number","required":true,"min":0,"max":10,"description":"Pain today from 0 to 10"}]',
        'leave_message',
        'Hello, this is {{organization_name}} calling about your upcoming visit. We will try again later.')
on conflict do nothing;

insert into public.api_keys (org_id, name, prefix, key_hash)
values ('00000000-0000-4000-8000-0000000000de', 'Demo key (local only)', 'ik_demo_lo',
        extensions.digest('ik_demo_local_development_key_do_not_use', 'sha256'))
on conflict do nothing;

-- Where pg_cron and the insert trigger send their wake-ups in the local stack (Vault on Supabase).
insert into vault.secrets (name, secret)
values ('project_url', 'http://127.0.0.1:54321'), ('dispatch_secret', 'local-dispatch-secret')
on conflict (name) do nothing;

-- Who may execute what. Supabase grants EXECUTE on every new public function to anon and
-- authenticated by default; this migration narrows that to one audience per operation.
revoke execute on all functions in schema public from public, anon, authenticated;
revoke execute on all functions in schema private from public, anon, authenticated;
grant execute on all functions in schema private to service_role;

-- App users and API-key callers (org membership checked inside each function).
grant execute on function
  public.create_organization(text, text, text),
  public.create_api_key(uuid, text),
  public.revoke_api_key(uuid),
  public.create_intake_call(jsonb, text),
  public.cancel_intake_call(uuid, text)
to authenticated;

-- Policies and security-definer helpers evaluate these as the caller.
grant execute on function private.caller_org_ids(), private.caller_admin_org_ids(),
  private.require_org_access(uuid), private.require_org_admin(uuid), private.fail(integer, text, text, jsonb),
  private.is_valid_timezone(text)
to authenticated;

-- The dispatcher, webhooks and scheduler run as service_role.
grant execute on all functions in schema public to service_role;

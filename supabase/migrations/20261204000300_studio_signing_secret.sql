-- Owners read the webhook signing secret from Studio or psql, as the README documents:
-- `select public.webhook_signing_secret('<org id>')`. Such a session has no auth.uid(), so the org-role check
-- alone refused it. A superuser or the database's owner (Studio and psql connect as `postgres`) holds every
-- row already, so it may read and rotate the secret too. Everything that arrives through the API switches
-- role (PostgREST and the functions `set role` anon/authenticated/service_role), none of which is a superuser
-- or the owner, so there the org-role check still decides: members who are not owners/admins, anon and
-- service_role stay refused.

create function private.is_database_owner_session() returns boolean
language sql stable
set search_path = ''
as $$
  -- Inside a security definer function current_user is the function's owner; the invoker is the role the
  -- session switched to (the `role` setting), else the one it logged in as.
  select exists (select 1 from pg_catalog.pg_roles r
                  where r.rolname = coalesce(nullif(current_setting('role'), 'none'), session_user)
                    and (r.rolsuper or r.oid = (select d.datdba from pg_catalog.pg_database d
                                                 where d.datname = pg_catalog.current_database())))
$$;
comment on function private.is_database_owner_session is
  'True when the invoking role (the one set with SET ROLE, else the login role) is a superuser or the database '
  'owner: Studio and psql as postgres, never a role the API switches to (anon, authenticated, service_role).';
revoke execute on function private.is_database_owner_session() from public;

create or replace function public.webhook_signing_secret(target_org uuid) returns text
language plpgsql security definer
set search_path = ''
as $$
begin
  if not private.is_database_owner_session() then
    perform private.require_org_admin(target_org);
  end if;
  if not exists (select 1 from public.organizations o where o.id = target_org) then
    perform private.fail(404, 'organization_not_found', 'organization not found');
  end if;
  return (select private.standard_webhooks_secret(s.webhook_signing_secret)
            from private.organization_secrets s where s.org_id = target_org);
end
$$;
comment on function public.webhook_signing_secret is
  'The org''s webhook signing secret (whsec_...), for its app to verify Webhook-Signature; owners and admins '
  'only, or the database owner from Studio/psql.';

create or replace function public.rotate_webhook_signing_secret(target_org uuid, overlap_hours integer default 24)
returns text
language plpgsql security definer
set search_path = ''
as $$
declare
  fresh text;
begin
  if not private.is_database_owner_session() then
    perform private.require_org_admin(target_org);
  end if;
  if overlap_hours is null or overlap_hours < 0 or overlap_hours > 168 then
    perform private.fail(400, 'invalid_overlap', 'overlap_hours must be between 0 and 168',
                         jsonb_build_object('overlap_hours', overlap_hours));
  end if;
  update private.organization_secrets s
     set previous_webhook_signing_secret = case when overlap_hours > 0 then s.webhook_signing_secret end,
         previous_secret_expires_at = case when overlap_hours > 0 then now() + make_interval(hours => overlap_hours) end,
         webhook_signing_secret = default
   where s.org_id = target_org
  returning s.webhook_signing_secret into fresh;
  if fresh is null then
    perform private.fail(404, 'organization_not_found', 'organization not found');
  end if;
  return private.standard_webhooks_secret(fresh);
end
$$;
comment on function public.rotate_webhook_signing_secret is
  'Replaces the org''s webhook signing secret and returns the new one (whsec_...). For overlap_hours (default 24, '
  '0 to 168) deliveries are signed with both the new and the old secret; with 0 the old one stops at once (a '
  'leaked secret). Owners and admins only, or the database owner from Studio/psql.';

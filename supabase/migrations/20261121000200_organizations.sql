-- Organisations (tenants), their members (Supabase Auth users with a role) and their API keys.
create table public.organizations (
  id uuid primary key default gen_random_uuid(),
  name text not null check (length(name) between 1 and 200),
  slug text not null unique check (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
  timezone text not null default 'America/New_York' check (private.is_valid_timezone(timezone)),
  calling_window_start time not null default '08:00',
  calling_window_end time not null default '21:00',
  max_concurrent_calls integer not null default 10 check (max_concurrent_calls >= 0),
  escalation_phone public.e164,
  caller_id public.e164,
  livekit_sip_trunk_id text,
  webhook_url text check (webhook_url ~ '^https?://'),
  created_at timestamptz not null default now(),
  constraint calling_window_order check (calling_window_start < calling_window_end)
);
comment on table public.organizations is 'Tenants: clinics and other organisations that place calls.';
comment on column public.organizations.timezone is
  'Default IANA zone of callees whose own zone is unknown; calling windows are applied in the callee''s zone.';
comment on column public.organizations.calling_window_start is 'Local time (callee''s zone) from which calls may start.';
comment on column public.organizations.calling_window_end is 'Local time (callee''s zone) at which calls must no longer start.';
comment on column public.organizations.max_concurrent_calls is 'Cap on this org''s calls being dispatched or live at once.';
comment on column public.organizations.escalation_phone is 'E.164 number a live call is transferred to when it escalates to a human.';
comment on column public.organizations.caller_id is 'E.164 number shown to callees (Twilio from / LiveKit trunk number).';
comment on column public.organizations.livekit_sip_trunk_id is 'LiveKit outbound SIP trunk (ST_...) used for this org''s calls.';
comment on column public.organizations.webhook_url is 'Where signed app webhooks (call events) are POSTed.';

-- Secrets an org has that members must not read back through the API.
create table private.organization_secrets (
  org_id uuid primary key references public.organizations (id) on delete cascade,
  webhook_signing_secret text not null default encode(extensions.gen_random_bytes(32), 'hex')
);
comment on table private.organization_secrets is 'Per-org webhook signing secret (HMAC-SHA256), never exposed through the API.';

create function private.create_organization_secrets() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  insert into private.organization_secrets (org_id) values (new.id) on conflict do nothing;
  return new;
end
$$;
create trigger create_secrets after insert on public.organizations
  for each row execute function private.create_organization_secrets();

create type public.member_role as enum ('owner', 'admin', 'member');

create table public.organization_members (
  org_id uuid not null references public.organizations (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  role public.member_role not null default 'member',
  created_at timestamptz not null default now(),
  primary key (org_id, user_id)
);
create index organization_members_user on public.organization_members (user_id);
comment on table public.organization_members is 'Supabase Auth users who belong to an organisation, with their role.';

create table public.api_keys (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references public.organizations (id) on delete cascade,
  name text not null check (length(name) between 1 and 100),
  prefix text not null,
  key_hash bytea not null unique,
  created_by uuid references auth.users (id) on delete set null,
  created_at timestamptz not null default now(),
  last_used_at timestamptz,
  revoked_at timestamptz
);
create index api_keys_org on public.api_keys (org_id);
comment on table public.api_keys is
  'Server-to-server credentials of an org. Only a SHA-256 hash is stored; the key is shown once at creation.';
comment on column public.api_keys.prefix is 'The first characters of the key, to recognise it in lists.';
comment on column public.api_keys.revoked_at is 'Set when revoked; a revoked key authenticates nothing.';

-- Who is calling: an Auth user's memberships, or the org of the API key the edge function
-- authenticated (claim api_key_id; the key must still exist and not be revoked).
create function private.caller_org_ids() returns setof uuid
language sql stable security definer
set search_path = ''
as $$
  select m.org_id from public.organization_members m where m.user_id = auth.uid()
  union
  select k.org_id from public.api_keys k
   where k.id = nullif(auth.jwt() ->> 'api_key_id', '')::uuid and k.revoked_at is null
$$;
comment on function private.caller_org_ids is 'Organisations the current caller (user JWT or API key claims) acts for.';

create function private.caller_admin_org_ids() returns setof uuid
language sql stable security definer
set search_path = ''
as $$
  select m.org_id from public.organization_members m
   where m.user_id = auth.uid() and m.role in ('owner', 'admin')
$$;
comment on function private.caller_admin_org_ids is 'Organisations the current user administers (owner or admin).';

create function private.require_org_access(target_org uuid) returns void
language plpgsql stable
set search_path = ''
as $$
begin
  if target_org is null or not exists (select 1 from private.caller_org_ids() o where o = target_org) then
    perform private.fail(404, 'organization_not_found', 'organization not found or not accessible');
  end if;
end
$$;

create function private.require_org_admin(target_org uuid) returns void
language plpgsql stable
set search_path = ''
as $$
begin
  if not exists (select 1 from private.caller_admin_org_ids() o where o = target_org) then
    perform private.fail(403, 'forbidden', 'only owners and admins of the organization may do this');
  end if;
end
$$;

alter table public.organizations enable row level security;
alter table public.organization_members enable row level security;
alter table public.api_keys enable row level security;

revoke all on public.organizations, public.organization_members, public.api_keys from anon, authenticated;
grant select on public.organizations, public.organization_members to authenticated;
grant update (name, timezone, calling_window_start, calling_window_end, max_concurrent_calls,
  escalation_phone, caller_id, livekit_sip_trunk_id, webhook_url) on public.organizations to authenticated;
grant insert, update (role), delete on public.organization_members to authenticated;
grant select (id, org_id, name, prefix, created_by, created_at, last_used_at, revoked_at) on public.api_keys
  to authenticated;

create policy "members read their organizations" on public.organizations
  for select to authenticated using (id in (select private.caller_org_ids()));
create policy "admins update their organizations" on public.organizations
  for update to authenticated using (id in (select private.caller_admin_org_ids()))
  with check (id in (select private.caller_admin_org_ids()));

create policy "members read their org's members" on public.organization_members
  for select to authenticated using (org_id in (select private.caller_org_ids()));
create policy "admins add members" on public.organization_members
  for insert to authenticated with check (org_id in (select private.caller_admin_org_ids()));
create policy "admins change members" on public.organization_members
  for update to authenticated using (org_id in (select private.caller_admin_org_ids()))
  with check (org_id in (select private.caller_admin_org_ids()));
create policy "admins remove members" on public.organization_members
  for delete to authenticated using (org_id in (select private.caller_admin_org_ids()));

create policy "admins read their org's api keys" on public.api_keys
  for select to authenticated using (org_id in (select private.caller_admin_org_ids()));

-- Business operations on keys ------------------------------------------------------------------------
create function public.create_organization(org_name text, org_slug text, org_timezone text default 'America/New_York')
returns public.organizations
language plpgsql security definer
set search_path = ''
as $$
declare
  org public.organizations;
begin
  if auth.uid() is null then
    perform private.fail(401, 'unauthenticated', 'sign in to create an organization');
  end if;
  insert into public.organizations (name, slug, timezone) values (org_name, org_slug, org_timezone)
  returning * into org;
  insert into public.organization_members (org_id, user_id, role) values (org.id, auth.uid(), 'owner');
  return org;
end
$$;
comment on function public.create_organization is 'Creates an organisation with the calling user as its owner.';

create function private.hash_api_key(api_key text) returns bytea
language sql immutable
set search_path = ''
as $$ select extensions.digest(api_key, 'sha256') $$;

-- Keys are 32 random bytes, base64url, prefixed so they are recognisable (and scannable) in leaks.
create function public.create_api_key(target_org uuid, key_name text)
returns table (id uuid, api_key text, prefix text)
language plpgsql security definer
set search_path = ''
as $$
declare
  plain text := 'ik_' || translate(encode(extensions.gen_random_bytes(32), 'base64'), '+/=', '-_');
  row_id uuid;
begin
  perform private.require_org_admin(target_org);
  insert into public.api_keys (org_id, name, prefix, key_hash, created_by)
  values (target_org, key_name, left(plain, 10), private.hash_api_key(plain), auth.uid())
  returning api_keys.id into row_id;
  return query select row_id, plain, left(plain, 10);
end
$$;
comment on function public.create_api_key is 'Creates an API key for an org (admins only); the plain key is returned once.';

create function public.revoke_api_key(key_id uuid) returns void
language plpgsql security definer
set search_path = ''
as $$
declare
  key_org uuid;
begin
  select org_id into key_org from public.api_keys where id = key_id;
  if key_org is null then
    perform private.fail(404, 'api_key_not_found', 'api key not found');
  end if;
  perform private.require_org_admin(key_org);
  update public.api_keys set revoked_at = coalesce(revoked_at, now()) where id = key_id;
end
$$;

-- Used by the edge functions (as service_role) to turn a presented key into claims.
create function public.authenticate_api_key(api_key text)
returns table (api_key_id uuid, org_id uuid)
language sql security definer
set search_path = ''
as $$
  update public.api_keys k set last_used_at = now()
   where k.key_hash = private.hash_api_key(api_key) and k.revoked_at is null
  returning k.id, k.org_id
$$;
comment on function public.authenticate_api_key is
  'Resolves a presented API key to its key id and org (service_role only); records last use.';
revoke all on function public.authenticate_api_key(text) from public, anon, authenticated;
grant execute on function public.authenticate_api_key(text) to service_role;
revoke all on function public.create_organization(text, text, text), public.create_api_key(uuid, text),
  public.revoke_api_key(uuid) from public, anon;

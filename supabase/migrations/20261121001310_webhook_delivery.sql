-- Delivering the outbox (webhook_deliveries) to each org's app: the rules the `webhooks` edge function
-- follows. A delivery is claimed under a lease (FOR UPDATE SKIP LOCKED), so two deliverers never send the
-- same row at once; each claim is one attempt; the result is recorded only by the claim's holder. A failed
-- attempt is retried with exponential backoff (1 min, then x3 each time, at most 12 h: the 8th attempt comes
-- ~18 h after the first) until platform_settings.webhook_max_attempts, then the delivery is dead. Retries send
-- the same body under the same Webhook-Id (the delivery id), which receivers deduplicate on. Deliveries are
-- not ordered: a receiver compares `timestamp` (when the event happened) or reads the call's current state.
--
-- Signing follows Standard Webhooks (https://www.standardwebhooks.com): the org's secret is presented as
-- `whsec_<base64 of the key bytes>` and signs "<id>.<unix timestamp>.<body>" with HMAC-SHA256. A secret is
-- rotated without a gap: for an overlap after rotate_webhook_signing_secret, every request carries two
-- signatures (`v1,<new> v1,<old>`, which Standard Webhooks verifiers accept), so the app can switch to the
-- new secret at any moment of the overlap.

alter table public.webhook_deliveries add column claim_token uuid;
comment on column public.webhook_deliveries.claim_token is
  'Identifies the current attempt''s claim: only its holder may record the result.';
comment on column public.webhook_deliveries.attempts is 'Attempts made so far (a claim counts as one, even if its deliverer died).';
comment on column public.webhook_deliveries.locked_until is 'While an attempt is in flight: when its claim lapses.';

-- The secret is the key's bytes in hex (32 random bytes by default); Standard Webhooks wants 24 to 64 bytes.
alter table private.organization_secrets add constraint webhook_signing_secret_is_key
  check (webhook_signing_secret ~ '^([0-9a-f]{2}){24,64}$');

-- The secret a rotation replaced, still signing until it expires.
alter table private.organization_secrets
  add column previous_webhook_signing_secret text
    constraint previous_webhook_signing_secret_is_key check (previous_webhook_signing_secret ~ '^([0-9a-f]{2}){24,64}$'),
  add column previous_secret_expires_at timestamptz,
  add constraint previous_secret_expires check ((previous_webhook_signing_secret is null) = (previous_secret_expires_at is null));

-- The secret as Standard Webhooks libraries take it.
create function private.standard_webhooks_secret(hex_key text) returns text
language sql immutable
set search_path = ''
as $$ select 'whsec_' || replace(encode(decode(hex_key, 'hex'), 'base64'), E'\n', '') $$;

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

-- Who may read and rotate an org's signing secret: its owners and admins, or the database owner's session.
create function private.require_secret_keeper(target_org uuid) returns void
language plpgsql stable
set search_path = ''
as $$
begin
  if not private.is_database_owner_session() then
    perform private.require_org_admin(target_org);
  end if;
end
$$;
revoke execute on function private.require_secret_keeper(uuid) from public;

create function public.webhook_signing_secret(target_org uuid) returns text
language plpgsql security definer
set search_path = ''
as $$
begin
  perform private.require_secret_keeper(target_org);
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

create function public.rotate_webhook_signing_secret(target_org uuid, overlap_hours integer default 24)
returns text
language plpgsql security definer
set search_path = ''
as $$
declare
  fresh text;
begin
  perform private.require_secret_keeper(target_org);
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

-- 1 min x 3^(n-1), at most 12 h, after the n-th failed attempt.
create function private.webhook_retry_delay(attempts integer) returns interval
language sql immutable
set search_path = ''
as $$ select least(interval '1 minute' * power(3, greatest(attempts, 1) - 1), interval '12 hours') $$;

-- The body sent: Standard Webhooks' recommended shape {type, timestamp, data}.
create function private.webhook_body(delivery public.webhook_deliveries) returns text
language sql immutable
set search_path = ''
as $$
  select jsonb_build_object('type', delivery.event_type,
                            'timestamp', coalesce(delivery.payload -> 'occurred_at', to_jsonb(delivery.created_at)),
                            'data', delivery.payload - 'type' - 'occurred_at')::text
$$;

create function public.claim_webhook_deliveries(max_count integer default 8, lease_seconds integer default 60)
returns table (id uuid, claim_token uuid, url text, signing_secret text, previous_signing_secret text, body text,
               attempt integer)
language plpgsql security definer
set search_path = ''
as $$
begin
  if max_count is null or max_count < 1 or lease_seconds is null or lease_seconds < 1 then
    perform private.fail(400, 'invalid_claim', 'max_count and lease_seconds must be positive');
  end if;
  -- An org that removed its webhook URL gets nothing more: its due deliveries are dead-lettered.
  with orphaned as (
    select d.id from public.webhook_deliveries d
     where d.status = 'pending' and d.next_attempt_at <= now() and (d.locked_until is null or d.locked_until <= now())
       and not exists (select 1 from public.organizations o where o.id = d.org_id and o.webhook_url is not null)
     for update skip locked
  )
  update public.webhook_deliveries d
     set status = 'dead', last_error = 'the organization has no webhook URL', locked_until = null, claim_token = null
    from orphaned where d.id = orphaned.id;

  return query
  with due as (
    select d.id from public.webhook_deliveries d
     where d.status = 'pending' and d.next_attempt_at <= now() and (d.locked_until is null or d.locked_until <= now())
       and exists (select 1 from public.organizations o where o.id = d.org_id and o.webhook_url is not null)
     order by d.next_attempt_at, d.created_at
     limit least(max_count, 100)
     for update skip locked
  ), claimed as (
    update public.webhook_deliveries d
       set attempts = d.attempts + 1, claim_token = gen_random_uuid(),
           locked_until = now() + make_interval(secs => lease_seconds)
      from due where d.id = due.id
    returning d.*
  )
  select c.id, c.claim_token, o.webhook_url, private.standard_webhooks_secret(s.webhook_signing_secret),
         case when s.previous_secret_expires_at > now()
              then private.standard_webhooks_secret(s.previous_webhook_signing_secret) end,
         private.webhook_body(c), c.attempts
    from claimed c
    join public.organizations o on o.id = c.org_id
    join private.organization_secrets s on s.org_id = c.org_id;
end
$$;
comment on function public.claim_webhook_deliveries is
  'Claims up to max_count due deliveries for lease_seconds (one attempt each) with what is needed to send them: '
  'URL, signing secret (whsec_...) and, during a rotation''s overlap, the previous one, body. Service role only.';

create function public.complete_webhook_delivery(delivery uuid, claim uuid, status_code integer default null,
                                                 error text default null)
returns public.delivery_status
language plpgsql security definer
set search_path = ''
as $$
declare
  row public.webhook_deliveries;
  max_attempts integer := (select s.webhook_max_attempts from private.platform_settings s);
begin
  select * into row from public.webhook_deliveries d where d.id = delivery for update;
  if not found then
    perform private.fail(404, 'delivery_not_found', 'webhook delivery not found');
  end if;
  if row.claim_token is distinct from claim or row.status <> 'pending' then
    return row.status; -- the claim lapsed and someone else holds the delivery now: theirs to record
  end if;
  update public.webhook_deliveries d
     set status = case when status_code between 200 and 299 then 'delivered'
                       when row.attempts >= max_attempts then 'dead'
                       else 'pending' end::public.delivery_status,
         delivered_at = case when status_code between 200 and 299 then now() end,
         next_attempt_at = case when status_code between 200 and 299 or row.attempts >= max_attempts
                                then d.next_attempt_at else now() + private.webhook_retry_delay(row.attempts) end,
         last_status_code = status_code,
         last_error = case when status_code between 200 and 299 then null
                           else left(coalesce(error, format('HTTP %s', status_code)), 500) end,
         locked_until = null, claim_token = null
   where d.id = delivery
  returning * into row;
  return row.status;
end
$$;
comment on function public.complete_webhook_delivery is
  'Records an attempt''s result: delivered on 2xx; otherwise retried with backoff, or dead after '
  'platform_settings.webhook_max_attempts. A stale claim changes nothing. Service role only.';

revoke execute on function public.claim_webhook_deliveries(integer, integer),
  public.complete_webhook_delivery(uuid, uuid, integer, text), public.webhook_signing_secret(uuid),
  public.rotate_webhook_signing_secret(uuid, integer)
from public, anon, authenticated;
grant execute on function public.claim_webhook_deliveries(integer, integer),
  public.complete_webhook_delivery(uuid, uuid, integer, text) to service_role;
grant execute on function public.webhook_signing_secret(uuid), public.rotate_webhook_signing_secret(uuid, integer)
  to authenticated, service_role;
revoke execute on function private.standard_webhooks_secret(text), private.webhook_retry_delay(integer),
  private.webhook_body(public.webhook_deliveries) from public;

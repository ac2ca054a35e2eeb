-- The outbox delivery rules: who may claim and complete deliveries, who may read the signing secret and in
-- which form, and the backoff schedule. The webhooks function's tests drive the same functions end to end.
begin;
\ir _fixtures.psql
select plan(25);

select ok(not has_function_privilege('authenticated', 'public.claim_webhook_deliveries(integer, integer)', 'execute')
  and not has_function_privilege('authenticated', 'public.complete_webhook_delivery(uuid, uuid, integer, text)', 'execute')
  and not has_function_privilege('anon', 'public.webhook_signing_secret(uuid)', 'execute'),
  'apps cannot claim or complete deliveries; anon cannot read secrets');
select ok(has_function_privilege('service_role', 'public.claim_webhook_deliveries(integer, integer)', 'execute'),
  'the webhooks function (service_role) can claim');

select is(array(select private.webhook_retry_delay(n) from generate_series(1, 8) n),
  array['1 minute', '3 minutes', '9 minutes', '27 minutes', '81 minutes', '243 minutes', '12 hours', '12 hours']::interval[],
  'backoff: 1 min, x3 per failed attempt, at most 12 h');
select is(private.standard_webhooks_secret('31f290f6bf06298aab4f08d43c3f082cf648a362da2da4b0')::text,
  'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'the hex key is presented the Standard Webhooks way (whsec_ + base64)');
select throws_ok($$update private.organization_secrets set webhook_signing_secret = 'not-hex'
                   where org_id = 'aaaaaaaa-aaaa-0000-0000-000000000000'$$,
  '23514', null, 'a signing secret must be 24 to 64 bytes of hex');

select tests.as_user('aaaaaaaa-0000-0000-0000-000000000001');
select matches(public.webhook_signing_secret('aaaaaaaa-aaaa-0000-0000-000000000000'), '^whsec_[A-Za-z0-9+/]{43}=$',
  'an admin reads the org''s secret as whsec_<base64 of 32 bytes>');
select throws_ok($$select public.webhook_signing_secret('bbbbbbbb-bbbb-0000-0000-000000000000')$$, 'PT403', null,
  'not another org''s');
select tests.as_user('aaaaaaaa-0000-0000-0000-000000000002');
select throws_ok($$select public.webhook_signing_secret('aaaaaaaa-aaaa-0000-0000-000000000000')$$, 'PT403', null,
  'nor as a plain member');
select throws_ok($$select public.rotate_webhook_signing_secret('aaaaaaaa-aaaa-0000-0000-000000000000')$$, 'PT403', null,
  'a plain member cannot rotate the secret');

-- Rotation: the new secret is returned and signs from now on; the old one still signs during the overlap.
select tests.as_user('aaaaaaaa-0000-0000-0000-000000000001');
create temp table rotation as
  select public.webhook_signing_secret('aaaaaaaa-aaaa-0000-0000-000000000000') as old_secret,
         public.rotate_webhook_signing_secret('aaaaaaaa-aaaa-0000-0000-000000000000', 2) as new_secret;
select ok((select new_secret <> old_secret and new_secret ~ '^whsec_[A-Za-z0-9+/]{43}=$' from rotation),
  'an admin rotates the secret and gets the new one');
select is(public.webhook_signing_secret('aaaaaaaa-aaaa-0000-0000-000000000000'), (select new_secret from rotation),
  'the org''s secret is now the new one');
select throws_ok($$select public.rotate_webhook_signing_secret('bbbbbbbb-bbbb-0000-0000-000000000000')$$, 'PT403', null,
  'not another org''s');
select throws_ok($$select public.rotate_webhook_signing_secret('aaaaaaaa-aaaa-0000-0000-000000000000', 169)$$, 'PT400',
  'overlap_hours must be between 0 and 168', 'an overlap over a week is refused');
select tests.as_postgres();

update public.organizations set webhook_url = 'https://app.example/hooks' where id = 'aaaaaaaa-aaaa-0000-0000-000000000000';
update public.webhook_deliveries set next_attempt_at = now() + interval '1 day'; -- only this test's delivery is due
insert into public.webhook_deliveries (org_id, event_type, payload)
values ('aaaaaaaa-aaaa-0000-0000-000000000000', 'call.completed', '{"occurred_at": "2026-11-21T10:00:00Z"}');
create temp table claim1 as select * from public.claim_webhook_deliveries(1, 60);
select is((select (signing_secret, previous_signing_secret)::text from claim1),
  (select (new_secret, old_secret)::text from rotation), 'during the overlap a delivery is signed with both secrets');
update private.organization_secrets set previous_secret_expires_at = now() - interval '1 second'
 where org_id = 'aaaaaaaa-aaaa-0000-0000-000000000000';
update public.webhook_deliveries set locked_until = null, next_attempt_at = now() where id = (select id from claim1);
select is((select previous_signing_secret from public.claim_webhook_deliveries(1, 60)), null,
  'after the overlap only the new secret signs');

select tests.as_user('aaaaaaaa-0000-0000-0000-000000000001');
select lives_ok($$select public.rotate_webhook_signing_secret('aaaaaaaa-aaaa-0000-0000-000000000000', 0)$$,
  'a leaked secret is rotated with no overlap');
select tests.as_postgres();
select is((select previous_webhook_signing_secret from private.organization_secrets
            where org_id = 'aaaaaaaa-aaaa-0000-0000-000000000000'), null, 'and the old one signs nothing more');

select throws_ok($$select * from public.claim_webhook_deliveries(0, 60)$$, 'PT400', null, 'a claim of nothing is refused');
select throws_ok($$select public.complete_webhook_delivery(gen_random_uuid(), gen_random_uuid(), 200)$$, 'PT404', null,
  'completing an unknown delivery is a 404');

-- Studio and psql: the database owner's session (no auth.uid(), no role switched) reads and rotates the secret,
-- as the README documents; every role the API switches to stays refused.
select set_config('role', 'none', true), set_config('request.jwt.claims', '', true);
select matches(public.webhook_signing_secret('aaaaaaaa-aaaa-0000-0000-000000000000'), '^whsec_[A-Za-z0-9+/]{43}=$',
  'postgres in Studio/psql (no role switched, no auth.uid()) reads an org''s secret');
select is(public.rotate_webhook_signing_secret('aaaaaaaa-aaaa-0000-0000-000000000000', 0),
  public.webhook_signing_secret('aaaaaaaa-aaaa-0000-0000-000000000000'), 'and rotates it');
select throws_ok($$select public.webhook_signing_secret(gen_random_uuid())$$, 'PT404', null,
  'an unknown org is a 404, not a null secret');
select tests.as_postgres();
select matches(public.webhook_signing_secret('bbbbbbbb-bbbb-0000-0000-000000000000'), '^whsec_',
  'so does a session that set role postgres');
select tests.as_service();
select throws_ok($$select public.webhook_signing_secret('aaaaaaaa-aaaa-0000-0000-000000000000')$$, 'PT403', null,
  'service_role (no org role) is refused');
select tests.as_api_key(gen_random_uuid());
select throws_ok($$select public.webhook_signing_secret('aaaaaaaa-aaaa-0000-0000-000000000000')$$, 'PT403', null,
  'an org API key is refused (not an owner or admin)');
select tests.as_postgres();

select * from finish();
rollback;

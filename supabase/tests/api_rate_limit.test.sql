-- The API's rate limit: a token bucket per API key (or user), shared by every function instance, that
-- refuses with the seconds to wait once empty and refills with time; one caller's bucket never drains another's.
begin;
\ir _fixtures.psql
select plan(6);

update private.platform_settings set api_burst = 3, api_requests_per_second = 0.5;
select tests.as_api_key('11111111-1111-4111-8111-111111111111');
select is(array[public.consume_api_rate_limit(), public.consume_api_rate_limit(), public.consume_api_rate_limit()],
  array[0, 0, 0]::double precision[], 'the burst is allowed');
select ok(public.consume_api_rate_limit() between 1.0 and 2.0, 'once empty: wait up to 1 / rate (2 s, less the refill since)');
select tests.as_api_key('22222222-2222-4222-8222-222222222222');
select is(public.consume_api_rate_limit(), 0::double precision, 'another key has its own bucket');
select tests.as_user('aaaaaaaa-0000-0000-0000-000000000002');
select is(public.consume_api_rate_limit(), 0::double precision, 'a user has a bucket of their own');
-- Time passes: 4 s at 0.5/s gives back 2 tokens.
select tests.as_postgres();
update private.api_rate_buckets set refilled_at = refilled_at - interval '4 seconds'
 where caller = 'api_key:11111111-1111-4111-8111-111111111111';
select tests.as_api_key('11111111-1111-4111-8111-111111111111');
select is(array[public.consume_api_rate_limit(), public.consume_api_rate_limit()], array[0, 0]::double precision[],
  'the bucket refills with time');
select ok(public.consume_api_rate_limit() > 0, 'and empties again');

select * from finish();
rollback;

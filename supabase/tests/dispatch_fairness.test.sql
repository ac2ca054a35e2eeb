-- Claiming is round-robin across organisations: an org with a large backlog of older due calls does not fill
-- the batch or the platform cap ahead of another org's calls; within an org, urgency order still holds.
begin;
\ir _fixtures.psql
select plan(6);

update public.organizations set max_concurrent_calls = 1000;
-- Org A: a backlog of 60 calls (priorities 0..9); org B: 3 calls, one of them urgent.
insert into public.intake_calls (org_id, template_id, callee_phone, priority)
select 'aaaaaaaa-aaaa-0000-0000-000000000000', 'aaaaaaaa-7e00-0000-0000-000000000000',
       '+1212555' || lpad(g::text, 4, '0'), g % 10
  from generate_series(1, 60) g;
create function tests.add_b_calls() returns void language sql as $$
  insert into public.intake_calls (org_id, template_id, callee_phone, priority)
  select 'bbbbbbbb-bbbb-0000-0000-000000000000', 'bbbbbbbb-7e00-0000-0000-000000000000',
         '+49301234' || lpad((g + (select count(*) from public.intake_calls))::text, 4, '0'),
         case when g = 3 then 10 else 0 end
    from generate_series(1, 3) g
$$;
select tests.add_b_calls();

create temp table batch1 as select * from public.claim_due_calls(10, tests.open_hours());
select is((select count(*) from batch1 where org_id = 'bbbbbbbb-bbbb-0000-0000-000000000000'), 3::bigint,
  'a batch of 10 takes all 3 of org B''s calls next to org A''s backlog');
select is((select count(*) from batch1 where org_id = 'aaaaaaaa-aaaa-0000-0000-000000000000'), 7::bigint,
  '... and fills the rest from org A');
select ok((select min(c.priority) from batch1 b join public.intake_calls c on c.id = b.intake_call_id
            where b.org_id = 'aaaaaaaa-aaaa-0000-0000-000000000000')
          >= (select max(priority) from public.intake_calls
               where org_id = 'aaaaaaaa-aaaa-0000-0000-000000000000' and status = 'queued'),
  'within org A the most urgent calls come first');

-- The platform cap is shared out the same way: 4 more lines free, org A's backlog and 3 new calls of org B.
update private.platform_settings
   set max_concurrent_calls = 4 + (select count(*) from public.intake_calls where status = 'dispatching');
select tests.add_b_calls();
create temp table capped as select * from public.claim_due_calls(50, tests.open_hours());
select is((select count(*) from capped), 4::bigint, 'the platform cap holds');
select is((select count(*) from capped where org_id = 'bbbbbbbb-bbbb-0000-0000-000000000000'), 2::bigint,
  'and is shared: two calls each');
select is((select max(c.priority) from capped k join public.intake_calls c on c.id = k.intake_call_id
            where k.org_id = 'bbbbbbbb-bbbb-0000-0000-000000000000'), 10,
  'org B''s urgent call is among its two');
select * from finish();
rollback;

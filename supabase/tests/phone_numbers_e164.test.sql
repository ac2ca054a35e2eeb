-- Every stored phone number is E.164, by one rule: the domain public.e164. Each column that holds a number uses
-- it (a new phone column without it fails the first test), and each refuses what is not E.164, with the
-- SQLSTATE (23514) and constraint name the API maps to 422 constraint_violation.
begin;
\ir _fixtures.psql
select plan(15);

select is(
  array(select format('%s.%s', c.table_name, c.column_name) from information_schema.columns c
         where c.domain_schema = 'public' and c.domain_name = 'e164' and c.table_schema = 'public'
           and c.table_name in (select table_name from information_schema.tables where table_type = 'BASE TABLE')
         order by 1),
  array['do_not_call.phone', 'intake_calls.callee_phone', 'organizations.caller_id',
        'organizations.escalation_phone', 'phone_system_classifications.phone'],
  'the phone columns are exactly the ones typed public.e164');
select is(
  array(select format('%s.%s', c.table_name, c.column_name) from information_schema.columns c
         where c.table_schema = 'public' and c.data_type = 'text' and c.domain_name is null
           and (c.column_name ~ '(phone|caller_id)' or c.column_name in ('to', 'from'))
           and c.table_name in (select table_name from information_schema.tables where table_type = 'BASE TABLE')
         order by 1),
  '{}'::text[], 'no phone column is plain text');

select tests.new_call('aaaaaaaa-aaaa-0000-0000-000000000000', '+12125550101') as call_a \gset
insert into public.do_not_call (org_id, phone, source)
  values ('aaaaaaaa-aaaa-0000-0000-000000000000', '+12125550199', 'manual');
insert into public.phone_system_classifications (org_id, phone, classification)
  values ('aaaaaaaa-aaaa-0000-0000-000000000000', '+12125550101', 'human');

-- National format (no +), a leading zero after the +, too short, too long, spaces and letters.
create temp table bad_numbers (v) as
  values ('2125550100'), ('+0212555010'), ('+12345'), ('+1234567890123456'), ('+1 212 555 0100'), ('+1212555010x');

select throws_ok(
  $$insert into public.intake_calls (org_id, template_id, callee_phone)
    values ('aaaaaaaa-aaaa-0000-0000-000000000000', 'aaaaaaaa-7e00-0000-0000-000000000000', '2125550100')$$,
  '23514', 'value for domain e164 violates check constraint "e164"',
  'a call to a number in national format is refused as an external system inserts it');
select throws_ok(
  $$insert into public.do_not_call (org_id, phone, source)
    values ('aaaaaaaa-aaaa-0000-0000-000000000000', '12125550100', 'import')$$,
  '23514', 'value for domain e164 violates check constraint "e164"',
  'a do-not-call entry without its + is refused (it would never match a dialled number)');
select throws_ok(
  $$insert into public.phone_system_classifications (org_id, phone, classification)
    values ('aaaaaaaa-aaaa-0000-0000-000000000000', '+1 212 555 0100', 'ivr_only')$$,
  '23514', 'value for domain e164 violates check constraint "e164"',
  'a classification of a number with spaces is refused');
select throws_ok(
  $$update public.organizations set caller_id = '+0212555010' where id = 'aaaaaaaa-aaaa-0000-0000-000000000000'$$,
  '23514', 'value for domain e164 violates check constraint "e164"', 'organizations.caller_id refuses +0...');
select throws_ok(
  $$update public.organizations set escalation_phone = '911' where id = 'aaaaaaaa-aaaa-0000-0000-000000000000'$$,
  '23514', 'value for domain e164 violates check constraint "e164"', 'organizations.escalation_phone refuses 911');

-- Every bad number on every column (updates of the rows above), counted by column: all refused.
create function pg_temp.accepted_bad_numbers(tbl text, col text) returns text[] language plpgsql as $$
declare
  bad text;
  accepted text[] := '{}';
begin
  for bad in select v from bad_numbers loop
    begin
      execute format('update public.%I set %I = %L', tbl, col, bad);
      accepted := accepted || bad;
    exception
      when check_violation then null;
      -- Refused, but not by the number's rule (e.g. a trigger): counted, so the test names it.
      when others then accepted := accepted || format('%s (%s)', bad, sqlstate);
    end;
  end loop;
  return accepted;
end
$$;
select is(pg_temp.accepted_bad_numbers('intake_calls', 'callee_phone'), '{}', 'intake_calls.callee_phone refuses them all');
select is(pg_temp.accepted_bad_numbers('do_not_call', 'phone'), '{}', 'do_not_call.phone refuses them all');
select is(pg_temp.accepted_bad_numbers('phone_system_classifications', 'phone'), '{}',
          'phone_system_classifications.phone refuses them all');
select is(pg_temp.accepted_bad_numbers('organizations', 'caller_id'), '{}', 'organizations.caller_id refuses them all');
select is(pg_temp.accepted_bad_numbers('organizations', 'escalation_phone'), '{}',
          'organizations.escalation_phone refuses them all');

-- The rule is not stricter than E.164: the shortest and longest numbers are stored.
select lives_ok(
  $$update public.organizations set caller_id = '+4930901', escalation_phone = '+123456789012345'
     where id = 'aaaaaaaa-aaaa-0000-0000-000000000000'$$,
  'numbers of 7 and 15 digits are accepted');

-- A template's phone field is validated by the same domain.
select is(private.field_error('{"name":"callback","type":"phone"}', '"2125550100"'),
          'callback must be a phone number in international format (+15551234567)',
          'a phone answer in national format is refused with words the model can act on');
select is(private.field_error('{"name":"callback","type":"phone"}', '"+12125550100"'), null,
          'a phone answer in E.164 is accepted');

select * from finish();
rollback;

-- A template's field list is checked when it is written: every kind of field the public.field_type enum names
-- is accepted, anything else is refused with a 422 that lists the kinds (read from the enum, not a copy).
begin;
\ir _fixtures.psql
select plan(2);

select lives_ok(
  $$update public.call_templates
       set fields = (select jsonb_agg(jsonb_build_object('name', 'f_' || t, 'type', t)
                                      || case when t = 'choice' then '{"options":["a"]}'::jsonb else '{}' end)
                       from unnest(enum_range(null::public.field_type)::text[]) t)
     where id = 'aaaaaaaa-7e00-0000-0000-000000000000'$$,
  'a field of every field_type is accepted');
select throws_ok(
  $$update public.call_templates set fields = '[{"name":"mood","type":"emoji"}]'
     where id = 'aaaaaaaa-7e00-0000-0000-000000000000'$$,
  'PT422', 'field mood: type must be one of text, date, number, boolean, choice, phone',
  'an unknown field type is refused, naming the kinds there are');

select * from finish();
rollback;

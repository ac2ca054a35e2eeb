-- Local demo data (applied by `npm start` / `supabase db reset`, never in production).
select 1;

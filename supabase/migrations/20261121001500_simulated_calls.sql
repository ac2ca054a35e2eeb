-- Simulated calls (carrier 'simulation'): the callee is a scenario (shared/src/simulation.ts) instead of a
-- phone line. The scenario travels with the call; only the simulation runner reads it, with the attempt's
-- call-scoped credential, through agent_simulation_scenario() (the agent itself never asks for it).
alter table public.intake_calls
  add column simulation jsonb
  constraint simulation_only_for_simulated_calls
    check (simulation is null or (carrier = 'simulation' and jsonb_typeof(simulation) = 'object'));
comment on column public.intake_calls.simulation is
  'Simulated calls only: the scenario the simulated callee plays (lines, pauses, the scripted model''s replies, expectations).';

create function public.agent_simulation_scenario() returns jsonb
language sql stable security definer
set search_path = ''
as $$
  select c.simulation from public.intake_calls c
   where c.id = private.agent_call_id() and c.is_simulation
$$;
comment on function public.agent_simulation_scenario is
  'The scenario of the simulated call the credential is for (null for real calls): read by the simulation runner.';
revoke execute on function public.agent_simulation_scenario() from public, anon, authenticated;
grant execute on function public.agent_simulation_scenario() to call_agent, service_role;

// Runs a folder of scenario files against a database and prints the summary table; exits 1 when any
// scenario misses its expectations, 2 when the suite cannot run (bad file, no database). Persona scenarios
// without an OpenAI key are reported SKIPPED and fail nothing.
//   npm run simulate [-- <folder>]          (default folder: simulations/intake)
// Database: DATABASE_URL (or TEST_DATABASE_URL; default: the local stack's database that `npm start`
// runs, port DB_PORT or 54322), migrated; SUPABASE_JWT_SECRET (default: Supabase's
// local-development secret). Each scenario creates its own organisation, template and call.
// Models: OPENAI_API_KEY (+ OPENAI_BASE_URL, OPENAI_LLM_MODEL, SIMULATION_PERSONA_MODEL) for the real ones,
// else the scripted model (agent/src/simulation/models.ts).
import process from "node:process";
import { localEnv } from "../devstack/local-env.mjs";
import { connectSuperuser } from "../devstack/fixtures/call-fixture.ts";
import { PostgrestDouble } from "../devstack/doubles/postgrest/postgrest-double.ts";
import { simulationOpenAI } from "../agent/src/simulation/models.ts";
import {
  formatSummary,
  loadScenarios,
  runSuite,
  ScenarioFileError,
} from "../devstack/simulation/scenario-suite.ts";

async function main(): Promise<number> {
  const folder = process.argv[2] ?? "simulations/intake";
  const databaseUrl = process.env.DATABASE_URL ?? process.env.TEST_DATABASE_URL ??
    `postgresql://postgres:postgres@127.0.0.1:${process.env.DB_PORT ?? 54322}/postgres`;
  // The local stack's keys, or the project's when SUPABASE_JWT_SECRET / SUPABASE_ANON_KEY are set.
  const local = await localEnv({ databaseUrl });
  const jwtSecret = local.SUPABASE_JWT_SECRET;
  const anonKey = process.env.SUPABASE_ANON_KEY ?? local.SUPABASE_ANON_KEY;
  const openai = simulationOpenAI(process.env);
  let scenarios;
  try {
    scenarios = await loadScenarios(folder);
  } catch (error) {
    if (error instanceof ScenarioFileError) {
      console.error(`invalid scenario: ${error.message}`);
      return 2;
    }
    throw error;
  }
  const env = { databaseUrl, jwtSecret, anonKey };
  const sql = connectSuperuser(env);
  const double = await PostgrestDouble.start({ databaseUrl, jwtSecret });
  try {
    const reports = await runSuite({ sql, env, double, openai }, scenarios);
    console.log(formatSummary(reports));
    return reports.every((r) => r.passed || r.skipped) ? 0 : 1;
  } finally {
    await double.close();
    await sql.end();
  }
}

process.exitCode = await main().catch((error: unknown) => {
  // The suite could not run (database unreachable, schema missing): not a scenario failure.
  console.error(`the suite could not run: ${error instanceof Error ? error.message : String(error)}`);
  return 2;
});

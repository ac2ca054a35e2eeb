// What the agent benchmarks share: a fresh migrated test database, the PostgREST double in front of it,
// the local JWT secret and anon key, and the test fixtures (a call with its call-scoped credential).
import postgres from "postgres";
import { prepareDatabase, resolveDatabase } from "../devstack/postgres/database.mjs";
import { localEnv } from "../devstack/local-env.mjs";
import { PostgrestDouble } from "../devstack/doubles/postgrest/postgrest-double.ts";

export async function agentBenchEnv() {
  const db = await resolveDatabase("test", { log: () => {} });
  await prepareDatabase(db, { fresh: true });
  const local = await localEnv({ databaseUrl: db.url });
  const env = { databaseUrl: db.url, jwtSecret: local.SUPABASE_JWT_SECRET, anonKey: local.SUPABASE_ANON_KEY };
  const sql = postgres(db.url, { max: 4, onnotice: () => {} });
  const double = await PostgrestDouble.start({ databaseUrl: db.url, jwtSecret: env.jwtSecret });
  return {
    env,
    sql,
    double,
    close: async () => {
      await double.close();
      await sql.end();
    },
  };
}

export function percentile(values, p) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))];
}

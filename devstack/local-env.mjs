// The environment the local stack gives each function and the worker: the names Supabase uses
// (SUPABASE_URL, SUPABASE_DB_URL, SUPABASE_ANON_KEY, SUPABASE_SERVICE_ROLE_KEY) with local values,
// plus every integration variable the user has set (see the README's configuration table).
import { SignJWT } from "jose";

// Supabase's local-development JWT secret (the one `supabase start` uses): not a secret.
export const LOCAL_JWT_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long";
export const FUNCTIONS_PORT = Number(process.env.FUNCTIONS_PORT ?? 54321);
export const SIMULATION_AGENT_PORT = Number(process.env.SIMULATION_AGENT_PORT ?? 54329);

const PASSED_THROUGH = [
  /^LIVEKIT_/,
  /^TWILIO_/,
  /^LANGFUSE_/,
  /^OPENAI_/,
  /^DISPATCH_/,
  /^PUBLIC_/,
  /^AGENT_/,
  /^LOG_/,
];

async function roleKey(role, secret) {
  return await new SignJWT({ role })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer("supabase-demo")
    .setIssuedAt(1_700_000_000)
    .setExpirationTime(4_000_000_000)
    .sign(new TextEncoder().encode(secret));
}

export async function localEnv({ databaseUrl, functionsPort = FUNCTIONS_PORT }) {
  const secret = process.env.SUPABASE_JWT_SECRET ?? LOCAL_JWT_SECRET;
  const env = {
    SUPABASE_URL: `http://127.0.0.1:${functionsPort}`,
    SUPABASE_DB_URL: databaseUrl,
    SUPABASE_JWT_SECRET: secret,
    SUPABASE_ANON_KEY: await roleKey("anon", secret),
    SUPABASE_SERVICE_ROLE_KEY: await roleKey("service_role", secret),
    FUNCTIONS_PORT: String(functionsPort),
    // The seed's Vault secret `dispatch_secret`: what the database sends the dispatch and webhooks functions.
    DISPATCH_SECRET: "local-dispatch-secret",
    // Where the dispatcher sends simulated calls' jobs when LiveKit is not configured (agent/src/simulation/runner.ts).
    SIMULATION_AGENT_URL: `http://127.0.0.1:${SIMULATION_AGENT_PORT}`,
    SIMULATION_AGENT_PORT: String(SIMULATION_AGENT_PORT),
    // App webhooks go to receivers on this machine (loopback, plain HTTP); deployed, only HTTPS to public hosts.
    WEBHOOK_ALLOW_PRIVATE_URLS: "true",
    // The URL Twilio would sign; locally the functions server itself.
    PUBLIC_FUNCTIONS_URL: `http://127.0.0.1:${functionsPort}/functions/v1`,
  };
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && PASSED_THROUGH.some((re) => re.test(key))) env[key] = value;
  }
  return env;
}

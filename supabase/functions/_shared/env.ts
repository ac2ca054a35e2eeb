// The configuration a function reads. On Supabase these come from the platform (SUPABASE_*) and
// from `supabase secrets set`; locally scripts/start.mjs passes the same names.

export type Env = Record<string, string | undefined>;

export function required(env: Env, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`missing environment variable ${name}`);
  return value;
}

/** A numeric setting: `fallback` when unset, not a number, or below `minimum` (by default: not positive). */
export function numberSetting(env: Env, name: string, fallback: number, minimum = Number.MIN_VALUE): number {
  const value = Number(env[name]);
  return env[name] !== undefined && env[name] !== "" && Number.isFinite(value) && value >= minimum
    ? value
    : fallback;
}

/** Which optional integrations have their credentials set. */
export function integrations(env: Env) {
  return {
    livekit: Boolean(env.LIVEKIT_URL && env.LIVEKIT_API_KEY && env.LIVEKIT_API_SECRET),
    twilio: Boolean(env.TWILIO_ACCOUNT_SID && env.TWILIO_AUTH_TOKEN),
    langfuse: Boolean(env.LANGFUSE_PUBLIC_KEY && env.LANGFUSE_SECRET_KEY),
  };
}

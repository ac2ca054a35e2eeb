/** A complete, valid worker environment with placeholder credentials (nothing here reaches a network). */
export const VALID_ENV = {
  LIVEKIT_URL: "wss://example.livekit.cloud",
  LIVEKIT_API_KEY: "APIkey",
  LIVEKIT_API_SECRET: "secret-value",
  SUPABASE_URL: "https://project.supabase.co",
  SUPABASE_ANON_KEY: "eyJhbGciOiJIUzI1NiJ9.anon.key",
  OPENAI_API_KEY: "sk-test",
};

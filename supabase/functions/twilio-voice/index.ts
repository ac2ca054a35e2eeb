import { connect } from "../_shared/database.ts";
import { required } from "../_shared/env.ts";
import { create } from "./handler.ts";

// Twilio waits on the first answer of a cold instance: no type-fetching round trip (the answers are jsonb).
const env = Deno.env.toObject();
Deno.serve(create({ env, sql: connect(required(env, "SUPABASE_DB_URL"), { fetchTypes: false }) }));

// What every function's handler is built from. index.ts builds it from Deno.env; the local router
// and the tests build it once and hand the same objects to each handler they create.
import { connect, type Sql } from "./database.ts";
import { type Env, required } from "./env.ts";
import type { Handler } from "./http.ts";

export type FunctionDeps = { env: Env; sql: Sql };

/** Each supabase/functions/<name>/handler.ts exports `create` of this type. */
export type CreateHandler = (deps: FunctionDeps) => Handler;

export function depsFromEnv(env: Env): FunctionDeps {
  return { env, sql: connect(required(env, "SUPABASE_DB_URL")) };
}

// The local edge-function server: serves every supabase/functions/<name> at
// http://127.0.0.1:54321/functions/v1/<name>, as `supabase functions serve` does, without Docker.
// Each function's handler.ts exports `create(deps)`; the path the handler sees starts at
// /<name>, as on Supabase. `verify_jwt` from supabase/config.toml is honoured (default true).
// Like the project's gateway, it also answers /rest/v1 (PostgREST), there being no PostgREST here: with
// the stand-in the agent tests use (apikey and JWT checked, role and claims set per request), so
// SUPABASE_URL is the one address for both, as on Supabase.
import { parse } from "smol-toml";
import { bearerToken, verifySupabaseJwt } from "../../supabase/functions/_shared/jwt.ts";
import { errorResponse, type Handler } from "../../supabase/functions/_shared/http.ts";
import { type CreateHandler, depsFromEnv, type FunctionDeps } from "../../supabase/functions/_shared/deps.ts";
import { PostgrestDouble } from "../doubles/postgrest/postgrest-double.ts";

const functionsDir = new URL("../../supabase/functions/", import.meta.url);
const config = parse(await Deno.readTextFile(new URL("../../supabase/config.toml", import.meta.url))) as {
  functions?: Record<string, { verify_jwt?: boolean }>;
};

export async function loadFunctions(deps: FunctionDeps): Promise<Map<string, Handler>> {
  const handlers = new Map<string, Handler>();
  for await (const entry of Deno.readDir(functionsDir)) {
    if (!entry.isDirectory || entry.name.startsWith("_") || entry.name.startsWith(".")) continue;
    const module = await import(new URL(`${entry.name}/handler.ts`, functionsDir).href) as {
      create: CreateHandler;
    };
    handlers.set(entry.name, module.create(deps));
  }
  return handlers;
}

export function router(handlers: Map<string, Handler>, jwtSecret: string, restUrl?: string): Handler {
  return async (req) => {
    const url = new URL(req.url);
    if (restUrl && url.pathname.startsWith("/rest/v1/")) {
      return await fetch(`${restUrl}${url.pathname}${url.search}`, {
        method: req.method,
        headers: req.headers,
        body: req.method === "GET" || req.method === "HEAD" ? undefined : await req.arrayBuffer(),
      });
    }
    const match = /^\/functions\/v1\/([^/]+)(\/.*)?$/.exec(url.pathname);
    const name = match?.[1];
    const handler = name ? handlers.get(name) : undefined;
    if (!name || !handler) return errorResponse(404, "function_not_found", `no function at ${url.pathname}`);
    const verifyJwt = config.functions?.[name]?.verify_jwt ?? true;
    if (verifyJwt && req.method !== "OPTIONS") {
      const token = bearerToken(req);
      if (!token || !(await verifySupabaseJwt(token, jwtSecret))) {
        return errorResponse(401, "invalid_jwt", "Invalid JWT");
      }
    }
    const inner = new URL(url);
    inner.pathname = `/${name}${match?.[2] ?? ""}`;
    return handler(new Request(inner, req));
  };
}

if (import.meta.main) {
  const env = Deno.env.toObject();
  const handlers = await loadFunctions(depsFromEnv(env));
  const port = Number(env.FUNCTIONS_PORT ?? 54321);
  const jwtSecret = env.SUPABASE_JWT_SECRET ?? "";
  const rest = await PostgrestDouble.start({ databaseUrl: env.SUPABASE_DB_URL ?? "", jwtSecret });
  Deno.serve(
    {
      hostname: "127.0.0.1",
      port,
      onListen: () => console.log(`functions: ${[...handlers.keys()].join(", ")}`),
    },
    router(handlers, jwtSecret, rest.url),
  );
}

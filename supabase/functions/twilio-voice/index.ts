import { create } from "./handler.ts";

// No database connection here: the SQL functions are reached through the REST API (see _shared/postgrest.ts).
Deno.serve(create({ env: Deno.env.toObject() }));

import { depsFromEnv } from "../_shared/deps.ts";
import { create } from "./handler.ts";

Deno.serve(create(depsFromEnv(Deno.env.toObject())));

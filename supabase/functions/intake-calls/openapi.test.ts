// The OpenAPI document covers every public function, with schemas generated from the zod schemas the functions
// validate and answer with. No database: the document is built from code alone.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { HealthResponse } from "../../../shared/src/health.ts";
import { WebCallRequest, WebCallResponse } from "../../../shared/src/web-call.ts";
import { openApiDocument } from "./openapi.ts";

// Functions only the database or Twilio call: not part of the app-facing API.
const INTERNAL = ["dispatch", "twilio-status", "twilio-voice", "webhooks"];

const doc = openApiDocument(new URL("https://ref.supabase.co/functions/v1/intake-calls/openapi.json"));

Deno.test("every function folder is described or listed as internal", () => {
  const functions = readdirSync(fileURLToPath(new URL("..", import.meta.url)), { withFileTypes: true })
    .filter((d) => d.isDirectory() && !d.name.startsWith("_")).map((d) => d.name);
  const described = new Set(Object.keys(doc.paths).map((path) => path.split("/")[1]));
  for (const name of functions) {
    assert(INTERNAL.includes(name) !== described.has(name), `${name}: described xor internal`);
  }
  assertEquals(doc.servers, [{ url: "https://ref.supabase.co/functions/v1" }]);
});

Deno.test("web-calls: the request and response schemas are the zod schemas'", () => {
  const post = doc.paths["/web-calls"].post;
  const request = post.requestBody.content["application/json"].schema as {
    properties: Record<string, unknown>;
    required: string[];
    additionalProperties: boolean;
  };
  assertEquals(Object.keys(request.properties).sort(), Object.keys(WebCallRequest.shape).sort());
  assertEquals(request.required.sort(), ["callee_phone", "template_id"]);
  assertEquals(request.additionalProperties, false); // strictObject: unknown fields are refused
  const response = post.responses["201"].content["application/json"].schema as { required: string[] };
  assertEquals(response.required.sort(), Object.keys(WebCallResponse.shape).sort());
});

Deno.test("health: no credential, and the answer's schema is the zod schema's", () => {
  const get = doc.paths["/health"].get;
  assertEquals(get.security, []);
  const schema = get.responses["200"].content["application/json"].schema as {
    properties: Record<string, { enum?: string[] }>;
  };
  assertEquals(Object.keys(schema.properties).sort(), Object.keys(HealthResponse.shape).sort());
  assertEquals(schema.properties.status.enum, ["ok", "degraded"]);
});

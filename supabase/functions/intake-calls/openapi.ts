// The OpenAPI 3.1 description of the public API (every app-facing function: intake-calls, web-calls, health),
// served at GET /functions/v1/intake-calls/openapi.json.
// Request schemas are generated from the same zod schemas that validate requests (shared/), so the
// description cannot drift from the behaviour.
import { z } from "zod";
import {
  CallActionRequest,
  IntakeCallBatchRequest,
  IntakeCallListQuery,
  IntakeCallRequest,
  WaitingReason,
} from "../../../shared/src/intake-call-request.ts";
import { IntakeCallStatus } from "../../../shared/src/enums.ts";
import { HealthResponse } from "../../../shared/src/health.ts";
import { WebCallRequest, WebCallResponse } from "../../../shared/src/web-call.ts";
import { CSV_FIELD_COLUMNS, CSV_PHONE_COLUMNS, CSV_QUERY_FIELDS } from "./create.ts";

const schema = (s: z.ZodType) => z.toJSONSchema(s, { io: "input", unrepresentable: "any" });
const output = (s: z.ZodType) => z.toJSONSchema(s, { io: "output", unrepresentable: "any" });

/** The list's query parameters, one per field of the schema that parses them. */
function listParameters() {
  const { properties } = schema(IntakeCallListQuery) as { properties: Record<string, object> };
  const descriptions: Record<string, string> = {
    status: `Comma-separated: ${IntakeCallStatus.options.join(", ")}`,
    cursor: "next_cursor of the last page",
  };
  return Object.entries(properties).map(([name, fieldSchema]) => ({
    name,
    in: "query",
    schema: fieldSchema,
    ...(descriptions[name] ? { description: descriptions[name] } : {}),
  }));
}

const error = {
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["code", "message"],
      properties: {
        code: {
          type: "string",
          description: "machine-readable, e.g. validation_failed, invalid_phone_number",
        },
        message: { type: "string" },
        details: { description: "zod issues for validation_failed; context for other codes" },
      },
    },
  },
};
const errors = (...codes: number[]) =>
  Object.fromEntries(codes.map((c) => [String(c), { $ref: "#/components/responses/Error" }]));
const call = { $ref: "#/components/schemas/IntakeCall" };
const idParam = {
  name: "id",
  in: "path",
  required: true,
  schema: { type: "string" },
  description: "The intake call id, or (GET only) the app's intake_id",
};

export function openApiDocument(url: URL) {
  const base = url.pathname.replace(/\/openapi\.json$/, "");
  return {
    openapi: "3.1.0",
    info: {
      title: "Intake calls API",
      version: "1.0.0",
      description: "Ask for outbound AI calls, follow them, and read their results. Errors are always " +
        '`{ "error": { "code", "message", "details" } }`. Rate limit per API key or user: 429 with Retry-After.',
    },
    servers: [{ url: `${url.origin}${base.replace(/\/intake-calls$/, "")}` }],
    security: [{ bearer: [] }, { apikey: [] }],
    paths: {
      "/intake-calls": {
        post: {
          summary: "Create one call, a batch (up to 1,000) or a CSV upload",
          parameters: [
            { name: "Idempotency-Key", in: "header", schema: { type: "string", maxLength: 200 } },
            ...CSV_QUERY_FIELDS.map((name) => ({
              name,
              in: "query",
              schema: { type: "string" },
              description: "CSV uploads only: applies to every row",
            })),
          ],
          requestBody: {
            required: true,
            content: {
              "application/json": {
                schema: { oneOf: [schema(IntakeCallRequest), schema(IntakeCallBatchRequest)] },
              },
              "text/csv": {
                schema: { type: "string" },
                description: `Header row; a phone column (${CSV_PHONE_COLUMNS.join(", ")}); optional ${
                  Object.keys(CSV_FIELD_COLUMNS).join(", ")
                }; every other column becomes a prompt variable.`,
              },
            },
          },
          responses: {
            "201": { description: "Created", content: { "application/json": { schema: call } } },
            "200": {
              description:
                "Idempotent replay (single call, header Idempotent-Replayed) or batch result per item",
            },
            ...errors(400, 401, 403, 404, 409, 413, 415, 422, 429, 503),
          },
        },
        get: {
          summary: "List calls, newest first",
          parameters: listParameters(),
          responses: {
            "200": {
              description: "A page",
              content: {
                "application/json": {
                  schema: {
                    type: "object",
                    properties: {
                      data: { type: "array", items: call },
                      next_cursor: { type: ["string", "null"] },
                    },
                  },
                },
              },
            },
            ...errors(400, 401, 429, 503),
          },
        },
      },
      "/intake-calls/{id}": {
        get: {
          summary: "A call with attempts, transcript, results, escalations and events",
          parameters: [idParam],
          responses: { "200": { description: "The call" }, ...errors(401, 404, 429, 503) },
        },
      },
      ...Object.fromEntries(
        [
          ["cancel", "Cancel a queued call; a live call is hung up and ends as cancelled"],
          ["escalate", "Transfer a live call to the organization's escalation number"],
          ["terminate", "End a live call now"],
        ].map(([action, summary]) => [`/intake-calls/{id}/${action}`, {
          post: {
            summary,
            parameters: [{ ...idParam, description: "The intake call id" }],
            requestBody: { content: { "application/json": { schema: schema(CallActionRequest) } } },
            responses: {
              "200": { description: "Done" },
              "202": { description: "Recorded; the carrier is acting on the live call" },
              ...errors(400, 401, 404, 409, 422, 429, 503),
            },
          },
        }]),
      ),
      "/web-calls": {
        post: {
          summary:
            "Start a call held in the browser: the agent joins a LiveKit room the browser joins with the token",
          requestBody: {
            required: true,
            content: { "application/json": { schema: schema(WebCallRequest) } },
          },
          responses: {
            "201": {
              description: "Created; join the room within 10 minutes",
              content: { "application/json": { schema: output(WebCallResponse) } },
            },
            ...errors(400, 401, 403, 404, 413, 415, 422, 429, 503),
          },
        },
      },
      "/health": {
        get: {
          summary: "Readiness: the database checked, the integrations configured or not",
          security: [],
          responses: {
            "200": {
              description: "Ready",
              content: { "application/json": { schema: output(HealthResponse) } },
            },
            "503": {
              description: "The database does not answer",
              content: { "application/json": { schema: output(HealthResponse) } },
            },
          },
        },
      },
    },
    components: {
      securitySchemes: {
        bearer: {
          type: "http",
          scheme: "bearer",
          description: "Org API key (ik_…) or a member's access token",
        },
        apikey: { type: "apiKey", in: "header", name: "apikey" },
      },
      responses: { Error: { description: "Error", content: { "application/json": { schema: error } } } },
      schemas: {
        IntakeCall: {
          type: "object",
          properties: {
            id: { type: "string", format: "uuid" },
            status: { enum: IntakeCallStatus.options },
            outcome: { type: ["string", "null"] },
            attempt_count: { type: "integer" },
            intake_id: { type: ["string", "null"] },
            waiting_reason: {
              description:
                "Why a queued call waits (null when not queued): a code, a message and, where one " +
                "applies, until when",
              anyOf: [schema(WaitingReason), { type: "null" }],
            },
          },
          additionalProperties: true,
        },
      },
    },
  };
}

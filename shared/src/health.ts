// GET /functions/v1/health: the answer's shape, for the handler's type and the OpenAPI description.
import { z } from "zod";

const Integration = z.enum(["configured", "not_configured"]);

export const HealthResponse = z.object({
  /** `degraded` (with 503) when the database does not answer. */
  status: z.enum(["ok", "degraded"]),
  database: z.enum(["ok", "unreachable"]),
  livekit: Integration,
  twilio: Integration,
  langfuse: Integration,
});
export type HealthResponse = z.infer<typeof HealthResponse>;

// Responses every function shares: JSON bodies, the error envelope and CORS as Supabase documents it.

/** CORS headers from Supabase's guide for browser-invoked functions. */
export const corsHeaders: Record<string, string> = {
  "Access-Control-Allow-Origin": "*",
  "Access-Control-Allow-Headers": "authorization, x-client-info, apikey, content-type, idempotency-key",
  "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
};

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", ...corsHeaders, ...headers },
  });
}

/** The one error shape of the API: `{ "error": { "code", "message", "details" } }`. */
export function errorResponse(
  status: number,
  code: string,
  message: string,
  details?: unknown,
  headers: Record<string, string> = {},
): Response {
  return json({ error: { code, message, ...(details === undefined ? {} : { details }) } }, status, headers);
}

/** Answers a CORS preflight, or returns null when the request is not one. */
export function preflight(req: Request): Response | null {
  return req.method === "OPTIONS" ? new Response("ok", { headers: corsHeaders }) : null;
}

export type Handler = (req: Request) => Promise<Response>;

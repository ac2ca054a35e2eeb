// A loopback double of Supabase's REST surface (the gateway's apikey check + PostgREST 12) for the subset
// the agent uses: `POST /rest/v1/rpc/<function>` and `POST /rest/v1/<table>` (insert). Per request, as
// PostgREST does it:
//   - the gateway refuses a request without an `apikey` that is a valid project JWT (401);
//   - the bearer JWT is verified (HS256, the project secret; expiry checked): bad signature PGRST301,
//     expired PGRST303, both 401; no bearer means the anon role;
//   - one transaction per request, connected as `authenticator`, with
//     `set_config('role', <claims.role>, true)` and `set_config('request.jwt.claims', <claims>, true)`;
//   - a function is called with named arguments read from the JSON body through `json_to_record` with the
//     function's own argument types; its result is returned as JSON (204 for void);
//   - an insert goes through `json_populate_recordset` on the columns present in the body (201, minimal);
//   - errors come back in PostgREST's shape `{code, details, hint, message}` with its status mapping:
//     PTxxx -> xxx, 23505/23503 -> 409, other 23xxx/22xxx/P0001 -> 400, 42501 -> 403 (401 as anon),
//     42883/42P01 -> 404, connection/shutdown classes -> 503, anything else 500.
// Faults for tests: `failNext(n)` answers 503 before touching the database; `loseNextResponses(n)` commits
// the request and then answers 503 as if the answer had been lost on the way back.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { text } from "node:stream/consumers";
import { errors as joseErrors, jwtVerify } from "jose";
import postgres from "postgres";

type Claims = { role?: string; exp?: number; [claim: string]: unknown };
type PgError = { code?: string; message?: string; detail?: string; hint?: string };
type FunctionSignature = { args: string[]; types: string[]; defaults: number; returns: string };

export type PostgrestRequestLog = { method: string; path: string; status: number; role: string | null };

export class PostgrestDouble {
  readonly #sql: postgres.Sql;
  readonly #secret: Uint8Array;
  readonly #server: Server;
  #failures = 0;
  #lostResponses = 0;
  readonly #schemaCache = new Map<string, FunctionSignature[]>();
  readonly #verifiedTokens = new Map<string, Claims>();
  readonly requests: PostgrestRequestLog[] = [];
  url = "";

  private constructor(databaseUrl: string, jwtSecret: string) {
    const url = new URL(databaseUrl);
    url.username = "authenticator";
    url.password = "postgres";
    this.#sql = postgres(url.toString(), {
      max: 4,
      onnotice: () => {},
      connection: { application_name: "postgrest-double" },
    });
    this.#secret = new TextEncoder().encode(jwtSecret);
    this.#server = createServer((req, res) => void this.#handle(req, res));
  }

  static async start(options: { databaseUrl: string; jwtSecret: string }): Promise<PostgrestDouble> {
    const double = new PostgrestDouble(options.databaseUrl, options.jwtSecret);
    await new Promise<void>((resolve) => double.#server.listen(0, "127.0.0.1", resolve));
    double.url = `http://127.0.0.1:${(double.#server.address() as AddressInfo).port}`;
    return double;
  }

  /** The next `times` requests get 503 without reaching the database (an outage). */
  failNext(times: number): void {
    this.#failures += times;
  }

  /** The next `times` requests are carried out and committed, but answered 503 (the answer was lost). */
  loseNextResponses(times: number): void {
    this.#lostResponses += times;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    await this.#sql.end({ timeout: 5 });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    let role: string | null = null;
    const send = (status: number, body?: unknown) => {
      this.requests.push({ method: req.method ?? "", path, status, role });
      res.writeHead(status, body === undefined ? {} : { "Content-Type": "application/json; charset=utf-8" });
      res.end(body === undefined ? undefined : JSON.stringify(body));
    };
    try {
      const body = await text(req);
      if (this.#failures > 0) {
        this.#failures--;
        return send(503, {
          code: "PGRST000",
          details: null,
          hint: null,
          message: "Database client error. Retrying the connection.",
        });
      }
      const apikey = req.headers.apikey;
      if (typeof apikey !== "string" || !(await this.#verify(apikey)).ok) {
        return send(401, { message: "Invalid API key" });
      }
      const auth = /^Bearer\s+(.+)$/i.exec(String(req.headers.authorization ?? ""));
      const verified = auth ? await this.#verify(auth[1]) : { ok: true as const, claims: { role: "anon" } };
      if (!verified.ok) return send(401, verified.error);
      role = String(verified.claims.role ?? "anon");
      if (req.method !== "POST") {
        return send(405, pgrstError("PGRST117", `Unsupported HTTP method: ${req.method}`));
      }
      const rpc = /^\/rest\/v1\/rpc\/([a-z_][a-z0-9_]*)$/.exec(path);
      const table = /^\/rest\/v1\/([a-z_][a-z0-9_]*)$/.exec(path);
      let parsed: unknown;
      try {
        parsed = body.length ? JSON.parse(body) : {};
      } catch {
        return send(400, pgrstError("PGRST102", "Empty or invalid json"));
      }
      const result = rpc
        ? await this.#callFunction(verified.claims, rpc[1], parsed)
        : table
        ? await this.#insert(verified.claims, table[1], parsed)
        : { status: 404, body: pgrstError("PGRST125", "Invalid path specified in request URL") };
      if (this.#lostResponses > 0 && result.status < 300) {
        this.#lostResponses--;
        return send(503, { code: "PGRST000", details: null, hint: null, message: "connection lost" });
      }
      return send(result.status, result.body);
    } catch (error) {
      return send(500, pgrstError("PGRST000", error instanceof Error ? error.message : "internal error"));
    }
  }

  /**
   * A token verified before is not verified again until it expires, as PostgREST's JWT cache
   * (`jwt-cache-max-lifetime`) does; most requests carry the same key as apikey and bearer.
   */
  async #verify(token: string): Promise<{ ok: true; claims: Claims } | { ok: false; error: unknown }> {
    const cached = this.#verifiedTokens.get(token);
    if (cached && (cached.exp === undefined || cached.exp * 1000 > Date.now())) {
      return { ok: true, claims: cached };
    }
    try {
      const { payload } = await jwtVerify(token, this.#secret, { algorithms: ["HS256"] });
      if (this.#verifiedTokens.size >= 1000) this.#verifiedTokens.clear();
      this.#verifiedTokens.set(token, payload as Claims);
      return { ok: true, claims: payload as Claims };
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) {
        return { ok: false, error: pgrstError("PGRST303", "JWT expired") };
      }
      return {
        ok: false,
        error: pgrstError(
          "PGRST301",
          "JWSError (CompactDecodeError Invalid number of parts: Expected 3 parts; got 1)",
        ),
      };
    }
  }

  /**
   * One transaction as the caller, on one connection: begin, the settings, the statement and commit are sent
   * together (pipelined) and answered in one round trip. A failed statement aborts the transaction, so the
   * commit rolls it back; the first error in order is the one reported, as PostgREST reports it.
   */
  async #asCaller<T>(claims: Claims, fn: (tx: postgres.ReservedSql) => Promise<T>): Promise<T> {
    const tx = await this.#sql.reserve();
    try {
      const settled = await Promise.allSettled([
        tx`begin`,
        tx`select set_config('role', ${String(claims.role ?? "anon")}, true),
                  set_config('request.jwt.claims', ${JSON.stringify(claims)}, true)`,
        fn(tx),
        tx`commit`,
      ]);
      const failed = settled.find((s) => s.status === "rejected");
      if (failed) throw failed.reason;
      return (settled[2] as PromiseFulfilledResult<T>).value;
    } finally {
      tx.release();
    }
  }

  async #callFunction(
    claims: Claims,
    name: string,
    args: unknown,
  ): Promise<{ status: number; body?: unknown }> {
    if (args === null || typeof args !== "object" || Array.isArray(args)) {
      return { status: 400, body: pgrstError("PGRST102", "Expected a JSON object of arguments") };
    }
    const given = Object.keys(args as object);
    // PostgREST picks the overload whose argument names match the body's keys (missing ones must have defaults).
    const candidates = await this.#signatures(name);
    const fn = candidates.find((c) =>
      given.every((k) => c.args.includes(k)) &&
      c.args.slice(0, c.args.length - c.defaults).every((k) => given.includes(k))
    );
    if (!fn) {
      return {
        status: 404,
        body: pgrstError(
          "PGRST202",
          `Could not find the function public.${name}(${given.join(", ")}) in the schema cache`,
        ),
      };
    }
    const used = fn.args.map((a, i) => ({ name: a, type: fn.types[i] })).filter((a) =>
      given.includes(a.name)
    );
    const record = used.map((a) => `${quoteIdent(a.name)} ${a.type}`).join(", ");
    const call = `public.${quoteIdent(name)}(${
      used.map((a) => `${quoteIdent(a.name)} := _.${quoteIdent(a.name)}`).join(", ")
    })`;
    const query = used.length
      ? `select to_json(${call}) as result from json_to_record($1::json) as _(${record})`
      : `select to_json(${call}) as result`;
    try {
      const rows = await this.#asCaller(
        claims,
        (tx) => tx.unsafe(query, used.length ? [args as postgres.JSONValue] : []),
      );
      if (fn.returns === "void") return { status: 204 };
      return { status: 200, body: rows[0]?.result ?? null };
    } catch (error) {
      return pgErrorResponse(error as PgError, claims);
    }
  }

  /**
   * The overloads of public.<name>, read once and kept, as PostgREST keeps its schema cache (it reloads on a
   * schema change; the stand-in serves a database migrated before it started). Not kept while none exist.
   */
  async #signatures(name: string): Promise<FunctionSignature[]> {
    const cached = this.#schemaCache.get(name);
    if (cached) return cached;
    const found = await this.#sql<FunctionSignature[]>`
      select coalesce(p.proargnames[1:p.pronargs], '{}') as args,
             array(select format_type(t, null) from unnest(p.proargtypes) t) as types,
             p.pronargdefaults as defaults, format_type(p.prorettype, null) as returns
        from pg_proc p join pg_namespace n on n.oid = p.pronamespace
       where n.nspname = 'public' and p.proname = ${name}`;
    if (found.length) this.#schemaCache.set(name, [...found]);
    return found;
  }

  async #insert(claims: Claims, table: string, body: unknown): Promise<{ status: number; body?: unknown }> {
    const rows = Array.isArray(body) ? body : [body];
    if (rows.length === 0) return { status: 201 };
    if (!rows.every((r) => r !== null && typeof r === "object" && !Array.isArray(r))) {
      return { status: 400, body: pgrstError("PGRST102", "All object keys must match") };
    }
    const columns = Object.keys(rows[0] as object);
    const list = columns.map(quoteIdent).join(", ");
    const query = `insert into public.${quoteIdent(table)} (${list})
                   select ${list} from json_populate_recordset(null::public.${quoteIdent(table)}, $1::json)`;
    try {
      await this.#asCaller(claims, (tx) => tx.unsafe(query, [rows as postgres.JSONValue]));
      return { status: 201 };
    } catch (error) {
      return pgErrorResponse(error as PgError, claims);
    }
  }
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

function pgrstError(
  code: string,
  message: string,
  details: string | null = null,
  hint: string | null = null,
) {
  return { code, details, hint, message };
}

/** PostgREST's SQLSTATE -> HTTP status mapping (PostgREST 12, Error.hs). */
export function httpStatusForSqlState(code: string, role: string): number {
  const custom = /^PT(\d{3})$/.exec(code);
  if (custom) return Number(custom[1]);
  if (code === "23503" || code === "23505") return 409;
  if (code === "42501") return role === "anon" ? 401 : 403;
  if (code === "42883" || code === "42P01") return 404;
  if (code === "P0001" || code.startsWith("22") || code.startsWith("23")) return 400;
  if (code === "25006") return 405;
  if (code.startsWith("08") || code.startsWith("53") || code === "57P01" || code === "57P03") return 503;
  if (code === "54000" || code.startsWith("54")) return 413;
  return 500;
}

function pgErrorResponse(error: PgError, claims: Claims): { status: number; body: unknown } {
  const code = error.code ?? "XX000";
  return {
    status: httpStatusForSqlState(code, String(claims.role ?? "anon")),
    body: pgrstError(code, error.message ?? "error", error.detail ?? null, error.hint ?? null),
  };
}

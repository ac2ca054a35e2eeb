// The database connection an edge function uses (SUPABASE_DB_URL, which Supabase provides to every
// function), and the way a request runs as its caller: role and request.jwt.claims set inside the
// transaction, exactly as PostgREST does, so row-level security decides what the caller may touch.
import postgres from "postgres";

export type Sql = postgres.Sql;
export type Tx = postgres.TransactionSql;

export function connect(
  url: string,
  options: { max?: number; connectTimeoutSeconds?: number } = {},
): Sql {
  return postgres(url, {
    max: options.max ?? 10,
    connect_timeout: options.connectTimeoutSeconds ?? 5,
    idle_timeout: 30,
    onnotice: () => {},
    connection: { application_name: "edge-function" },
  });
}

export type Claims = { role: string; sub?: string; [claim: string]: unknown };

/** Runs `fn` in one transaction as the caller described by `claims` (PostgREST's way). */
export function asCaller<T>(sql: Sql, claims: Claims, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return sql.begin(async (tx) => {
    await tx`select set_config('role', ${claims.role}, true),
                    set_config('request.jwt.claims', ${JSON.stringify(claims)}, true)`;
    return await fn(tx);
  }) as Promise<T>;
}

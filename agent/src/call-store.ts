// The agent's only door to the database: supabase-js with the call-scoped JWT the dispatcher minted
// (role call_agent, claim call_session_id) as the bearer and the anon key as apikey. Row-level security
// and the agent_* functions decide what it may touch: its one session, and nothing else.
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import type { Speaker } from "@intake/shared/enums";
import { CallContext } from "./call-context.ts";

export type StoreFailure = {
  ok: false;
  /** HTTP status (0 when the request never got an answer). */
  status: number;
  /** PostgREST / SQLSTATE code, e.g. "23505", "PT409", "PGRST301"; "" when none. */
  code: string;
  /** Worth trying again: the service was unreachable or overloaded, not the request wrong. */
  retryable: boolean;
};
export type StoreResult<T = unknown> = { ok: true; data: T } | StoreFailure;

export type TranscriptTurnRow = {
  session_id: string;
  org_id: string;
  sequence: number;
  speaker: Speaker;
  text: string;
  started_at: string;
  ended_at: string;
};

export type FieldWriteResult = { ok: true } | { ok: false; error: string };

/** Retried: no answer, timeouts, rate limits and the gateway's or database's unavailability. */
export function isRetryableStatus(status: number): boolean {
  return status === 0 || status === 408 || status === 429 || status >= 500;
}

const UNIQUE_VIOLATION = "23505";

class RealtimeUnused {
  constructor() {
    throw new Error("the agent worker does not use Supabase Realtime");
  }
}

export class CallStore {
  readonly #client: SupabaseClient;

  constructor(options: { supabaseUrl: string; anonKey: string; agentToken: string; fetch?: typeof fetch }) {
    this.#client = createClient(options.supabaseUrl, options.anonKey, {
      auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
      // The agent never subscribes; Node 20 has no global WebSocket for the client to find.
      realtime: { transport: RealtimeUnused as never },
      global: {
        headers: { Authorization: `Bearer ${options.agentToken}` },
        ...(options.fetch ? { fetch: options.fetch } : {}),
      },
    });
  }

  /** Everything about the call (agent_call_context), parsed. Throws on failure: without it there is no call. */
  async fetchContext(): Promise<CallContext> {
    const result = await this.rpc("agent_call_context", {});
    if (!result.ok) throw new StoreError("agent_call_context", result);
    return CallContext.parse(result.data);
  }

  async rpc<T = unknown>(fn: string, args: Record<string, unknown>): Promise<StoreResult<T>> {
    try {
      const { data, error, status } = await this.#client.rpc(fn, args);
      if (error) return failure(status, error.code);
      return { ok: true, data: data as T };
    } catch {
      return failure(0, "");
    }
  }

  /** Inserts turns in one request. A duplicate (session_id, sequence) fails the whole batch with 23505. */
  async insertTurns(rows: readonly TranscriptTurnRow[]): Promise<StoreResult<null>> {
    try {
      const { error, status } = await this.#client.from("transcript_turns").insert(
        rows as TranscriptTurnRow[],
      );
      if (error) return failure(status, error.code);
      return { ok: true, data: null };
    } catch {
      return failure(0, "");
    }
  }

  /** agent_record_field: the database validates the value against the template and says what is wrong. */
  async recordField(fieldName: string, value: unknown): Promise<StoreResult<FieldWriteResult>> {
    return await this.rpc<FieldWriteResult>("agent_record_field", { field_name: fieldName, value });
  }
}

export function isDuplicate(result: StoreResult): boolean {
  return !result.ok && result.code === UNIQUE_VIOLATION;
}

function failure(status: number, code: string | undefined): StoreFailure {
  return { ok: false, status, code: code ?? "", retryable: isRetryableStatus(status) };
}

export class StoreError extends Error {
  constructor(readonly operation: string, readonly failure: StoreFailure) {
    super(`${operation} failed: HTTP ${failure.status}${failure.code ? ` (${failure.code})` : ""}`);
  }
}

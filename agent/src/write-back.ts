// Everything the agent writes about its call (turns, events, latency, the outcome) goes through this
// queue, never through the audio path: enqueueing is a push onto an array; a single background loop
// sends the operations in order, consecutive turns batched into one insert.
//
// Exactly once, in order: turns carry their per-session sequence number and transcript_turns is unique
// on (session_id, sequence), so a batch that is retried after the database did apply it comes back as
// a duplicate-key error, which counts as success (the batch is then replayed row by row, so a batch that
// was only partly new still lands completely). The RPCs are idempotent by design (agent_end_call and
// agent_mark_answered carry a dedupe key, agent_report_latency merges, agent_save_classification upserts).
//
// Outages: an operation that fails for a retryable reason (no answer, 408, 429, 5xx) stays at the head
// of the queue and is retried with exponential backoff (capped), for as long as the call lasts; `flush`
// on shutdown keeps trying until its deadline. A request the database refuses for good (401, 403, 422,
// ...) is dropped and reported, so one bad write cannot hold back the rest of the call.
import { isDuplicate, type StoreFailure, type StoreResult, type TranscriptTurnRow } from "./call-store.ts";

export interface WriteTarget {
  insertTurns(rows: readonly TranscriptTurnRow[]): Promise<StoreResult<null>>;
  rpc(fn: string, args: Record<string, unknown>): Promise<StoreResult>;
}

export type WriteOperation =
  | { kind: "turn"; row: TranscriptTurnRow }
  | { kind: "rpc"; fn: string; args: Record<string, unknown> };

export type WriteBackOptions = {
  /** Most turns sent in one insert. */
  batchSize?: number;
  /** How long a first write waits for others to join its batch. */
  batchDelayMs?: number;
  retryInitialMs?: number;
  retryMaxMs?: number;
  /** Told about every dropped operation (what it was and why), for logs without content. */
  onDrop?: (operation: string, failure: StoreFailure) => void;
};

export type WriteBackStats = { sent: number; retries: number; dropped: number; pending: number };

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class WriteBackQueue {
  readonly #target: WriteTarget;
  readonly #batchSize: number;
  readonly #batchDelayMs: number;
  readonly #retryInitialMs: number;
  readonly #retryMaxMs: number;
  readonly #onDrop: WriteBackOptions["onDrop"];
  #pending: WriteOperation[] = [];
  #timer: ReturnType<typeof setTimeout> | null = null;
  #draining: Promise<void> | null = null;
  /** The drain loop gives up retrying past this instant (set by flush; Infinity while the call runs). */
  #deadline = Infinity;
  #sent = 0;
  #retries = 0;
  #dropped = 0;

  constructor(target: WriteTarget, options: WriteBackOptions = {}) {
    this.#target = target;
    this.#batchSize = options.batchSize ?? 50;
    this.#batchDelayMs = options.batchDelayMs ?? 25;
    this.#retryInitialMs = options.retryInitialMs ?? 250;
    this.#retryMaxMs = options.retryMaxMs ?? 5_000;
    this.#onDrop = options.onDrop;
  }

  get stats(): WriteBackStats {
    return {
      sent: this.#sent,
      retries: this.#retries,
      dropped: this.#dropped,
      pending: this.#pending.length,
    };
  }

  enqueueTurn(row: TranscriptTurnRow): void {
    this.#pending.push({ kind: "turn", row });
    this.#schedule();
  }

  enqueueRpc(fn: string, args: Record<string, unknown>): void {
    this.#pending.push({ kind: "rpc", fn, args });
    this.#schedule();
  }

  /**
   * Sends everything queued, retrying through outages until `timeoutMs` has passed. Resolves with the
   * number of operations still unsent (0 when all landed).
   */
  async flush(timeoutMs = 30_000): Promise<number> {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    this.#deadline = Date.now() + timeoutMs;
    try {
      while (this.#pending.length > 0 && Date.now() < this.#deadline) {
        this.#draining ??= this.#drain().finally(() => (this.#draining = null));
        await this.#draining;
      }
    } finally {
      this.#deadline = Infinity;
    }
    return this.#pending.length;
  }

  #schedule(): void {
    if (this.#timer || this.#draining) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#draining = this.#drain().finally(() => {
        this.#draining = null;
        if (this.#pending.length > 0 && this.#deadline === Infinity) this.#schedule();
      });
    }, this.#batchDelayMs);
  }

  async #drain(): Promise<void> {
    let delay = this.#retryInitialMs;
    while (this.#pending.length > 0) {
      const outcome = await this.#sendHead();
      if (outcome === "retry") {
        this.#retries++;
        const wait = Math.min(delay, this.#deadline - Date.now());
        if (wait <= 0) return;
        await sleep(wait * (0.8 + Math.random() * 0.4));
        delay = Math.min(delay * 2, this.#retryMaxMs);
        continue;
      }
      delay = this.#retryInitialMs;
    }
  }

  /** Sends the head of the queue (one RPC, or a run of turns) and removes what landed or was dropped. */
  async #sendHead(): Promise<"progress" | "retry"> {
    const head = this.#pending[0];
    if (head.kind === "rpc") {
      const result = await this.#target.rpc(head.fn, head.args);
      return this.#settle(1, result, head.fn);
    }
    const rows: TranscriptTurnRow[] = [];
    for (const op of this.#pending) {
      if (op.kind !== "turn" || rows.length >= this.#batchSize) break;
      rows.push(op.row);
    }
    const result = await this.#target.insertTurns(rows);
    if (isDuplicate(result) && rows.length > 1) {
      // Some of these landed before (a retry after a lost answer): the rest go one by one.
      for (const row of rows) {
        const single = await this.#target.insertTurns([row]);
        if (this.#settle(1, single, "transcript_turns") === "retry") return "retry";
      }
      return "progress";
    }
    return this.#settle(rows.length, result, "transcript_turns");
  }

  #settle(count: number, result: StoreResult, operation: string): "progress" | "retry" {
    if (result.ok || isDuplicate(result)) {
      this.#pending.splice(0, count);
      this.#sent += count;
      return "progress";
    }
    if (result.retryable) return "retry";
    this.#pending.splice(0, count);
    this.#dropped += count;
    this.#onDrop?.(operation, result);
    return "progress";
  }
}

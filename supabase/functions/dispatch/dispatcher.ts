// One dispatcher run: reconcile the attempts whose origination is in doubt, then originate the claimed calls
// (the ones handed over, or as many as it can claim itself within its time budget), C at a time.
//
// Per call: begin_call_attempt (the attempt, once per claim) -> the agent's credential -> the carrier's
// origination -> record_origination. What a carrier failure does to the call (errors.ts):
//   retryable      release_call_claim: back to the queue in 30 s, no attempt spent
//   misconfigured  release_call_claim: back to the queue in 5 min, no attempt spent
//   rejected       record_session_outcome with the carrier's outcome (and SIP status): retried by policy or ended
//   in_doubt       defer_to_reconciliation: the next run asks the carrier (found: dialing; not found: released)
// Nothing is ever originated twice: an attempt is originated only by the run that created it, and every other
// path to a `created` attempt goes through reconciliation. The origination is sent within its send window (the
// reconciliation grace minus the carrier timeout), so it has ended before a reconciler may ask the carrier; one
// held longer by a rate limit is released instead. A run that dies leaves claims that lapse and come back
// (reclaim_expired_leases), to the queue or to reconciliation.
//
// Fairness: work is taken round-robin across organisations (FairQueue) after the claims themselves were taken
// round-robin (claim_due_calls), so one org's backlog never makes another's calls wait behind it; the carriers'
// token buckets serve requests in arrival order.
import type { DispatchRequest } from "../../../shared/src/dispatch-request.ts";
import { mintAgentToken } from "../../../shared/src/agent-credential.ts";
import type { CallOutcome, EventSource } from "../../../shared/src/enums.ts";
import { CarrierError, type Carriers } from "../_shared/carriers/index.ts";
import type { AttemptContext, LiveSession } from "../_shared/carriers/types.ts";
import type { Sql } from "../_shared/database.ts";
import { businessError } from "../_shared/database-errors.ts";

export type DispatcherSettings = {
  /** Calls originated at once (DISPATCH_CONCURRENCY). */
  concurrency: number;
  /** Calls claimed per claim_due_calls (DISPATCH_CLAIM_BATCH); null: the platform's dispatch_batch_size. */
  claimBatch: number | null;
  /** How long a run starts new work (DISPATCH_RUN_BUDGET_MS); claims not started by then are released. */
  runBudgetMs: number;
  /** Only attempts created this long ago are reconciled: their request has surely timed out by then. */
  reconcileGraceSeconds: number;
  /** The carriers' request timeout: an origination is sent early enough to end before the grace does. */
  carrierTimeoutMs: number;
  /** Attempts reconciled per run at most. */
  reconcileBatch: number;
  /** SUPABASE_JWT_SECRET: signs the agents' per-attempt credentials. */
  jwtSecret: string;
};

/** Time between the end of an origination request and the start of the reconciliation grace. */
const SEND_MARGIN_MS = 1_000;

/** How long a released call waits before it may be claimed again. */
const RETRY_AFTER_SECONDS = { retryable: 30, misconfigured: 300 } as const;

export type OriginationResult =
  | "dialing" // originated and recorded
  | "rejected" // the carrier refused this call: the attempt ended with its outcome
  | "released" // the carrier failed before anything was created: back to the queue
  | "not_configured" // the call's carrier lacks settings: back to the queue for later
  | "in_doubt" // the request may have reached the carrier: reconciled next run
  | "deferred" // the claim's attempt already existed (a duplicate delivery): reconciled, not originated
  | "not_dialable" // a web call: closed, never dialled
  | "cancelled" // cancelled while being originated: hung up
  | "claim_lost" // the claim was no longer this run's (lease lapsed, cancelled)
  | "unstarted" // the run's time budget ended first: released at once
  | "error"; // the database failed mid-way: the lease brings the call back

export type ReconciliationResult =
  | "found" // the carrier had it: the attempt is dialing
  | "not_found" // it never arrived: the call is back in the queue
  | "hung_up" // found, but the call had been cancelled or had expired: hung up
  | "ended" // not found, and the call had been cancelled or had expired: the attempt ends
  | "still_in_doubt" // the carrier could not be asked: next run
  | "error";

export type DispatchSummary = {
  reason: string;
  claims: { given: number; claimed: number };
  originations: Partial<Record<OriginationResult, number>>;
  reconciliations: Partial<Record<ReconciliationResult, number>>;
  duration_ms: number;
};

type ReconciliationRow = {
  session_id: string;
  intake_call_id: string;
  claim_token: string | null;
  call_status: string;
  context: AttemptContext;
};

type Job =
  | { kind: "originate"; callId: string; claim: string }
  | { kind: "reconcile"; row: ReconciliationRow };

/** Round-robin over keys (organisations): each shift takes from the next key that has work. */
export class FairQueue<T> {
  #lanes = new Map<string, T[]>();
  #size = 0;

  get size(): number {
    return this.#size;
  }

  push(key: string, item: T): void {
    const lane = this.#lanes.get(key);
    if (lane) lane.push(item);
    else this.#lanes.set(key, [item]);
    this.#size++;
  }

  shift(): T | undefined {
    for (const [key, lane] of this.#lanes) {
      const item = lane.shift()!;
      // Re-inserting moves the key behind every other one: the next shift serves the next org.
      this.#lanes.delete(key);
      if (lane.length) this.#lanes.set(key, lane);
      this.#size--;
      return item;
    }
    return undefined;
  }

  drain(): T[] {
    const all: T[] = [];
    for (let item = this.shift(); item !== undefined; item = this.shift()) all.push(item);
    return all;
  }
}

/** How an attempt found alive after its call became final ends. */
function outcomeAfterFinal(callStatus: string): Extract<CallOutcome, "cancelled" | "expired" | "terminated"> {
  return callStatus === "cancelled" ? "cancelled" : callStatus === "expired" ? "expired" : "terminated";
}

function log(event: string, fields: Record<string, unknown>): void {
  // Ids, carriers and codes only: never a number, a name or an answer.
  console.warn(JSON.stringify({ event, ...fields }));
}

export class Dispatcher {
  readonly #sql: Sql;
  readonly #carriers: Carriers;
  readonly #settings: DispatcherSettings;

  constructor(sql: Sql, carriers: Carriers, settings: DispatcherSettings) {
    this.#sql = sql;
    this.#carriers = carriers;
    this.#settings = settings;
  }

  /**
   * Runs `query` on the dispatcher's connection as it is: the database owner's (SUPABASE_DB_URL), which may
   * execute the service_role-only functions. One round trip per statement: switching to service_role for each
   * (asCaller) costs three more round trips, about a third of the dispatcher's CPU in bench/dispatch.bench.mjs,
   * and protects nothing on a connection that can switch back.
   */
  #service<T>(query: (sql: Sql) => Promise<T>): Promise<T> {
    return query(this.#sql);
  }

  async run(request: DispatchRequest): Promise<DispatchSummary> {
    const started = performance.now();
    const deadline = started + this.#settings.runBudgetMs;
    const summary: DispatchSummary = {
      reason: request.reason,
      claims: { given: request.claims.length, claimed: 0 },
      originations: {},
      reconciliations: {},
      duration_ms: 0,
    };
    const queue = new FairQueue<Job>();

    const reconciliations = await this.#service((tx) =>
      tx<ReconciliationRow[]>`
        select session_id, intake_call_id, claim_token, call_status, context
          from public.claim_reconciliations(${this.#settings.reconcileBatch}, ${this.#settings.reconcileGraceSeconds})`
    );
    for (const row of reconciliations) queue.push(row.context.session.org_id, { kind: "reconcile", row });

    if (request.claims.length) {
      const ids = request.claims.map((c) => c.intake_call_id);
      const orgs = new Map(
        (await this.#service((tx) =>
          tx<
            { id: string; org_id: string }[]
          >`select id, org_id from public.intake_calls where id = any(${ids}::uuid[])`
        )).map((r) => [r.id, r.org_id]),
      );
      for (const claim of request.claims) {
        queue.push(orgs.get(claim.intake_call_id) ?? "", {
          kind: "originate",
          callId: claim.intake_call_id,
          claim: claim.claim_token,
        });
      }
    }

    // Claiming more (only when no claims were handed over), one claim query at a time, ahead of the workers.
    let exhausted = request.claims.length > 0;
    let refilling: Promise<void> | null = null;
    const refill = () => {
      refilling ??= this.#service((tx) =>
        tx<{ intake_call_id: string; org_id: string; claim_token: string }[]>`
          select intake_call_id, org_id, claim_token from public.claim_due_calls(${this.#settings.claimBatch})`
      ).then((rows) => {
        summary.claims.claimed += rows.length;
        if (rows.length === 0) exhausted = true;
        for (const r of rows) {
          queue.push(r.org_id, { kind: "originate", callId: r.intake_call_id, claim: r.claim_token });
        }
      }, (error) => {
        exhausted = true;
        log("dispatch.claim_failed", { error: error instanceof Error ? error.name : "unknown" });
      }).finally(() => {
        refilling = null;
      });
      return refilling;
    };

    const count = <K extends string>(into: Partial<Record<K, number>>, key: K) => {
      into[key] = (into[key] ?? 0) + 1;
    };

    const worker = async () => {
      while (performance.now() < deadline) {
        if (!exhausted && queue.size < this.#settings.concurrency) refill();
        const job = queue.shift();
        if (!job) {
          if (refilling) await refilling;
          else if (exhausted) return;
          continue;
        }
        if (job.kind === "originate") count(summary.originations, await this.#originate(job));
        else count(summary.reconciliations, await this.#reconcile(job.row));
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, this.#settings.concurrency) }, worker));
    await refilling;

    // Out of time: what was not started goes back at once, to the queue or to the next reconciler.
    for (const job of queue.drain()) {
      if (job.kind === "originate") {
        count(summary.originations, await this.#release(job, "run_budget_exhausted", 0, "unstarted"));
      } else if (job.row.claim_token) {
        await this.#defer(job.row.session_id, "run_budget_exhausted").catch(() => {});
        count(summary.reconciliations, "still_in_doubt");
      }
    }
    summary.duration_ms = Math.round(performance.now() - started);
    return summary;
  }

  async #release(
    job: { callId: string; claim: string },
    reason: string,
    retryAfterSeconds: number,
    result: OriginationResult,
  ): Promise<OriginationResult> {
    try {
      await this.#service((tx) =>
        tx`select public.release_call_claim(${job.callId}, ${job.claim}, ${reason}, ${retryAfterSeconds})`
      );
      return result;
    } catch (error) {
      if (businessError(error)?.status === 409) return "claim_lost";
      throw error;
    }
  }

  async #defer(sessionId: string, reason: string): Promise<void> {
    await this.#service((tx) => tx`select public.defer_to_reconciliation(${sessionId}, ${reason})`);
  }

  async #recordOutcome(
    sessionId: string,
    outcome: CallOutcome,
    source: Extract<EventSource, "carrier" | "dispatcher">,
    payload: Record<string, string> = {},
    sipStatus: number | null = null,
  ): Promise<void> {
    await this.#service((tx) =>
      tx`select public.record_session_outcome(${sessionId}, ${outcome}::public.call_outcome,
                                              ${source}::public.event_source, null, ${
        tx.json(payload)
      }, ${sipStatus})`
    );
  }

  /** Records the carrier's ids; hangs up at once when the call was cancelled or expired meanwhile. */
  async #recordOrigination(
    session: LiveSession,
    carrierCallId: string | null,
    dispatchId: string | null,
  ): Promise<boolean> {
    const [{ recorded }] = await this.#service((tx) =>
      tx<{ recorded: { hang_up: boolean; call_status: string } }[]>`
        select public.record_origination(${session.id}, ${carrierCallId}, ${dispatchId}) as recorded`
    );
    if (!recorded.hang_up) return false;
    const live = { ...session, carrier_call_id: carrierCallId ?? session.carrier_call_id };
    await this.#carriers.for(session.carrier).hangUp(live).catch((error) => {
      log("dispatch.hang_up_failed", {
        session_id: session.id,
        code: (error as CarrierError).code ?? "unknown",
      });
    });
    await this.#recordOutcome(session.id, outcomeAfterFinal(recorded.call_status), "dispatcher");
    return true;
  }

  async #originate(job: { callId: string; claim: string }): Promise<OriginationResult> {
    try {
      let begun: AttemptContext & { deferred: boolean; not_dialable?: boolean };
      try {
        [{ begun }] = await this.#service((tx) =>
          tx`select public.begin_call_attempt(${job.callId}, ${job.claim}) as begun`
        );
      } catch (error) {
        if (businessError(error)?.status === 409) return "claim_lost";
        throw error;
      }
      if (begun.deferred) return "deferred";
      if (begun.not_dialable) return "not_dialable";
      const { session } = begun;
      // Sent (or given up) early enough that the request has ended before a reconciler may look at the attempt.
      const sendBy = Date.now() + Math.max(
        0,
        this.#settings.reconcileGraceSeconds * 1000 - this.#settings.carrierTimeoutMs - SEND_MARGIN_MS,
      );

      let carrier;
      try {
        carrier = this.#carriers.for(session.carrier);
      } catch (error) {
        log("dispatch.not_configured", { session_id: session.id, carrier: session.carrier });
        return await this.#release(
          job,
          (error as CarrierError).code,
          RETRY_AFTER_SECONDS.misconfigured,
          "not_configured",
        );
      }

      const { token } = await mintAgentToken({
        jwtSecret: this.#settings.jwtSecret,
        sessionId: session.id,
        maxDurationSeconds: begun.template.max_duration_seconds,
      });
      let origination;
      try {
        origination = await carrier.originate({ ...begun, agentToken: token, sendBy });
      } catch (thrown) {
        const error = thrown instanceof CarrierError ? thrown : new CarrierError(
          session.carrier === "twilio" ? "twilio" : "livekit",
          "in_doubt",
          "unexpected_error",
        );
        log("dispatch.origination_failed", {
          session_id: session.id,
          carrier: session.carrier,
          failure: error.failure,
          code: error.code,
        });
        switch (error.failure) {
          case "rejected":
            await this.#recordOutcome(
              session.id,
              error.outcome ?? "failed",
              "carrier",
              { code: error.code },
              error.sipStatusCode,
            );
            return "rejected";
          case "retryable": {
            // Held too long by a rate limit: nothing is wrong with the call, it may go again at once.
            const retryAfter = error.code === "send_window_passed" ? 0 : RETRY_AFTER_SECONDS.retryable;
            return await this.#release(job, error.code, retryAfter, "released");
          }
          case "misconfigured":
            return await this.#release(job, error.code, RETRY_AFTER_SECONDS.misconfigured, "not_configured");
          case "in_doubt":
            await this.#defer(session.id, error.code);
            return "in_doubt";
        }
      }
      const hungUp = await this.#recordOrigination(
        session,
        origination.carrierCallId,
        origination.dispatchId,
      );
      return hungUp ? "cancelled" : "dialing";
    } catch (error) {
      log("dispatch.error", {
        intake_call_id: job.callId,
        error: error instanceof Error ? error.name : "unknown",
      });
      return "error";
    }
  }

  async #reconcile(row: ReconciliationRow): Promise<ReconciliationResult> {
    const { session } = row.context;
    try {
      let found;
      try {
        found = await this.#carriers.for(session.carrier).reconcile(row.context);
      } catch (error) {
        log("dispatch.reconcile_failed", {
          session_id: session.id,
          code: (error as CarrierError).code ?? "unknown",
        });
        if (row.claim_token) await this.#defer(session.id, "reconcile_failed");
        return "still_in_doubt";
      }
      if (row.claim_token) {
        if (!found.found) {
          const released = await this.#release(
            { callId: row.intake_call_id, claim: row.claim_token },
            "not_at_carrier",
            0,
            "released",
          );
          // A claim lost meanwhile means the call was cancelled: its attempt is an orphan for the next run.
          return released === "released" ? "not_found" : "still_in_doubt";
        }
        const hungUp = await this.#recordOrigination(session, found.carrierCallId, found.dispatchId);
        return hungUp ? "hung_up" : "found";
      }
      // The call became final while the attempt's origination was in doubt.
      if (!found.found) {
        await this.#recordOutcome(session.id, "not_dialed", "dispatcher");
        return "ended";
      }
      await this.#carriers.for(session.carrier).hangUp({
        ...session,
        carrier_call_id: found.carrierCallId ?? session.carrier_call_id,
      });
      await this.#recordOutcome(session.id, outcomeAfterFinal(row.call_status), "dispatcher");
      return "hung_up";
    } catch (error) {
      log("dispatch.error", {
        session_id: session.id,
        error: error instanceof Error ? error.name : "unknown",
      });
      return "error";
    }
  }
}

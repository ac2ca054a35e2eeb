// The simulation carrier: nothing is dialled. With LiveKit configured, the agent is dispatched to the attempt's
// room as for a real call (carrier `simulation`, no trunk), and a scripted callee joins it there. Without
// LiveKit, the same job metadata (ids and the attempt's call-scoped credential) is POSTed to the simulation
// runner at SIMULATION_AGENT_URL (the local stack's stand-in for LiveKit's agent dispatch:
// agent/src/simulation/runner.ts), which holds the call in text with the same agent code. Either way the
// attempt follows the same state machine as a real one.
import { agentJobMetadata } from "../../../../shared/src/agent-credential.ts";
import { CarrierError } from "./errors.ts";
import type { LiveKitApi } from "./livekit.ts";
import type {
  AttemptContext,
  CarrierClient,
  LiveSession,
  Origination,
  OriginationRequest,
  Reconciliation,
} from "./types.ts";

export function simulatedCallId(sessionId: string): string {
  return `sim-${sessionId}`;
}

export class SimulationCarrier implements CarrierClient {
  readonly name = "simulation" as const;
  readonly #liveKit: LiveKitApi | null;
  readonly #runnerUrl: string | null;
  readonly #timeoutMs: number;

  constructor(liveKit: LiveKitApi | null, runnerUrl: string | null = null, timeoutMs = 10_000) {
    this.#liveKit = liveKit;
    this.#runnerUrl = runnerUrl;
    this.#timeoutMs = timeoutMs;
  }

  async originate(request: OriginationRequest): Promise<Origination> {
    const carrierCallId = simulatedCallId(request.session.id);
    if (!this.#liveKit && this.#runnerUrl) {
      await this.#sendToRunner(request);
      return { carrierCallId, dispatchId: null };
    }
    if (!this.#liveKit) return { carrierCallId, dispatchId: null };
    const dispatch = await this.#liveKit.createAgentDispatch(request, "simulation", null);
    return { carrierCallId, dispatchId: dispatch.id };
  }

  async #sendToRunner(request: OriginationRequest): Promise<void> {
    const metadata = agentJobMetadata(request.session, {
      carrier: "simulation",
      agentToken: request.agentToken,
      sipTrunkId: null,
    });
    let res: Response;
    try {
      res = await fetch(this.#runnerUrl!, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ metadata }),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (error) {
      // Refused: nothing arrived, retry later. Timed out: it may have arrived, and reconciliation decides
      // (see reconcile).
      const timedOut = error instanceof DOMException && error.name === "TimeoutError";
      throw new CarrierError(
        "livekit",
        timedOut ? "in_doubt" : "retryable",
        timedOut ? "timeout" : "runner_unreachable",
      );
    }
    await res.body?.cancel();
    // The runner cannot play this call's scenario (a persona without a model configured, or a scenario in a
    // format it no longer reads): the attempt ends as failed with this code; anything else is the runner's
    // trouble and may pass.
    if (res.status === 422) {
      throw new CarrierError("livekit", "rejected", "runner:scenario_unplayable", { status: res.status });
    }
    if (!res.ok) {
      throw new CarrierError("livekit", "retryable", `runner:${res.status}`, { status: res.status });
    }
  }

  async reconcile(attempt: AttemptContext): Promise<Reconciliation> {
    const carrierCallId = simulatedCallId(attempt.session.id);
    if (!this.#liveKit) {
      // Without a runner, originating contacts nothing, so it cannot have been lost. With one, only an attempt
      // still `created` after the grace period is reconciled, and a job the runner took would have moved it on
      // long before (its agent records the answer at once): the job never arrived, and the call is released.
      return this.#runnerUrl ? { found: false } : { found: true, carrierCallId, dispatchId: null };
    }
    const dispatchId = await this.#liveKit.findAgentDispatch(attempt.session.room_name);
    return dispatchId ? { found: true, carrierCallId, dispatchId } : { found: false };
  }

  async hangUp(session: LiveSession): Promise<void> {
    await this.#liveKit?.deleteRoom(session.room_name);
  }

  transfer(): Promise<void> {
    return Promise.reject(
      new CarrierError("livekit", "rejected", "transfer_not_simulated", {
        message: "a simulated call cannot be transferred to a phone",
      }),
    );
  }
}

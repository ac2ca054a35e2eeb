// The simulation carrier: nothing is dialled. With LiveKit configured, the agent is dispatched to the attempt's
// room as for a real call (carrier `simulation`, no trunk), and a scripted callee joins it there; without
// LiveKit, the attempt is marked dialing with carrier call id `sim-<session>` and no dispatch, which is what the
// local simulation runner looks for. Either way the attempt follows the same state machine as a real one.
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

  constructor(liveKit: LiveKitApi | null) {
    this.#liveKit = liveKit;
  }

  async originate(request: OriginationRequest): Promise<Origination> {
    const carrierCallId = simulatedCallId(request.session.id);
    if (!this.#liveKit) return { carrierCallId, dispatchId: null };
    const dispatch = await this.#liveKit.createAgentDispatch(request, "simulation", null);
    return { carrierCallId, dispatchId: dispatch.id };
  }

  async reconcile(attempt: AttemptContext): Promise<Reconciliation> {
    const carrierCallId = simulatedCallId(attempt.session.id);
    // Without LiveKit, originating contacts nothing, so it cannot have been lost.
    if (!this.#liveKit) return { found: true, carrierCallId, dispatchId: null };
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

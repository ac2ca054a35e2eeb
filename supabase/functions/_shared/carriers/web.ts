// The web "carrier": nobody is dialled; the person joins the attempt's LiveKit room from a browser (web-calls
// creates the attempt and the agent dispatch itself, never the dispatcher). What applies to a live web call:
// reconciliation (web-calls died between creating the attempt and recording the dispatch: is the agent in the
// room?), and hanging up (cancel, terminate) by closing the room.
import { CarrierError } from "./errors.ts";
import type { LiveKitApi } from "./livekit.ts";
import type { AttemptContext, CarrierClient, LiveSession, Origination, Reconciliation } from "./types.ts";

export class WebCarrier implements CarrierClient {
  readonly name = "web" as const;
  readonly #liveKit: LiveKitApi;

  constructor(liveKit: LiveKitApi) {
    this.#liveKit = liveKit;
  }

  originate(): Promise<Origination> {
    return Promise.reject(new CarrierError("livekit", "rejected", "web_calls_are_not_dialled"));
  }

  async reconcile(attempt: AttemptContext): Promise<Reconciliation> {
    const dispatchId = await this.#liveKit.findAgentDispatch(attempt.session.room_name);
    return dispatchId ? { found: true, carrierCallId: null, dispatchId } : { found: false };
  }

  hangUp(session: LiveSession): Promise<void> {
    return this.#liveKit.deleteRoom(session.room_name);
  }

  transfer(): Promise<void> {
    return Promise.reject(
      new CarrierError("livekit", "rejected", "transfer_not_possible", {
        message: "a web call has no phone leg to transfer",
      }),
    );
  }
}

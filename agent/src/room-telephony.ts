// The phone line of a real call: LiveKit SIP through the room the job joined.
import type { JobContext } from "@livekit/agents";
import type { SipClient } from "livekit-server-sdk";
import { dtmfCode } from "./sip.ts";
import type { Telephony } from "./telephony.ts";

const DTMF_GAP_MS = 300;

export class RoomTelephony implements Telephony {
  constructor(
    private readonly ctx: JobContext,
    private readonly sip: SipClient,
    private readonly calleeIdentity: () => string | null,
  ) {}

  async transfer(phone: string): Promise<void> {
    const identity = this.calleeIdentity();
    if (!identity) throw new Error("no callee to transfer");
    await this.sip.transferSipParticipant(this.ctx.room.name ?? "", identity, `tel:${phone}`, {
      playDialtone: true,
    });
  }

  async sendDtmf(digits: string): Promise<void> {
    const local = this.ctx.room.localParticipant;
    if (!local) throw new Error("not connected to the room");
    for (const digit of digits) {
      await local.publishDtmf(dtmfCode(digit), digit);
      await new Promise((resolve) => setTimeout(resolve, DTMF_GAP_MS));
    }
  }

  async hangUp(): Promise<void> {
    // Deleting the room disconnects every participant, the SIP leg included.
    await this.ctx.deleteRoom();
  }
}

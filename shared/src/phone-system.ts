// A clinic's phone system as the platform learns it (phone_system_classifications, seed 004): what answers,
// and the key presses, timed from the answer, that reach a human. Written by the agent, replayed by the
// dispatcher (Twilio sendDigits) and by the agent itself. The classification's names: PhoneSystemType (enums.ts).
import { z } from "zod";

export const IvrStep = z.object({
  /** Milliseconds after the callee answered. */
  after_ms: z.number().int().min(0),
  dtmf: z.string().regex(/^[0-9*#A-D]+$/),
});
export type IvrStep = z.infer<typeof IvrStep>;

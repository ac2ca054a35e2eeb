// One call's conversation, independent of how audio reaches it: the AgentSession (with a room, or text
// only), the IntakeAgent and its tools, the emergency guard, who-answered handling (voicemail, IVR,
// call screener), silence and duration limits, latency figures, and every write-back. The room/SIP
// plumbing (call-runner.ts) and a simulated call only differ in the Telephony they hand in.
import { type AgentSession, voice } from "@livekit/agents";
import type { AgentOutcome } from "@intake/shared/agent-job";
import { detectEscalation, type EscalationResult } from "@intake/shared/escalation";
import type { AnsweredBy } from "@intake/shared/enums";
import { type ClassifiedAnswer, classifyAnswer } from "./answer-classifier.ts";
import type { IvrStep } from "@intake/shared/phone-system";
import type { CallContext, FieldDefinition } from "./call-context.ts";
import type { FieldWriteResult, StoreResult } from "./call-store.ts";
import { type IntakeActions, IntakeAgent, MODEL_OUTCOMES, type TurnDecision } from "./intake-agent.ts";
import type { AgentLogger } from "./logging.ts";
import { fillVariables, greetingFor, needsReadBack, promptVariables } from "./prompt.ts";
import type { PhiRegistry } from "./phi.ts";
import type { Telephony } from "./telephony.ts";
import type { WriteBackQueue } from "./write-back.ts";

export type CallOutcome = AgentOutcome;

/** The dedupe key of the attempt's end: whoever reports it first (the call or the line), the database keeps one. */
export const endOfCallKey = (sessionId: string) => `agent:${sessionId}:end`;

export interface FieldWriter {
  recordField(fieldName: string, value: unknown): Promise<StoreResult<FieldWriteResult>>;
}

export type ConversationTiming = {
  /** No callee speech for this long: ask whether they are still there. */
  silencePromptMs: number;
  /** Still nothing this long after the prompt: end the call. */
  silenceHangUpMs: number;
  /** Hard limit of the call, from connection (default: the template's max_duration_seconds). */
  maxDurationMs: number;
  /** Wait after a voicemail greeting ends before speaking (the beep). */
  voicemailBeepMs: number;
  /** Longest wait for a goodbye to play out before the line is closed anyway. */
  goodbyeTimeoutMs: number;
  /** How long the final write-back may retry through an outage before the job ends. */
  flushTimeoutMs: number;
};

export type ConversationOptions = {
  context: CallContext;
  instructions: string;
  writer: WriteBackQueue;
  fields: FieldWriter;
  telephony: Telephony;
  logger: AgentLogger;
  phi: PhiRegistry;
  /** realtime: callee lines come from the model's transcription events, not through llmNode. */
  mode: "realtime" | "pipeline" | "text";
  timing?: Partial<ConversationTiming>;
};

export type ConversationResult = { outcome: CallOutcome; unsentWrites: number };

export type LatencyFigures = {
  first_greeting_ms?: number;
  turn_response_ms_p50?: number;
  turn_response_ms_max?: number;
  turns?: number;
};

/** Said when an emergency is detected. Fixed text: never left to the model. */
export function emergencyScript(orgName: string): string {
  return "I'm concerned about what you just told me, and I'm not able to help with an emergency. " +
    "Please hang up now and call 911, or your local emergency number, right away. " +
    `I'm letting the team at ${orgName} know about this call.`;
}

/** What the tools tell the model (tests key their scripted model on these). */
export const toolReplies = {
  readBack: (field: string, value: string) =>
    `Read the value back to the person ("${value}") and ask if it is correct; then call confirm_field with ` +
    `${field}. Do not store it before they confirm.`,
  saved: (field: string) => `Saved ${field}.`,
  /** The database could not be reached: the answer is queued and delivered by write-back. */
  noted: (field: string) => `Noted ${field}.`,
  discarded: (field: string) => `Discarded. Ask for ${field} again and record the corrected value.`,
  transferring: "The call is being transferred.",
  callbackPromised: "Nobody can take the call now; a callback was promised and the call is ending.",
  optedOut: "The person will not be called again; the call is ending.",
  ending: "The call is ending.",
  pressed: (digits: string) => `Pressed ${digits}. Wait for the next prompt or for a person.`,
};

export const OPT_OUT_GOODBYE = "I understand. We won't call you again. Thank you, and goodbye.";
export const SILENCE_PROMPT = "Are you still there?";
export const SILENCE_GOODBYE = "It seems we got disconnected. We'll try again another time. Goodbye.";
const SCREENER_REPLY = (org: string) =>
  `Hello, this is an automated assistant calling on behalf of ${org}. Could you please connect me?`;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

export class CallConversation implements IntakeActions {
  readonly agent: IntakeAgent;
  readonly ended: Promise<ConversationResult>;
  readonly #context: CallContext;
  readonly #writer: WriteBackQueue;
  readonly #fields: FieldWriter;
  readonly #telephony: Telephony;
  readonly #log: AgentLogger;
  readonly #phi: PhiRegistry;
  readonly #mode: ConversationOptions["mode"];
  readonly #timing: ConversationTiming;
  readonly #fieldsByName: Map<string, FieldDefinition>;
  #resolveEnded!: (result: ConversationResult) => void;
  #session: AgentSession | null = null;

  #sequence = 0;
  #connectedAt: number | null = null;
  #answeredBy: ClassifiedAnswer | null = null;
  #phase: "conversation" | "ivr" | "screener" = "conversation";
  #ivrSteps: IvrStep[] = [];
  #calleeTurns = 0;
  #lastCalleeAt: number | null = null;
  #responseTimes: number[] = [];
  #firstGreetingMs: number | undefined;
  #pendingReadBack = new Map<string, string>();
  #recorded = new Set<string>();
  #escalatedCategories = new Set<string>();
  #currentSpeech: voice.SpeechHandle | null = null;
  #ending: CallOutcome | null = null;
  #silenceTimer: ReturnType<typeof setTimeout> | null = null;
  #silencePrompted = false;
  #durationTimer: ReturnType<typeof setTimeout> | null = null;
  /** The session closed or the call ended: no timer may start again. */
  #closed = false;

  constructor(options: ConversationOptions) {
    this.#context = options.context;
    this.#writer = options.writer;
    this.#fields = options.fields;
    this.#telephony = options.telephony;
    this.#log = options.logger;
    this.#phi = options.phi;
    this.#mode = options.mode;
    this.#timing = {
      silencePromptMs: 10_000,
      silenceHangUpMs: 10_000,
      maxDurationMs: options.context.template.max_duration_seconds * 1000,
      voicemailBeepMs: 1_000,
      goodbyeTimeoutMs: 15_000,
      flushTimeoutMs: 60_000,
      ...options.timing,
    };
    this.#fieldsByName = new Map(options.context.template.fields.map((f) => [f.name, f]));
    for (const name of Object.keys(options.context.call.results)) this.#recorded.add(name);
    this.ended = new Promise((resolve) => (this.#resolveEnded = resolve));
    this.agent = new IntakeAgent({ instructions: options.instructions, actions: this });
  }

  get isEnding(): boolean {
    return this.#ending !== null;
  }

  /** Wires the session's events. Call before session.start. */
  attach(session: AgentSession): void {
    this.#session = session;
    session.on(voice.AgentSessionEventTypes.ConversationItemAdded, (ev) => this.#onItem(ev.item));
    session.on(voice.AgentSessionEventTypes.SpeechCreated, (ev) => {
      // Once the call is ending only our fixed sentences are spoken: a model reply racing them (a realtime
      // model answers on its own turn detection) is cut.
      if (this.#ending && ev.source !== "say") ev.speechHandle.interrupt();
      else this.#currentSpeech = ev.speechHandle;
    });
    session.on(voice.AgentSessionEventTypes.UserStateChanged, (ev) => {
      if (ev.newState === "speaking") this.#armSilenceTimer({ calleeSpoke: true });
    });
    session.on(voice.AgentSessionEventTypes.AgentStateChanged, (ev) => {
      if (ev.newState === "listening") this.#armSilenceTimer();
    });
    // The session can close under the conversation (the callee hung up, the job is shutting down).
    session.on(voice.AgentSessionEventTypes.Close, () => this.#stopTimers());
    if (this.#mode === "realtime") {
      session.on(voice.AgentSessionEventTypes.UserInputTranscribed, (ev) => {
        if (ev.isFinal) this.#onRealtimeTranscript(ev.transcript);
      });
    }
  }

  /**
   * The callee is connected (SIP call status active, or the text session started): replay a known IVR
   * path or greet, and start the clocks. Everything it needs was loaded before the callee answered.
   */
  onConnected(): voice.SpeechHandle | null {
    const session = this.#requireSession();
    this.#connectedAt = performance.now();
    this.#durationTimer = setTimeout(() => this.#onMaxDuration(), this.#timing.maxDurationMs);
    const known = this.#context.classification;
    let greeting: voice.SpeechHandle | null = null;
    if (known && known.ivr_steps.length > 0 && known.classification !== "human") {
      this.#phase = "ivr";
      this.#answeredBy = "ivr";
      this.#markAnswered("ivr");
      this.#replayIvr(known.ivr_steps);
    } else {
      greeting = session.say(greetingFor(this.#context), { allowInterruptions: true });
      this.#firstGreetingMs = performance.now() - this.#connectedAt;
    }
    this.#armSilenceTimer();
    return greeting;
  }

  // ------------------------------------------------------------------------------------------------
  // The turn path: called for every final callee line before the model answers.

  onCalleeTurn(text: string): TurnDecision {
    this.#calleeTurns++;
    this.#lastCalleeAt = Date.now();
    this.#armSilenceTimer({ calleeSpoke: true });
    if (this.#ending) return { kind: "silent" };

    const escalation = detectEscalation(text);
    if (escalation.level === "emergency") return this.#onEmergency(escalation);
    if (escalation.level === "high_priority") this.#recordHighPriority(escalation);

    if (this.#answeredBy === null || this.#phase !== "conversation") {
      const answeredBy = classifyAnswer(text);
      const decision = this.#onAnswerClassified(answeredBy);
      if (decision) return decision;
    }
    return { kind: "model" };
  }

  #onRealtimeTranscript(text: string): void {
    const decision = this.onCalleeTurn(text);
    if (decision.kind === "model") return;
    const session = this.#requireSession();
    session.interrupt();
    if (decision.kind === "say") session.say(decision.text, { allowInterruptions: false });
  }

  #onEmergency(escalation: EscalationResult): TurnDecision {
    this.#log.warn({ category: escalation.category }, "emergency detected in a callee turn");
    this.#writer.enqueueRpc("agent_escalate", {
      level: "emergency",
      reason: `emergency phrase detected (${escalation.category}): ${escalation.matched}`,
      transferred_to: null,
    });
    if (this.#answeredBy === null) {
      this.#answeredBy = "human";
      this.#markAnswered("human");
    }
    void this.#end("escalated", { afterCurrentSpeech: true });
    return { kind: "say", text: emergencyScript(this.#context.organization.name) };
  }

  #recordHighPriority(escalation: EscalationResult): void {
    if (!escalation.category || this.#escalatedCategories.has(escalation.category)) return;
    this.#escalatedCategories.add(escalation.category);
    this.#writer.enqueueRpc("agent_escalate", {
      level: "high_priority",
      reason: `urgent phrase detected (${escalation.category}): ${escalation.matched}`,
      transferred_to: null,
    });
  }

  #onAnswerClassified(answeredBy: ClassifiedAnswer): TurnDecision | null {
    const first = this.#answeredBy === null;
    if (first) {
      this.#answeredBy = answeredBy;
      this.#markAnswered(answeredBy);
    }
    switch (answeredBy) {
      case "voicemail":
        this.#onVoicemail();
        return { kind: "silent" };
      case "call_screener":
        this.#phase = "screener";
        return { kind: "say", text: SCREENER_REPLY(this.#context.organization.name) };
      case "ivr":
        this.#phase = "ivr";
        this.#interrupt();
        return { kind: "model" };
      case "human":
        if (this.#phase === "conversation") return null;
        return this.#onHumanReached();
    }
  }

  /** After an IVR or a screener, a person is on the line: remember the path, then greet. */
  #onHumanReached(): TurnDecision {
    if (this.#phase === "ivr") {
      this.#writer.enqueueRpc("agent_save_classification", {
        classification: "ivr_then_human",
        ivr_steps: this.#ivrSteps,
        confidence: 0.9,
      });
    }
    this.#phase = "conversation";
    this.#firstGreetingMs ??= this.#connectedAt === null ? undefined : performance.now() - this.#connectedAt;
    return { kind: "say", text: greetingFor(this.#context) };
  }

  #onVoicemail(): void {
    this.#interrupt();
    const template = this.#context.template;
    if (template.voicemail_policy === "leave_message" && template.voicemail_message) {
      const message = fillVariables(template.voicemail_message, promptVariables(this.#context));
      // The greeting has just ended (this is its final transcript): the beep follows it.
      setTimeout(() => void this.#end("voicemail", { goodbye: message }), this.#timing.voicemailBeepMs);
    } else {
      void this.#end("voicemail", {});
    }
  }

  #replayIvr(steps: IvrStep[]): void {
    const started = performance.now();
    void (async () => {
      for (const step of steps) {
        const wait = step.after_ms - (performance.now() - started);
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        if (this.#ending) return;
        await this.#telephony.sendDtmf(step.dtmf);
        this.#ivrSteps.push(step);
      }
    })().catch((error) => this.#log.error({ error: errorName(error) }, "IVR replay failed"));
  }

  // ------------------------------------------------------------------------------------------------
  // Tools.

  async recordField(fieldName: string, value: string): Promise<string> {
    const field = this.#fieldsByName.get(fieldName);
    if (!field) return `there is no field named ${fieldName}`;
    this.#phi.add(value);
    if (needsReadBack(field)) {
      this.#pendingReadBack.set(fieldName, value);
      return toolReplies.readBack(fieldName, value);
    }
    return await this.#store(field, value);
  }

  async confirmField(fieldName: string, confirmed: boolean): Promise<string> {
    const field = this.#fieldsByName.get(fieldName);
    const value = this.#pendingReadBack.get(fieldName);
    if (!field || value === undefined) return `there is no value of ${fieldName} waiting for confirmation`;
    this.#pendingReadBack.delete(fieldName);
    if (!confirmed) return toolReplies.discarded(fieldName);
    return await this.#store(field, value);
  }

  async #store(field: FieldDefinition, value: string): Promise<string> {
    const result = await this.#fields.recordField(field.name, typedValue(field, value));
    if (!result.ok) {
      if (result.retryable) {
        // The database is unreachable: keep the answer and let write-back deliver it.
        this.#writer.enqueueRpc("agent_record_field", {
          field_name: field.name,
          value: typedValue(field, value),
        });
        this.#recorded.add(field.name);
        return toolReplies.noted(field.name);
      }
      return `${field.name} could not be saved right now; move on to the next question.`;
    }
    if (!result.data.ok) return result.data.error; // verbatim: the model asks again with this
    this.#recorded.add(field.name);
    return toolReplies.saved(field.name);
  }

  transferToHuman(summary: string): Promise<string> {
    const phone = this.#context.organization.escalation_phone;
    this.#writer.enqueueRpc("agent_escalate", {
      level: "human_requested",
      reason: summary,
      transferred_to: phone,
    });
    const org = this.#context.organization.name;
    if (!phone) {
      void this.#end("escalated", {
        goodbye: `I'll ask someone from ${org} to call you back as soon as possible. Thank you, goodbye.`,
      });
      return Promise.resolve(toolReplies.callbackPromised);
    }
    void this.#end("escalated", {
      goodbye: `I'm transferring you to someone at ${org} now. Please stay on the line.`,
      transferTo: phone,
    });
    return Promise.resolve(toolReplies.transferring);
  }

  optOut(): Promise<string> {
    void this.#end("opted_out", { goodbye: OPT_OUT_GOODBYE });
    return Promise.resolve(toolReplies.optedOut);
  }

  endCall(outcome: (typeof MODEL_OUTCOMES)[number]): Promise<string> {
    void this.#end(outcome, { goodbye: "Thank you for your time. Goodbye." });
    return Promise.resolve(toolReplies.ending);
  }

  async pressKeys(digits: string): Promise<string> {
    if (this.#phase !== "ivr") return "Keys can only be pressed while a phone menu is speaking.";
    const after = this.#connectedAt === null ? 0 : Math.round(performance.now() - this.#connectedAt);
    await this.#telephony.sendDtmf(digits);
    this.#ivrSteps.push({ after_ms: after, dtmf: digits });
    return toolReplies.pressed(digits);
  }

  // ------------------------------------------------------------------------------------------------
  // Turns, timers, the end.

  #onItem(item: unknown): void {
    if (!(item instanceof Object) || (item as { type?: string }).type !== "message") return;
    const message = item as { role: string; textContent?: string; createdAt: number };
    if (message.role !== "user" && message.role !== "assistant") return;
    const text = message.textContent?.trim();
    if (!text) return;
    const now = Date.now();
    const speaker = message.role === "user" ? "callee" : "agent";
    this.#writer.enqueueTurn({
      session_id: this.#context.session.id,
      org_id: this.#context.organization.id,
      sequence: this.#sequence++,
      speaker,
      text,
      started_at: new Date(Math.min(message.createdAt, now)).toISOString(),
      ended_at: new Date(now).toISOString(),
    });
    if (speaker === "agent" && this.#lastCalleeAt !== null) {
      this.#responseTimes.push(Math.max(0, message.createdAt - this.#lastCalleeAt));
      this.#lastCalleeAt = null;
    }
  }

  /** Silence is counted from the later of the callee's last speech and the end of the agent's. */
  #armSilenceTimer(options: { calleeSpoke?: boolean } = {}): void {
    if (this.#silenceTimer) clearTimeout(this.#silenceTimer);
    if (this.#ending || this.#closed || this.#connectedAt === null) return;
    if (options.calleeSpoke) this.#silencePrompted = false;
    const wait = this.#silencePrompted ? this.#timing.silenceHangUpMs : this.#timing.silencePromptMs;
    this.#silenceTimer = setTimeout(() => this.#onSilence(), wait);
  }

  #onSilence(): void {
    if (this.#ending) return;
    if (!this.#silencePrompted) {
      this.#silencePrompted = true;
      this.#session?.say(SILENCE_PROMPT);
      this.#armSilenceTimer();
      return;
    }
    void this.#end(this.#calleeTurns === 0 ? "no_answer" : "failed", { goodbye: SILENCE_GOODBYE });
  }

  /** The callee hung up or the line dropped: nobody is left to say goodbye to. */
  onCalleeLeft(): void {
    if (this.#ending) return;
    void this.#end(
      this.#requiredComplete() ? "completed" : this.#calleeTurns === 0 ? "no_answer" : "failed",
      {},
    );
  }

  #requiredComplete(): boolean {
    return this.#context.template.fields.every((f) => !f.required || this.#recorded.has(f.name));
  }

  #onMaxDuration(): void {
    if (this.#ending) return;
    const complete = this.#requiredComplete();
    this.#interrupt();
    void this.#end(complete ? "completed" : "failed", {
      goodbye:
        `I'm sorry, we've run out of time for this call. Someone from ${this.#context.organization.name} ` +
        "will follow up with you. Goodbye.",
    });
  }

  #markAnswered(answeredBy: AnsweredBy): void {
    this.#writer.enqueueRpc("agent_mark_answered", {
      answered_by: answeredBy,
      dedupe_key: `agent:${this.#context.session.id}:answered`,
    });
  }

  #interrupt(): void {
    try {
      this.#session?.interrupt();
    } catch {
      // nothing is speaking
    }
  }

  /** Ends the call once: goodbye (if any), transfer (if any), outcome and figures written, line closed. */
  async #end(
    outcome: CallOutcome,
    options: { goodbye?: string; afterCurrentSpeech?: boolean; transferTo?: string },
  ): Promise<void> {
    if (this.#ending) return;
    this.#ending = outcome;
    this.#stopTimers();
    // The speech a turn decision asks for is created right after the decision is returned: let it exist
    // before picking the speech to wait for.
    await Promise.resolve();
    try {
      if (options.afterCurrentSpeech && this.#currentSpeech) await this.#playout(this.#currentSpeech);
      if (options.goodbye && this.#session) {
        await this.#playout(this.#session.say(options.goodbye, { allowInterruptions: false }));
      }
      if (options.transferTo) await this.#telephony.transfer(options.transferTo);
    } catch (error) {
      this.#log.error({ error: errorName(error) }, "ending the call: goodbye or transfer failed");
    }
    if (this.#answeredBy === null && this.#connectedAt !== null) this.#markAnswered("unknown");
    this.#writer.enqueueRpc("agent_report_latency", { figures: this.latencyFigures() });
    this.#writer.enqueueRpc("agent_end_call", {
      outcome,
      dedupe_key: endOfCallKey(this.#context.session.id),
    });
    const unsentWrites = await this.#writer.flush(this.#timing.flushTimeoutMs);
    if (unsentWrites > 0) {
      this.#log.error({ unsent: unsentWrites }, "write-back incomplete at the end of the call");
    }
    try {
      await this.#telephony.hangUp();
    } catch (error) {
      this.#log.error({ error: errorName(error) }, "hang-up failed");
    }
    this.#log.info({ outcome, answered_by: this.#answeredBy ?? "unknown" }, "call ended");
    this.#resolveEnded({ outcome, unsentWrites });
  }

  #stopTimers(): void {
    this.#closed = true;
    if (this.#silenceTimer) clearTimeout(this.#silenceTimer);
    if (this.#durationTimer) clearTimeout(this.#durationTimer);
    this.#silenceTimer = this.#durationTimer = null;
  }

  async #playout(handle: voice.SpeechHandle): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      handle.waitForPlayout(),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, this.#timing.goodbyeTimeoutMs))),
    ]);
    clearTimeout(timer);
  }

  latencyFigures(): LatencyFigures {
    const figures: LatencyFigures = { turns: this.#sequence };
    if (this.#firstGreetingMs !== undefined) figures.first_greeting_ms = round(this.#firstGreetingMs);
    if (this.#responseTimes.length) {
      figures.turn_response_ms_p50 = round(median(this.#responseTimes));
      figures.turn_response_ms_max = round(Math.max(...this.#responseTimes));
    }
    return figures;
  }

  #requireSession(): AgentSession {
    if (!this.#session) throw new Error("attach(session) first");
    return this.#session;
  }
}

/** The JSON value a field's answer is stored as: numbers and booleans typed, the rest as said. */
export function typedValue(field: FieldDefinition, value: string): unknown {
  const v = value.trim();
  if (field.type === "number" && /^-?\d+(\.\d+)?$/.test(v)) return Number(v);
  if (field.type === "boolean") {
    if (/^(true|yes|y)$/i.test(v)) return true;
    if (/^(false|no|n)$/i.test(v)) return false;
  }
  return v;
}

const round = (ms: number) => Math.round(ms * 100) / 100;

/** An error's class name only: messages can carry content. */
export function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

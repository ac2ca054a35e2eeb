// A simulated call's scenario file: who the agent is calling and what the callee's side does, either as a
// script (what the callee says line by line, and what the agent's model answers when no real model is
// configured) or as a persona (the callee described in words, played by a model), and what must be true in
// the database afterwards. Written by clinic staff: plain words, tool names, field names; nothing about how
// the scripted model is keyed.
import { z } from "zod";
import { AgentOutcome } from "./agent-job.ts";
import { AnsweredBy, EscalationLevel, IntakeCallStatus, VoicemailPolicy } from "./enums.ts";

/** The agent's tools a scripted reply may call (the intake agent's tool set). */
export const ScenarioToolName = z.enum([
  "record_field",
  "confirm_field",
  "transfer_to_human",
  "opt_out",
  "end_call",
  "press_keys",
]);

export const ScenarioToolCall = z.strictObject({
  tool: ScenarioToolName,
  args: z.record(z.string(), z.unknown()).default({}),
});
export type ScenarioToolCall = z.infer<typeof ScenarioToolCall>;

/**
 * What the scripted model does with one callee line: say something, call tools, or both. After its tools
 * have run, the model is asked again: `then` is its next reply (e.g. read a value back after record_field).
 */
export type ScenarioModelReply = {
  say?: string;
  tools?: ScenarioToolCall[];
  then?: ScenarioModelReply;
};
export const ScenarioModelReply: z.ZodType<ScenarioModelReply> = z.lazy(() =>
  z.strictObject({
    say: z.string().min(1).optional(),
    tools: z.array(ScenarioToolCall).min(1).optional(),
    then: ScenarioModelReply.optional(),
  }).refine((r) => r.say !== undefined || r.tools !== undefined, {
    message: "a model reply says something, calls a tool, or both",
  }).refine((r) => r.then === undefined || r.tools !== undefined, {
    message: "`then` follows tool calls: the model is only asked again after its tools ran",
  })
);

export const ScenarioTurn = z.strictObject({
  /** What the callee's side says (a person, a voicemail greeting, a phone menu). */
  callee: z.string().min(1),
  /** Silence before this line, in milliseconds. */
  pause_ms: z.number().int().min(0).max(60_000).optional(),
  /** The scripted model's reply to this line. None: the agent's code answers, or nobody does. */
  model: ScenarioModelReply.optional(),
});
export type ScenarioTurn = z.infer<typeof ScenarioTurn>;

/** A scenario expects one of the outcomes the agent ends an attempt with. */
export const ScenarioOutcome = AgentOutcome;

export const ScenarioExpectation = z.strictObject({
  outcome: ScenarioOutcome,
  /** The intake call's status afterwards (e.g. queued: a voicemail is retried). */
  status: IntakeCallStatus.extract(["queued", "in_progress", "completed", "failed", "opted_out"]).optional(),
  /** Exactly the answers stored for the call (a field left out must not have been stored). */
  fields: z.record(z.string(), z.unknown()).optional(),
  /** The escalation the call must raise; none: no emergency may be raised. (An override is an operator's.) */
  escalation: EscalationLevel.exclude(["override"]).optional(),
  /** True: the number is on the do-not-call list; otherwise it must not be. */
  opted_out: z.boolean().default(false),
  answered_by: AnsweredBy.optional(),
  /** Keys pressed into a phone menu, in order. */
  dtmf: z.array(z.string().regex(/^[0-9*#]{1,12}$/)).optional(),
});
export type ScenarioExpectation = z.infer<typeof ScenarioExpectation>;

/**
 * A callee played by a model: it is told `description` (who it is, how it behaves, its answers) and speaks
 * each time the agent has spoken, until it hangs up, after `max_turns` lines at most.
 */
export const ScenarioPersona = z.strictObject({
  description: z.string().min(1),
  max_turns: z.number().int().min(1).max(100).default(12),
});
export type ScenarioPersona = z.infer<typeof ScenarioPersona>;

export const Scenario = z.strictObject({
  name: z.string().min(1),
  description: z.string().min(1),
  template: z.literal("intake"),
  /** Template settings this scenario needs. */
  setup: z.strictObject({
    voicemail_policy: VoicemailPolicy.optional(),
    voicemail_message: z.string().min(1).optional(),
  }).default({}),
  /** The callee's side as a script. */
  turns: z.array(ScenarioTurn).min(1).optional(),
  /** The callee's side played by a model (needs an OpenAI key). */
  persona: ScenarioPersona.optional(),
  expect: ScenarioExpectation,
}).refine((s) => (s.turns === undefined) !== (s.persona === undefined), {
  message:
    "a scenario has either `turns` (the callee's lines, scripted) or `persona` (a callee played by a " +
    "model), not both and not neither",
});
export type Scenario = z.infer<typeof Scenario>;

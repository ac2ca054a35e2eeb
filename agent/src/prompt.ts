// The system prompt: the organisation, the template's prompt (Langfuse prompt management, cached, with the
// template's fallback_prompt from the database when Langfuse is unset or unreachable), the fields to
// collect, and safety rules no template can remove.
import type { LangfuseClient } from "@langfuse/client";
import type { CallContext, FieldDefinition } from "./call-context.ts";

/** Always appended, whatever the template says. */
export const SAFETY_RULES = `Rules that always apply:
- You are an automated assistant calling on behalf of the organisation named above. Say so, and say who you are calling for, at the start of the call and whenever asked.
- You are not a medical professional. Never diagnose, never give medical advice, never suggest treatments or medication changes, never interpret symptoms. If asked, say that a member of the clinic's staff will follow up.
- If the person describes an emergency, tell them to hang up and call 911 or their local emergency number.
- Collect only the fields listed below, one question at a time, with the record_field tool. Never invent or guess an answer.
- Read back dates of birth and medication names and any field marked "confirm", and store them only after the person confirms.
- If the person asks for a human, use transfer_to_human. If they ask not to be called again, use opt_out.
- When every required field is recorded, or the person wants to stop, use end_call.
- Keep turns short and plain; this is a phone call.`;

/** Replaces {{name}} placeholders with the call's variables; unknown placeholders become empty. */
export function fillVariables(template: string, variables: Record<string, unknown>): string {
  return template.replace(/\{\{\s*([a-zA-Z0-9_.]+)\s*\}\}/g, (_, key: string) => {
    const value = variables[key];
    return value === undefined || value === null ? "" : String(value);
  });
}

/** The variables a prompt or greeting may use: the app's variables plus callee and organisation names. */
export function promptVariables(context: CallContext): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const [key, value] of Object.entries(context.call.variables)) {
    if (value !== null && value !== undefined) {
      vars[key] = typeof value === "string" ? value : JSON.stringify(value);
    }
  }
  vars.callee_name ??= context.call.callee_name ?? "";
  vars.organization_name ??= context.organization.name;
  return vars;
}

/** Fields whose answer is read back before it is stored. */
export function needsReadBack(field: FieldDefinition): boolean {
  return field.confirm ?? (field.type === "date" || /medication|birth|dob/.test(field.name));
}

function describeField(field: FieldDefinition, collected: boolean): string {
  const parts = [`- ${field.name} (${field.type}${field.required ? ", required" : ""}`];
  if (field.options) parts.push(`; one of: ${field.options.join(", ")}`);
  if (field.type === "date") parts.push("; as YYYY-MM-DD");
  if (field.min !== undefined) parts.push(`; at least ${field.min}`);
  if (field.max !== undefined) parts.push(`; at most ${field.max}`);
  if (needsReadBack(field)) parts.push("; confirm");
  parts.push(")");
  if (field.description) parts.push(`: ${field.description}`);
  if (collected) parts.push(" [already collected]");
  return parts.join("");
}

export function composeInstructions(context: CallContext, templatePrompt: string): string {
  const fields = context.template.fields.map((f) => describeField(f, f.name in context.call.results));
  return [
    `You are calling on behalf of ${context.organization.name}.`,
    fillVariables(templatePrompt, promptVariables(context)),
    fields.length
      ? `Fields to collect:\n${fields.join("\n")}`
      : "There are no fields to collect on this call.",
    SAFETY_RULES,
  ].join("\n\n");
}

export function greetingFor(context: CallContext): string {
  return fillVariables(context.call.greeting_override ?? context.template.greeting, promptVariables(context));
}

export type LoadedPrompt = { text: string; source: "langfuse" | "database"; version: number | null };

/**
 * Fetches template prompts from Langfuse (cached by the client for `cacheTtlSeconds`, so only the first
 * call of a worker process per prompt waits on the network), falling back to the database prompt.
 */
export class PromptSource {
  constructor(
    private readonly langfuse: LangfuseClient | null,
    private readonly options: { cacheTtlSeconds?: number; fetchTimeoutMs?: number } = {},
  ) {}

  async load(template: CallContext["template"]): Promise<LoadedPrompt> {
    const fallback: LoadedPrompt = { text: template.fallback_prompt, source: "database", version: null };
    if (!this.langfuse || !template.langfuse_prompt_name) return fallback;
    try {
      const prompt = await this.langfuse.prompt.get(template.langfuse_prompt_name, {
        type: "text",
        label: template.langfuse_prompt_label,
        cacheTtlSeconds: this.options.cacheTtlSeconds ?? 300,
        fetchTimeoutMs: this.options.fetchTimeoutMs ?? 2_000,
        maxRetries: 1,
      });
      return { text: prompt.prompt, source: "langfuse", version: prompt.version };
    } catch {
      return fallback;
    }
  }
}

// The PHI a worker process knows about (callee names and numbers, variables, answers): every log line
// and every exported span is redacted against it, on top of the shape-based rules of shared/redaction.
// A job process holds one call, so a process-wide registry is the call's registry.
import { redactAttributes, redactText } from "@intake/shared/redaction";

export class PhiRegistry {
  readonly #values = new Set<string>();

  add(...values: readonly (string | null | undefined)[]): void {
    for (const v of values) if (v && v.trim().length >= 2) this.#values.add(v.trim());
  }

  get values(): readonly string[] {
    return [...this.#values];
  }

  redactText(text: string): string {
    return redactText(text, { values: this.values });
  }

  redactAttributes(attrs: Record<string, unknown>): Record<string, unknown> {
    return redactAttributes(attrs, { values: this.values });
  }
}

export const processPhi = new PhiRegistry();

// Logs never carry PHI. LiveKit's logger marks content it logs with a `pii` key segment
// (`lk.pii.user_input`, `lk.pii.transcript`, ...): those attributes are dropped. Everything else, and every
// message string, is redacted against the call's known PHI and the shape rules of shared/redaction.
// The worker's own code logs ids, codes and counts only, through the same logger.
//
// LiveKit keeps its process-wide pino logger under a global symbol (one logger per process, whichever copy
// of the package asks); `installPhiSafeLogging` puts a sanitising view of it there, so LiveKit's own log
// lines pass through the same filter as ours.
import { initializeLogger, log } from "@livekit/agents";
import type { PhiRegistry } from "./phi.ts";

export type LogFn = (attributes: Record<string, unknown>, message: string) => void;
export type AgentLogger = { debug: LogFn; info: LogFn; warn: LogFn; error: LogFn };

const LOGGER_KEY = Symbol.for("@livekit/agents:logger");
const SANITISED = Symbol.for("@intake/agent:phi-safe-logger");
const LEVELS = new Set(["trace", "debug", "info", "warn", "error", "fatal"]);
const PII_SEGMENT = /(^|\.)pii(\.|$)/i;

type PinoLike = Record<string | symbol, unknown> & { child(bindings: object, options?: object): PinoLike };
type Globals = Record<symbol, unknown>;

function sanitiseObject(value: Record<string, unknown>, phi: PhiRegistry): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (PII_SEGMENT.test(key)) continue;
    // Errors become their class name: their messages can quote what the callee said.
    kept[key] = v instanceof Error ? v.name : v;
  }
  return phi.redactAttributes(kept);
}

export function sanitiseLogArguments(args: unknown[], phi: PhiRegistry): unknown[] {
  return args.map((arg) => {
    if (typeof arg === "string") return phi.redactText(arg);
    if (arg instanceof Error) return { error: arg.name };
    if (arg !== null && typeof arg === "object") return sanitiseObject(arg as Record<string, unknown>, phi);
    return arg;
  });
}

function sanitisingView(logger: PinoLike, phi: PhiRegistry): PinoLike {
  return new Proxy(logger, {
    get(target, prop, receiver) {
      if (prop === SANITISED) return true;
      const value = Reflect.get(target, prop, receiver);
      if (typeof prop === "string" && LEVELS.has(prop) && typeof value === "function") {
        return (...args: unknown[]) => value.apply(target, sanitiseLogArguments(args, phi));
      }
      if (prop === "child" && typeof value === "function") {
        return (bindings: Record<string, unknown>, options?: object) =>
          sanitisingView(value.call(target, sanitiseObject(bindings ?? {}, phi), options), phi);
      }
      return value;
    },
  });
}

/**
 * Makes LiveKit's process logger (initialising it when nobody has yet) drop PII-marked attributes and
 * redact the rest. Idempotent.
 */
export function installPhiSafeLogging(phi: PhiRegistry, options: { level?: string } = {}): AgentLogger {
  const globals = globalThis as unknown as Globals;
  if (!globals[LOGGER_KEY]) initializeLogger({ pretty: false, level: options.level ?? "info" });
  const current = globals[LOGGER_KEY] as PinoLike;
  if (!current[SANITISED]) globals[LOGGER_KEY] = sanitisingView(current, phi);
  return agentLogger();
}

/** The worker's own logger (a child of LiveKit's, so it goes through the same sanitiser). */
export function agentLogger(): AgentLogger {
  const logger = log().child({ component: "intake-agent" });
  const bind = (level: "debug" | "info" | "warn" | "error"): LogFn => (attributes, message) =>
    logger[level](attributes, message);
  return { debug: bind("debug"), info: bind("info"), warn: bind("warn"), error: bind("error") };
}

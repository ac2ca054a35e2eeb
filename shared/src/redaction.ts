// PHI redaction for logs and traces. Names, dates of birth, phone numbers, e-mail addresses and the answers a
// patient gives must never leave the platform in clear: every string bound for a log line or a span goes
// through `redactText`, every span attribute map through `redactAttributes`.
//
// Pattern rules catch what has a shape (e-mail addresses, dates, phone numbers, long digit runs, "my name is
// ..."); what has no shape (a name said on its own, a free-text answer) is only caught when the caller passes
// it in `known.values`, which it normally can: it dialled the patient and it stored the answers. Redaction errs
// towards removing too much: a log line that lost a room number is fine, one that kept a birth date is not.

/** What replaces each kind of redacted text. None contains a digit or an "@", so redaction is idempotent. */
export const PLACEHOLDERS = {
  phone: "[phone]",
  email: "[email]",
  date: "[date]",
  number: "[number]",
  name: "[name]",
  redacted: "[redacted]",
} as const;

/** Values the caller knows are PHI for this call: the patient's name, date of birth, collected answers... */
export interface KnownValues {
  readonly values?: readonly (string | null | undefined)[];
}

/**
 * Known values shorter than this are not redacted: a one-character answer ("3", "y") would otherwise
 * remove that character from every word and number of the text while protecting nothing.
 */
export const MIN_KNOWN_VALUE_LENGTH = 2;

// ---------------------------------------------------------------------------------------------------------
// Text.

const EMAIL = /[\p{L}\p{N}._%+-]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)*\.\p{L}{2,}/gu;

// Dates: numeric (1985-03-14, 03/14/1985, 14.03.1985, 3/14/85) and with a month name (March 14, 1985;
// 14 March 1985; 14th of March; March 1985). A bare year is left alone: it identifies no one.
const MONTH =
  "(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\\.?";
const DAY = "\\d{1,2}(?:st|nd|rd|th)?";
const YEAR = "\\d{4}";
const END = "(?![\\p{L}\\p{N}])"; // a date ends at a word's end...
const DATE = new RegExp(
  "(?<![\\p{L}\\p{N}])(?:" +
    [
      `\\d{4}[-/.]\\d{1,2}[-/.]\\d{1,2}(?:(?=T\\d)|${END})`, // ...or at the T of an ISO timestamp
      `\\d{1,2}[-/.]\\d{1,2}[-/.](?:\\d{4}|\\d{2})${END}`,
      `${MONTH}\\s+${DAY}(?:,?\\s+${YEAR})?${END}`,
      `${DAY}(?:\\s+of)?\\s+${MONTH}(?:,?\\s+${YEAR})?${END}`,
      `${MONTH},?\\s+${YEAR}${END}`,
    ].join("|") +
    ")",
  "giu",
);

// US social security numbers and look-alikes: 123-45-6789.
const SSN = /(?<!\d)\d{3}-\d{2}-\d{4}(?!\d)/g;

// Any run of digits, with the separators phone numbers are written with (space, dot, dash, parentheses)
// and an optional leading "+". What it becomes depends on how many digits it holds: see `numberPlaceholder`.
const DIGIT_RUN = /(?<!\d)(?:\+\s?)?\(?\d(?:[ \t.()-]{0,3}\d)*/g;

/** 7 to 15 digits: a phone number (E.164 holds at most 15). More: an ID. 5 or 6 bare digits: an ID or a ZIP. */
function numberPlaceholder(run: string): string {
  let digits = 0;
  for (const c of run) if (c >= "0" && c <= "9") digits++;
  if (digits > 15) return PLACEHOLDERS.number;
  if (digits >= 7) return PLACEHOLDERS.phone;
  if (digits >= 5 && /^\d+$/.test(run)) return PLACEHOLDERS.number;
  return run;
}

// Names introduced as names: "my name is Maria Gonzalez", "this is Dr. Maria Lopez", "call me Maria" (one
// to three capitalised words, after an optional title); after "my name is" also one lowercase word, as speech-to-text may write it.
const NAME_WORD = "\\p{Lu}[\\p{L}'\u2019-]*";
const TITLE = "(?:Dr|Mr|Mrs|Ms|Miss|Mx|Prof)\\.?\\s+";
const INTRODUCED_NAME = new RegExp(
  `(?<![\\p{L}])((?:[Mm]y|[Tt]he) [Nn]ame(?: is|'s|\u2019s)|[Nn]ame is|[Tt]his is|[Cc]all me)\\s+` +
    `((?:${TITLE})?${NAME_WORD}(?:\\s+${NAME_WORD}){0,2})`,
  "gu",
);
const LOWERCASE_NAME = /(?<![\p{L}])([Mm]y [Nn]ame(?: is|'s|\u2019s))\s+(\p{Ll}[\p{L}'\u2019-]*)/gu;
// Words that follow "my name is" without being a name.
const NOT_A_NAME = new Set(["not", "on", "in", "the", "a", "still", "spelled", "correct", "right", "wrong"]);

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** One RegExp for all known values, longest first; null when there is nothing to look for. */
function compileKnown(known: KnownValues | undefined): RegExp | null {
  const values = [
    ...new Set(
      (known?.values ?? [])
        .filter((v): v is string => typeof v === "string")
        .map((v) => v.normalize("NFC").trim().replace(/\s+/g, " "))
        .filter((v) => v.length >= MIN_KNOWN_VALUE_LENGTH),
    ),
  ].sort((a, b) => b.length - a.length);
  if (values.length === 0) return null;
  const alternatives = values.map((v) => {
    const body = v.split(" ").map(escapeRegExp).join("\\s+");
    // Whole words only where the value starts or ends with a letter or digit ("Ana" is not redacted out of
    // "Banana"), and never inside a placeholder (a known value "date" leaves "[date]" alone).
    const before = /^[\p{L}\p{N}]/u.test(v) ? "(?<![\\p{L}\\p{N}_\\[])" : "";
    const after = /[\p{L}\p{N}]$/u.test(v) ? "(?![\\p{L}\\p{N}_\\]])" : "";
    return `${before}${body}${after}`;
  });
  return new RegExp(alternatives.join("|"), "giu");
}

function redactWith(text: string, knownPattern: RegExp | null): string {
  let s = text.normalize("NFC");
  s = s.replace(EMAIL, PLACEHOLDERS.email);
  if (knownPattern) s = s.replace(knownPattern, PLACEHOLDERS.redacted);
  s = s.replace(DATE, PLACEHOLDERS.date);
  s = s.replace(SSN, PLACEHOLDERS.number);
  s = s.replace(DIGIT_RUN, numberPlaceholder);
  s = s.replace(INTRODUCED_NAME, (_, intro: string) => `${intro} ${PLACEHOLDERS.name}`);
  s = s.replace(
    LOWERCASE_NAME,
    (all, intro: string, word: string) => NOT_A_NAME.has(word) ? all : `${intro} ${PLACEHOLDERS.name}`,
  );
  return s;
}

/**
 * Replaces PHI in free text with placeholders: e-mail addresses (`[email]`), any of `known.values`, matched
 * case-insensitively as whole words (`[redacted]`), dates (`[date]`), phone numbers of 7 to 15 digits in
 * E.164 or national formats (`[phone]`), SSN-like and other long digit runs (`[number]`), and names introduced
 * as such ("my name is ...", `[name]`). Idempotent: redacting redacted text changes nothing.
 */
export function redactText(text: string, known?: KnownValues): string {
  return redactWith(text, compileKnown(known));
}

// ---------------------------------------------------------------------------------------------------------
// Span attributes.

/**
 * An attribute whose key contains one of these (case-insensitively, anywhere: `gen_ai.prompt`,
 * `lk.user_transcript`, `lk.chat_ctx`, `lk.function_tool.arguments`, `patient.dob`) carries content: its value
 * is replaced wholesale by "[redacted]" unless it is a number or a boolean (token counts, durations, flags).
 */
export const SENSITIVE_ATTRIBUTE_KEY_PARTS: readonly string[] = [
  "transcript",
  "content",
  "text",
  "prompt",
  "completion",
  "input",
  "output",
  "message",
  "instructions",
  "arguments",
  "args",
  "result",
  "answer",
  "utterance",
  "speech",
  "chat",
  "ctx",
  "context",
  "history",
  "body",
  "query",
  "phone",
  "name",
  "dob",
  "birth",
  "email",
  "address",
  "identity",
  "metadata",
];

/**
 * Keys that contain a sensitive part but are known to hold only identifiers of software, never content
 * (`gen_ai.operation.name` is "chat"). Their string values still go through `redactText`.
 */
export const SAFE_ATTRIBUTE_KEYS: readonly string[] = [
  "gen_ai.operation.name",
  "gen_ai.provider.name",
  "gen_ai.agent.name",
  "gen_ai.tool.name",
  "service.name",
  "telemetry.sdk.name",
  "code.function.name",
  "lk.agent_name",
];

const SAFE_KEYS = new Set(SAFE_ATTRIBUTE_KEYS);
const SENSITIVE_KEY = new RegExp(SENSITIVE_ATTRIBUTE_KEY_PARTS.map(escapeRegExp).join("|"), "i");

/** Whether an attribute key is known to carry content (see SENSITIVE_ATTRIBUTE_KEY_PARTS). */
export function isSensitiveAttributeKey(key: string): boolean {
  return !SAFE_KEYS.has(key) && SENSITIVE_KEY.test(key);
}

/** Nesting deeper than this (OpenTelemetry attributes are flat; this is for logged objects) is not kept. */
const MAX_DEPTH = 8;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function redactValue(
  value: unknown,
  knownPattern: RegExp | null,
  seen: WeakSet<object>,
  depth: number,
): unknown {
  if (value === null || value === undefined) return value;
  switch (typeof value) {
    case "string":
      return redactWith(value, knownPattern);
    case "number":
    case "boolean":
    case "bigint":
      return value;
    case "object":
      break;
    default: // functions, symbols: nothing a trace needs
      return PLACEHOLDERS.redacted;
  }
  if (value instanceof Date) return PLACEHOLDERS.date;
  if (depth >= MAX_DEPTH || seen.has(value)) return PLACEHOLDERS.redacted;
  seen.add(value);
  try {
    if (Array.isArray(value)) return value.map((v) => redactValue(v, knownPattern, seen, depth + 1));
    if (isPlainObject(value)) return redactEntries(value, knownPattern, seen, depth + 1);
    return PLACEHOLDERS.redacted; // Map, typed arrays, class instances: not walked, not kept
  } finally {
    seen.delete(value);
  }
}

function redactEntries(
  attrs: Record<string, unknown>,
  knownPattern: RegExp | null,
  seen: WeakSet<object>,
  depth: number,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(attrs)) {
    const keep = typeof value === "number" || typeof value === "boolean" || value === null ||
      value === undefined;
    out[key] = isSensitiveAttributeKey(key) && !keep
      ? PLACEHOLDERS.redacted
      : redactValue(value, knownPattern, seen, depth);
  }
  return out;
}

/**
 * Redacts an OpenTelemetry attribute map (or any plain object bound for a log): values under sensitive keys
 * (see SENSITIVE_ATTRIBUTE_KEY_PARTS) become "[redacted]" wholesale unless they are numbers or booleans;
 * other strings go through `redactText`; arrays and nested objects are walked, their keys checked the same
 * way. The input is not modified.
 */
export function redactAttributes(
  attrs: Record<string, unknown>,
  known?: KnownValues,
): Record<string, unknown> {
  return redactEntries(attrs, compileKnown(known), new WeakSet(), 0);
}

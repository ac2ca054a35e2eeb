// Escalation detection for medical intake calls. Every final transcript line of the callee goes through
// `detectEscalation` in code: the agent is not a medical professional, and an emergency is never left to
// the LLM to notice.
//
// The module is deliberately small so a clinician can review it:
//   1. normalise the line: lower case, curly apostrophes, contractions ("can't", "cant", "can not" all
//      become "cannot"; "don't" becomes "do not"), filler words dropped, punctuation kept as boundaries;
//   2. look every phrase of the tables below up in the line (each phrase is compiled once, at load);
//   3. drop a hit that is negated: a negation cue ("no", "not", "never", "without", "denies", ...) among
//      the NEGATION_WINDOW words right before it, in the same clause ("no chest pain" is dropped,
//      "no, I have chest pain" and "I have chest pain, no fever" are not);
//   4. drop a hit whose clause carries an explicit history marker ("my father had a heart attack years
//      ago", "family history of stroke"): that is intake data, not an emergency happening now;
//   5. the most severe remaining level wins; within one level, the earliest hit.
//
// When in doubt the rules err towards escalating: a clause break, a subject pronoun or a comma ends the
// scope of a negation, and who the phrase is about does not matter ("my mother is having a stroke" is an
// emergency: relatives and carers answer for patients).

import type { EscalationLevel } from "./enums.ts";

/** The levels a callee's words can raise (an `override` is an operator's decision, never detected). */
export type DetectedEscalationLevel = Exclude<EscalationLevel, "override">;

export type EscalationResult =
  | { level: DetectedEscalationLevel; matched: string; category: string }
  | { level: null; matched: null; category: null };

/**
 * Phrase syntax, per category: words separated by spaces; `a/b/c` is one word out of several; `...` lets up
 * to GAP_WORDS words (never a negation cue, never across a sentence end) sit between two parts. Phrases are
 * written naturally and normalised like the transcript, so "can't breathe" also matches "cant breathe",
 * "can not breathe" and "can’t breathe".
 */
export type PhraseTable = Readonly<Record<string, readonly string[]>>;

/** Something is happening now that needs emergency services, not an intake form. */
export const EMERGENCY_PHRASES = {
  cardiac: [
    "chest pain",
    "chest pains",
    "pain in my/his/her chest",
    "chest hurts",
    "chest is hurting",
    "chest pressure",
    "pressure in my/his/her chest",
    "chest tightness",
    "tightness in my/his/her chest",
    "chest is tight",
    "heart attack",
  ],
  breathing: [
    "can't breathe",
    "could not breathe",
    "can barely breathe",
    "unable to breathe",
    "not able to breathe",
    "trouble/difficulty/struggling breathing",
    "hard to breathe",
    "struggling to breathe",
    "short of breath",
    "shortness of breath",
    "gasping for air",
    "choking",
  ],
  self_harm: [
    "suicidal",
    "suicide",
    "kill/killing/harm/harming myself",
    "want/wanna/going to hurt myself",
    "thoughts of hurting myself",
    "self harm",
    "want/wanna/going to die",
    "end/ending my life",
    "take my own life",
    "better off dead",
  ],
  overdose: [
    "overdose",
    "overdosed",
    "overdosing",
    "took/taken too many pills",
    "took/taken too much of my/his/her medication/medicine/pills",
  ],
  stroke: [
    "stroke",
    "face drooping",
    "face is drooping",
    "drooping face",
    "slurred speech",
    "speech is slurred",
    "slurring my/his/her words",
    "can't move my/his/her arm/leg/arms/legs",
    "can't feel my/his/her arm/leg/face",
    "numb on one side",
    "worst headache of my/his/her life",
  ],
  bleeding: [
    "severe bleeding",
    "bleeding heavily",
    "heavy bleeding",
    "bleeding badly",
    "bleeding a lot",
    "won't stop bleeding",
    "bleeding won't stop",
    "can't stop the bleeding",
    "losing a lot of blood",
  ],
  unresponsive: [
    "unconscious",
    "unresponsive",
    "passed out",
    "blacked out",
    "collapsed",
    "not breathing",
    "stopped breathing",
    "won't wake up",
  ],
  seizure: ["seizure", "seizures", "seizing", "convulsing", "convulsions"],
  anaphylaxis: [
    "anaphylaxis",
    "anaphylactic",
    "throat is closing",
    "throat closing",
    "throat is swelling",
    "tongue/lips/face is/are swelling",
    "allergic reaction ... swelling/swollen",
    "swelling/swollen ... allergic reaction",
  ],
} as const satisfies PhraseTable;

/** Not an emergency by itself, but a human at the clinic should look at this call soon. */
export const HIGH_PRIORITY_PHRASES = {
  severe_pain: [
    "severe pain",
    "excruciating",
    "unbearable pain",
    "pain is unbearable",
    "worst pain",
    "in so much pain",
    "in a lot of pain",
  ],
  fever: [
    "high fever",
    "very high temperature",
    "high temperature",
    "fever/temperature of/is/over/above 103/104/105/106/39.5/40/41",
  ],
  pregnancy: [
    "pregnant ... bleeding/cramping/contractions",
    "bleeding ... pregnant",
    "water broke",
  ],
  head_injury: [
    "hit/bumped/banged my/his/her head",
    "fell on my/his/her head",
    "head injury",
    "concussion",
  ],
  worsening: [
    "getting worse",
    "worsening",
    "much worse",
    "worse and worse",
    "not getting better",
    "not improving",
  ],
  other: [
    "vomiting/throwing up blood",
    "coughing up blood",
    "can't keep anything down",
    "fainted",
    "fainting",
    "severe headache",
    "allergic reaction",
    "suddenly can't see",
    "sudden vision loss",
    "lost my/his/her vision",
  ],
} as const satisfies PhraseTable;

/** The callee wants a person, not the agent: the call is handed over rather than argued with. */
export const HUMAN_REQUEST_PHRASES = {
  human: [
    "speak/talk to/with a/an/the/some human/person/nurse/doctor/receptionist/representative/operator",
    "speak/talk to/with a/an/the real/actual/live person/human",
    "speak/talk to/with someone/somebody/anyone/anybody",
    "want/need/get a/an real/actual/live person/human",
    "want/need/get a human/person",
    "human being",
    "operator",
    "representative",
    "transfer me",
    "put me through",
  ],
} as const satisfies PhraseTable;

/** Words that negate a phrase that follows them closely (NegEx-style, pre-negation only). */
export const NEGATION_CUES: readonly string[] = [
  "no",
  "not",
  "never",
  "without",
  "none",
  "nor",
  "neither",
  "deny",
  "denies",
  "denied",
  "denying",
];

/** How many words before a phrase a negation cue may be (counted within one clause). */
export const NEGATION_WINDOW = 5;

/** How many words a `...` in a phrase may skip. */
export const GAP_WORDS = 6;

/** Phrases that contain a negation cue but do not negate anything ("I'm not sure, I think it's a stroke"). */
export const PSEUDO_NEGATIONS: readonly string[] = [
  "not sure",
  "not certain",
  "don't know",
  "not know",
  "no idea",
  "no doubt",
  "not just",
  "not only",
  "whether or not",
  "can't go ... without", // "I can't go a day without chest pain": two negations, an affirmation
  "never without",
  "not without",
];

/** Words that start a new clause: a negation never reaches across them. Punctuation does the same. */
export const CLAUSE_BREAKS: readonly string[] = [
  "but",
  "and",
  "however",
  "although",
  "though",
  "yet",
  "except",
  "because",
  "while",
  "whereas",
];

/**
 * Subject pronouns end a negation's scope too, so punctuation-less "no I have chest pain" still escalates
 * while "I don't have chest pain" (the pronoun comes before the cue) does not.
 */
export const SCOPE_TERMINATORS: readonly string[] = [
  "i",
  "you",
  "he",
  "she",
  "we",
  "they",
  "it",
  "hes",
  "shes",
  "its",
];

/**
 * A phrase whose clause carries one of these is history, not an event happening now ("my father had a
 * heart attack years ago", "family history of stroke", "my grandmother died of a stroke"). Markers of
 * recent time ("an hour ago", "since this morning") are deliberately absent.
 */
export const HISTORY_MARKERS: readonly string[] = [
  "years ago",
  "year ago",
  "decades ago",
  "long time ago",
  "history of",
  "family history",
  "died of/from/by",
  "passed away",
  "in the past",
  "as a child/kid/baby/teenager",
  "when i was a child/kid/baby/teenager/little/young",
];

/** Dropped before matching, so "I can't, um, even breathe" reads as "i cannot , breathe". */
const FILLERS = new Set([
  "um",
  "umm",
  "uh",
  "uhh",
  "uhm",
  "er",
  "erm",
  "hmm",
  "mm",
  "really",
  "even",
  "actually",
  "literally",
  "basically",
  "kinda",
  "sorta",
  "totally",
]);

const SENTENCE_END = ".";
const SOFT_BREAK = ",";

// Contractions, in order. Apostrophes are already straight when these run; any left afterwards go.
const CONTRACTIONS: ReadonlyArray<readonly [RegExp, string]> = [
  [/\bcan ?not\b|\bcan'?t\b/g, "cannot"],
  [/\bwon'?t\b/g, "will not"],
  [/\bain'?t\b/g, "is not"],
  [/\b(do|does|did|is|are|was|were|have|has|had|could|should|would|must|need)n'?t\b/g, "$1 not"],
  [/\bi'?m\b/g, "i am"],
  [/\b(he|she|it|that|there|what|who)'s\b/g, "$1 is"],
  [/\bi'?ve\b/g, "i have"],
  [/'ve\b/g, " have"],
  [/'re\b/g, " are"],
  [/'ll\b/g, " will"],
  [/'d\b/g, " would"],
  [/'/g, ""],
];

/**
 * The words of `text` as matched: lower case, contractions expanded, fillers dropped, and "." (sentence
 * end) or "," (any other pause: comma, semicolon, colon, dash, ellipsis) as tokens of their own.
 */
export function normalizeTranscript(text: string): string[] {
  let s = text.toLowerCase().replace(/[\u2018\u2019\u02bc\u0060\u00b4]/g, "'");
  for (const [pattern, replacement] of CONTRACTIONS) s = s.replace(pattern, replacement);
  s = s
    .replace(/\.{3,}|\u2026/g, " , ")
    .replace(/[.!?]+(?=\s|$)|[!?]+/g, " . ")
    .replace(/[,;:]+|\s[-\u2013\u2014]+\s|[\u2013\u2014]/g, " , ")
    .replace(/[^\p{L}\p{N}.,]+/gu, " ");
  const tokens: string[] = [];
  for (const token of s.split(" ")) {
    if (token === "" || FILLERS.has(token)) continue;
    const last = tokens[tokens.length - 1];
    const isBreak = token === SENTENCE_END || token === SOFT_BREAK;
    if (isBreak && (last === undefined || last === SENTENCE_END || last === SOFT_BREAK)) {
      // Collapse runs of boundaries, keeping the stronger one; a leading boundary carries nothing.
      if (last !== undefined && token === SENTENCE_END) tokens[tokens.length - 1] = SENTENCE_END;
      continue;
    }
    tokens.push(token);
  }
  return tokens;
}

// ---------------------------------------------------------------------------------------------------------
// Compilation: every phrase becomes one RegExp over the normalised line, written as " w1 w2 ... wn " (one
// space between tokens, one at each end), so a phrase always starts and ends on whole words.

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

const NEGATION_SET = new Set(NEGATION_CUES);
const CLAUSE_BREAK_SET = new Set(CLAUSE_BREAKS);
const TERMINATOR_SET = new Set(SCOPE_TERMINATORS);

// A gap word is any token but a sentence end or a negation cue ("pregnant but not bleeding" is no match).
const GAP = `(?: (?!(?:${NEGATION_CUES.map(escapeRegExp).join("|")}) )[^ .][^ ]*){0,${GAP_WORDS}}`;

function compilePhrase(phrase: string): RegExp {
  let source = "";
  for (const part of phrase.trim().split(/\s+/)) {
    if (part === "...") {
      source += GAP;
      continue;
    }
    const alternatives = part.split("/").map((alt) => normalizeTranscript(alt).map(escapeRegExp).join(" "));
    // A pause between two words of a phrase is allowed: "I can't, um, breathe" reads "cannot , breathe".
    source += `${source ? "(?: ,)?" : ""} (?:${alternatives.join("|")})`;
  }
  return new RegExp(`${source}(?= )`, "g");
}

interface CompiledRule {
  readonly level: DetectedEscalationLevel;
  readonly category: string;
  readonly phrase: string;
  readonly pattern: RegExp;
}

function compileTable(level: DetectedEscalationLevel, table: PhraseTable): CompiledRule[] {
  return Object.entries(table).flatMap(([category, phrases]) =>
    phrases.map((phrase) => ({ level, category, phrase, pattern: compilePhrase(phrase) }))
  );
}

/** Most severe level first: the first level with a surviving hit is the answer. */
const RULES_BY_LEVEL: ReadonlyArray<readonly CompiledRule[]> = [
  compileTable("emergency", EMERGENCY_PHRASES),
  compileTable("high_priority", HIGH_PRIORITY_PHRASES),
  compileTable("human_requested", HUMAN_REQUEST_PHRASES),
];
const PSEUDO_NEGATION_PATTERNS = PSEUDO_NEGATIONS.map(compilePhrase);
const HISTORY_PATTERNS = HISTORY_MARKERS.map(compilePhrase);

// ---------------------------------------------------------------------------------------------------------
// Matching.

/** One normalised line, with the per-token facts the rules need, all computed in linear time. */
class Line {
  readonly tokens: string[];
  readonly haystack: string;
  /** Token index of each character of `haystack` (spaces belong to the token after them). */
  private readonly tokenOfChar: Int32Array;
  /** Tokens inside a pseudo-negation ("not sure"): never read as a negation cue. */
  private readonly neutral: Uint8Array;
  /** Clause number of each token, and which clauses carry a history marker. */
  private readonly clauseOf: Int32Array;
  private readonly historicClauses = new Set<number>();

  constructor(text: string) {
    this.tokens = normalizeTranscript(text);
    this.haystack = ` ${this.tokens.join(" ")} `;
    this.tokenOfChar = new Int32Array(this.haystack.length);
    let pos = 0;
    this.tokens.forEach((token, i) => {
      this.tokenOfChar.fill(i, pos, pos + token.length + 1);
      pos += token.length + 1;
    });
    this.tokenOfChar.fill(this.tokens.length, pos);

    this.clauseOf = new Int32Array(this.tokens.length);
    let clause = 0;
    this.tokens.forEach((token, i) => {
      if (isBoundary(token)) clause++;
      this.clauseOf[i] = clause;
    });

    this.neutral = new Uint8Array(this.tokens.length);
    for (const pattern of PSEUDO_NEGATION_PATTERNS) {
      for (const [from, to] of this.matches(pattern)) this.neutral.fill(1, from, to + 1);
    }
    for (const pattern of HISTORY_PATTERNS) {
      for (const [from] of this.matches(pattern)) this.historicClauses.add(this.clauseOf[from]);
    }
  }

  /** Every hit of `pattern`, as [first token, last token]. */
  *matches(pattern: RegExp): Generator<[number, number]> {
    pattern.lastIndex = 0;
    for (let m = pattern.exec(this.haystack); m; m = pattern.exec(this.haystack)) {
      yield [this.tokenOfChar[m.index + 1], this.tokenOfChar[m.index + m[0].length - 1]];
    }
  }

  /**
   * A negation cue among the NEGATION_WINDOW words before token `start`, scanning back until the clause
   * ends (punctuation, a clause break, a subject pronoun). "or"/"nor" coordinate the phrase with an earlier
   * one: the window restarts there and commas of the list may be crossed ("I don't have a fever, chills or
   * chest pain" is negated as a whole).
   */
  isNegated(start: number): boolean {
    let words = 0;
    let inList = false;
    for (let i = start - 1; i >= 0 && words < NEGATION_WINDOW; i--) {
      const token = this.tokens[i];
      if (token === "or" || token === "nor") {
        inList = true;
        words = 0;
        if (token === "nor") return true;
        continue;
      }
      if (token === SOFT_BREAK && inList) {
        words = 0;
        continue;
      }
      if (isBoundary(token) || TERMINATOR_SET.has(token)) return false;
      words++;
      if (!this.neutral[i] && NEGATION_SET.has(token)) return true;
    }
    return false;
  }

  /** True when any clause the hit spans carries a history marker. */
  isHistoric(from: number, to: number): boolean {
    if (this.historicClauses.size === 0) return false;
    for (let c = this.clauseOf[from]; c <= this.clauseOf[to]; c++) {
      if (this.historicClauses.has(c)) return true;
    }
    return false;
  }
}

function isBoundary(token: string): boolean {
  return token === SENTENCE_END || token === SOFT_BREAK || CLAUSE_BREAK_SET.has(token);
}

const NONE: EscalationResult = { level: null, matched: null, category: null };

/**
 * Checks one final callee transcript line. Returns the most severe level found (emergency, then
 * high_priority, then human_requested), the table phrase that matched (as written in the table, safe for
 * logs) and its category; or all nulls. Linear in the length of the line: the patterns are precompiled.
 */
export function detectEscalation(text: string): EscalationResult {
  if (!text || !/[\p{L}]/u.test(text)) return NONE;
  const line = new Line(text);
  for (const rules of RULES_BY_LEVEL) {
    let best: { at: number; rule: CompiledRule } | undefined;
    for (const rule of rules) {
      for (const [from, to] of line.matches(rule.pattern)) {
        if (best && from >= best.at) break;
        if (line.isNegated(from) || line.isHistoric(from, to)) continue;
        best = { at: from, rule };
        break;
      }
    }
    if (best) return { level: best.rule.level, matched: best.rule.phrase, category: best.rule.category };
  }
  return NONE;
}

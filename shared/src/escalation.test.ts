import assert from "node:assert/strict";
import { test } from "node:test";
import {
  type DetectedEscalationLevel,
  detectEscalation,
  EMERGENCY_PHRASES,
  HIGH_PRIORITY_PHRASES,
  HUMAN_REQUEST_PHRASES,
  normalizeTranscript,
  type PhraseTable,
} from "./escalation.ts";

type Expected = DetectedEscalationLevel | null;

// [callee line, expected level, expected category (checked when given)]
const CASES: ReadonlyArray<readonly [string, Expected, string?]> = [
  // Emergencies, plainly said.
  ["I have chest pain", "emergency", "cardiac"],
  ["CHEST PAIN!!!", "emergency", "cardiac"],
  ["There's a lot of pressure in my chest", "emergency", "cardiac"],
  ["I think I'm having a heart attack", "emergency", "cardiac"],
  ["I can't breathe", "emergency", "breathing"],
  ["I can’t breathe", "emergency", "breathing"], // curly apostrophe
  ["i cant breathe", "emergency", "breathing"],
  ["I can not breathe", "emergency", "breathing"],
  ["I cannot breathe", "emergency", "breathing"],
  ["I can't, um, really breathe", "emergency", "breathing"], // fillers go, a pause inside a phrase is allowed
  ["I'm having trouble breathing", "emergency", "breathing"],
  ["I've been short of breath all morning", "emergency", "breathing"],
  ["I feel suicidal", "emergency", "self_harm"],
  ["Sometimes I want to kill myself", "emergency", "self_harm"],
  ["I just want to die", "emergency", "self_harm"],
  ["I want to end my life", "emergency", "self_harm"],
  ["I think I took an overdose", "emergency", "overdose"],
  ["He took too many pills", "emergency", "overdose"],
  ["Her face is drooping and her speech is slurred", "emergency", "stroke"],
  ["I can't move my arm", "emergency", "stroke"],
  ["My mother is having a stroke right now", "emergency", "stroke"], // a carer speaking: still an emergency
  ["He's bleeding heavily", "emergency", "bleeding"],
  ["The cut won't stop bleeding", "emergency", "bleeding"],
  ["My husband passed out and he's not breathing", "emergency", "unresponsive"],
  ["She is having a seizure", "emergency", "seizure"],
  ["My throat is closing", "emergency", "anaphylaxis"],
  ["I'm having an allergic reaction and my lips are swelling", "emergency", "anaphylaxis"],
  ["I'm pregnant and bleeding heavily", "emergency", "bleeding"],

  // Negation must be scoped: a cue before the phrase in the same clause negates it, nothing else does.
  ["No chest pain.", null],
  ["I don't have chest pain", null],
  ["I dont have chest pain", null],
  ["I do not have any chest pain", null],
  ["I've never had chest pain", null],
  ["Never had chest pain", null],
  ["I've been fine, without any chest pain", null],
  ["I'm not suicidal", null],
  ["I am not suicidal", null],
  ["No trouble breathing", null],
  ["Patient denies shortness of breath", null],
  ["No chest pain or shortness of breath", null],
  ["I don't have any chest pain or shortness of breath", null], // "or" restarts the window
  ["I don't have a fever, chills or chest pain", null], // a list after "or" stays negated
  ["It's not chest pain, it's more like heartburn", null],
  ["No heart attack, no stroke, nothing like that", null],
  ["I don't want to die", null],
  ["No, I have chest pain.", "emergency", "cardiac"],
  ["No I have chest pain", "emergency", "cardiac"], // no punctuation: the pronoun ends the cue's scope
  ["I have chest pain, no fever", "emergency", "cardiac"],
  ["My chest pain is getting worse", "emergency", "cardiac"],
  ["No fever but I do have chest pain", "emergency", "cardiac"],
  ["I don't have a fever and I can't breathe", "emergency", "breathing"],
  ["No fever, chest pain", "emergency", "cardiac"], // a comma without "or" is no list: err on escalating
  ["I'm not sure, but I think it's a heart attack", "emergency", "cardiac"],
  ["I'm not sure if it is a heart attack", "emergency", "cardiac"], // pseudo-negation + pronoun
  ["Not only chest pain, I also can't breathe", "emergency"],
  ["I can't go a day without chest pain", "emergency", "cardiac"], // double negation
  ["Neither chest pain nor fever", null],

  // History: an explicit history marker in the clause means intake data, not an event happening now.
  ["My father had a heart attack years ago", null],
  ["I had a stroke two years ago", null],
  ["There's a family history of stroke", null],
  ["My grandmother died of a heart attack", null],
  ["I had a heart attack years ago and now I have chest pain", "emergency", "cardiac"],
  ["My father had a heart attack", "emergency", "cardiac"], // no marker: it may have just happened
  ["The chest pain started an hour ago", "emergency", "cardiac"], // recent time is no history marker

  // High priority.
  ["I'm in severe pain", "high_priority", "severe_pain"],
  ["She has a high fever", "high_priority", "fever"],
  ["He has a fever of 104", "high_priority", "fever"],
  ["fever of 39.5 since yesterday", "high_priority", "fever"],
  ["I'm pregnant and I've been bleeding", "high_priority", "pregnancy"],
  ["I'm pregnant, and I've been bleeding a little", "high_priority", "pregnancy"],
  ["I fell and hit my head", "high_priority", "head_injury"],
  ["My symptoms are getting worse", "high_priority", "worsening"],
  ["It's not getting better", "high_priority", "worsening"],
  ["I don't have a high fever", null],
  ["It's not getting worse", null],
  ["I'm pregnant, but not bleeding", null],
  ["I had a fever. I'm 40 now", null], // a number in another sentence is no fever reading

  // Human requested.
  ["Can I speak to a real person?", "human_requested", "human"],
  ["I want to talk to a nurse", "human_requested", "human"],
  ["Operator!", "human_requested", "human"],
  ["Let me talk to someone please", "human_requested", "human"],
  ["Can I get a representative", "human_requested", "human"],
  ["I don't need to talk to a nurse", null],
  ["I'll talk to my doctor about it", null],

  // The most severe level wins.
  ["I want to speak to a human, I have chest pain", "emergency", "cardiac"],
  ["I'm in severe pain and I want to talk to a nurse", "high_priority", "severe_pain"],

  // Ordinary intake answers.
  ["I'm doing fine, thanks", null],
  ["I'd like to reschedule my appointment to Tuesday", null],
  ["I can breathe fine, my knee hurts", null],
  ["I take metformin twice a day", null],
  ["", null],
  ["...", null],
];

test(`escalation table: ${CASES.length} lines`, () => {
  assert.ok(CASES.length >= 40);
  const failures: string[] = [];
  for (const [line, level, category] of CASES) {
    const r = detectEscalation(line);
    if (r.level !== level || (category !== undefined && r.category !== category)) {
      failures.push(
        `${JSON.stringify(line)}: expected ${level}/${category ?? "*"}, got ${r.level}/${r.category}`,
      );
    }
  }
  assert.deepEqual(failures, []);
});

test("the result names the table phrase that matched, and is all nulls otherwise", () => {
  assert.deepEqual(detectEscalation("i cant breathe"), {
    level: "emergency",
    matched: "can't breathe",
    category: "breathing",
  });
  assert.deepEqual(detectEscalation("no chest pain"), { level: null, matched: null, category: null });
});

test("within one level the earliest phrase in the line is reported", () => {
  assert.equal(detectEscalation("I had a seizure and now chest pain").matched, "seizure");
  assert.equal(detectEscalation("No chest pain. But she had a seizure").matched, "seizure");
});

test("a negated phrase does not hide a later, affirmed occurrence of the same phrase", () => {
  assert.equal(detectEscalation("No chest pain yesterday, but today chest pain again").level, "emergency");
});

test("normalisation: case, curly apostrophes, contractions, fillers and boundaries", () => {
  assert.deepEqual(normalizeTranscript("No, I CAN’T breathe!"), ["no", ",", "i", "cannot", "breathe", "."]);
  assert.deepEqual(normalizeTranscript("I don't, um, know"), ["i", "do", "not", ",", "know"]);
  assert.deepEqual(normalizeTranscript("it's 39.5 - he's fine..."), [
    "it",
    "is",
    "39.5",
    ",",
    "he",
    "is",
    "fine",
    ",",
  ]);
  assert.deepEqual(normalizeTranscript("  ?! "), []);
});

test("every table phrase, said on its own, is detected at its level or a more severe one", () => {
  const severity: Record<DetectedEscalationLevel, number> = {
    emergency: 0,
    high_priority: 1,
    human_requested: 2,
  };
  const tables: ReadonlyArray<readonly [DetectedEscalationLevel, PhraseTable]> = [
    ["emergency", EMERGENCY_PHRASES],
    ["high_priority", HIGH_PRIORITY_PHRASES],
    ["human_requested", HUMAN_REQUEST_PHRASES],
  ];
  let checked = 0;
  for (const [level, table] of tables) {
    for (const phrases of Object.values(table)) {
      for (const phrase of phrases) {
        // First alternative of each word, and a neutral word where the phrase allows a gap.
        const line = phrase.split(" ").map((w) => (w === "..." ? "with" : w.split("/")[0])).join(" ");
        const r = detectEscalation(`Well, ${line}.`);
        assert.ok(r.level !== null && severity[r.level] <= severity[level], `${phrase} -> ${r.level}`);
        checked++;
      }
    }
  }
  assert.ok(checked > 100);
});

test("a very long line is handled in one pass", () => {
  const filler = "I went to the store and bought some bread, ".repeat(2_000);
  assert.equal(detectEscalation(filler).level, null);
  assert.equal(detectEscalation(`${filler} and now I can't breathe`).level, "emergency");
  assert.equal(detectEscalation(`${filler} no chest pain`.repeat(3)).level, null);
});

test("the phrase tables are readonly data", () => {
  assert.ok(EMERGENCY_PHRASES.cardiac.includes("chest pain"));
  assert.ok(HUMAN_REQUEST_PHRASES.human.includes("operator"));
});

// Who picked up: a person, a voicemail greeting, a phone menu (IVR) or a call screener. Decided from
// what the callee side says first (and, while a menu is being navigated, from each later prompt), with
// phrase lists a person can review, in code, so the decision costs nothing and works in text sessions.
// Ambiguous openings ("Hello?", "Dr. Smith's office, this is Ana") count as a person: the agent greets,
// and a later turn can still reveal a machine only while the call is in the IVR phase.

import type { AnsweredBy } from "@intake/shared/enums";

/** What a line can reveal: always a decision. `unknown` is only recorded when nobody was heard at all. */
export type ClassifiedAnswer = Exclude<AnsweredBy, "unknown">;

const VOICEMAIL = [
  /\bleave (?:me |us )?(?:a |your )?(?:message|name and number)\b/,
  /\b(?:after|at) the (?:tone|beep)\b/,
  /\bvoice ?mail\b/,
  /\bmailbox\b/,
  /\b(?:is|am|are) (?:not available|unavailable|away from)\b/,
  /\bcan(?:no|')?t (?:take|come to) (?:your|the) (?:call|phone)\b/,
  /\brecord your message\b/,
];
const IVR = [
  /\bpress (?:\d|one|two|three|four|five|six|seven|eight|nine|zero|star|pound)\b/,
  /\bfor [a-z ]{2,40}, press\b/,
  /\b(?:main )?menu\b/,
  /\bpara español\b/,
  /\bdial (?:the )?extension\b/,
  /\bif you know your party'?s extension\b/,
  /\byour call (?:is important|may be recorded)\b/,
  /\bplease (?:hold|stay on the line)\b/,
];
const CALL_SCREENER = [
  /\bstate your name\b/,
  /\bsay your name\b/,
  /\bwho(?: is|'s) calling\b/,
  /\b(?:reason|purpose) (?:of|for) your call\b/,
  /\bscreening (?:service|this call)\b/,
  /\bcall assist\b/,
  /\bsee if this person is available\b/,
];

/** Classifies one line said by the callee's side. Voicemail wins over IVR ("press 1 to leave a message"). */
export function classifyAnswer(text: string): ClassifiedAnswer {
  const line = text.toLowerCase().replace(/[\u2018\u2019]/g, "'");
  if (VOICEMAIL.some((re) => re.test(line))) return "voicemail";
  if (CALL_SCREENER.some((re) => re.test(line))) return "call_screener";
  if (IVR.some((re) => re.test(line))) return "ivr";
  return "human";
}

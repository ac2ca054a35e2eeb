// Phone numbers: everything the platform dials or compares is E.164, parsed with libphonenumber-js
// (the metadata Google's libphonenumber maintains), never with a hand-written pattern.
import { parsePhoneNumberFromString } from "libphonenumber-js/max";
import type { CountryCode } from "libphonenumber-js";

export type PhoneCheck =
  | { ok: true; e164: string; country: string | undefined; type: string | undefined }
  | { ok: false; reason: "unparseable" | "extension" | "invalid" | "not_dialable"; message: string };

// What a phone number may be written with: ASCII digits, the usual separators and one leading +. libphonenumber
// is lenient on purpose (it finds a number inside "tel:+1...;drop", reads other scripts' digits, drops
// trailing junk); a number we dial must be exactly what the caller sent, so anything else is refused.
const PHONE_CHARACTERS = /^\+?[0-9 ().-]+$/;

/**
 * Parses `input` (E.164, or national format with `defaultCountry`) into a dialable E.164 number.
 * A number that parses but is not valid for its country (seed 000's `+1971265679`: ten digits
 * after +1 are required) is refused rather than dialled as garbage.
 */
export function toDialableE164(input: string, defaultCountry?: CountryCode): PhoneCheck {
  const text = input.trim();
  const parsed = parsePhoneNumberFromString(text, defaultCountry ? { defaultCountry } : undefined);
  if (parsed?.ext) {
    // Dialling the extension as DTMF after the answer is not built; dropping it would reach the wrong person.
    return {
      ok: false,
      reason: "extension",
      message: "a number with an extension, which is not dialled yet",
    };
  }
  if (!parsed || !PHONE_CHARACTERS.test(text)) {
    return { ok: false, reason: "unparseable", message: "not a phone number" };
  }
  if (!parsed.isValid()) {
    return {
      ok: false,
      reason: "invalid",
      message: `not a valid number${
        parsed.country ? ` for ${parsed.country}` : ""
      } (check the digits and country code)`,
    };
  }
  const type = parsed.getType();
  if (type === "PREMIUM_RATE" || type === "SHARED_COST" || type === "UAN" || type === "PAGER") {
    return { ok: false, reason: "not_dialable", message: `numbers of type ${type} are not called` };
  }
  return { ok: true, e164: parsed.number, country: parsed.country, type };
}

/** The last digits only, for logs: enough to tell calls apart, never the whole number. */
export function maskPhone(e164: string): string {
  return e164.length <= 4 ? "****" : `${"*".repeat(Math.max(0, e164.length - 4))}${e164.slice(-4)}`;
}

// TwiML, written by hand: the `twilio` package's VoiceResponse costs ~170 ms of import on a cold start,
// and the webhooks need three verbs. Every text goes through escapeText, every attribute value through
// escapeAttribute (the same choices as twilio-node's XML writer, so the documents are byte for byte the same).

const entities: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" };

/** Escapes character data: `&`, `<` and `>`. */
export function escapeText(value: string): string {
  return value.replace(/[&<>]/g, (c) => entities[c]);
}

/** Escapes an attribute value written in double quotes: `&`, `<`, `>` and `"`. */
export function escapeAttribute(value: string): string {
  return value.replace(/[&<>"]/g, (c) => entities[c]);
}

function element(
  name: string,
  attributes: Record<string, string | number | undefined>,
  content?: string,
): string {
  let out = `<${name}`;
  for (const [key, value] of Object.entries(attributes)) {
    if (value !== undefined) out += ` ${key}="${escapeAttribute(String(value))}"`;
  }
  return content === undefined ? out + "/>" : `${out}>${content}</${name}>`;
}

/** `<Say>`: reads `text` out with Twilio's default voice. */
export function say(text: string): string {
  return element("Say", {}, escapeText(text));
}

export function hangup(): string {
  return element("Hangup", {});
}

/**
 * `<Dial><Sip>`: bridges the call to a SIP URI. `timeLimit` (seconds) ends the bridge; username and password
 * answer the far end's digest challenge when the trunk requires it.
 */
export function dialSip(
  uri: string,
  opts: { timeLimit?: number; username?: string; password?: string } = {},
): string {
  const sip = element("Sip", { username: opts.username, password: opts.password }, escapeText(uri));
  return element("Dial", { timeLimit: opts.timeLimit }, sip);
}

/** A TwiML document of the given verbs. */
export function twiml(...verbs: string[]): string {
  return `<?xml version="1.0" encoding="UTF-8"?><Response>${verbs.join("")}</Response>`;
}

export function twimlResponse(...verbs: string[]): Response {
  return new Response(twiml(...verbs), { headers: { "Content-Type": "text/xml; charset=utf-8" } });
}

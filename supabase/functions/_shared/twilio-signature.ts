// Verification of Twilio's `X-Twilio-Signature` with Web Crypto only.
//
// This is twilio-node's algorithm (lib/webhooks/webhooks.js: getExpectedTwilioSignature, validateRequest,
// validateRequestWithBody) without importing the `twilio` package, which costs ~170 ms of cold start:
//
//   signature = base64(HMAC-SHA1(authToken, url + key1 + value1 + key2 + value2 ...))
//
// with the POST parameters sorted by key (UTF-16 code-unit order, as Array#sort does) and an array value
// deduplicated, sorted and appended as key+value for each value. Like twilio-node, verification accepts the
// signature computed over four spellings of the URL, since Twilio's own signing is inconsistent about them:
// without any port, with the scheme's default port (:443 / :80) added, and both again with the query string
// re-encoded the way Node's legacy `querystring` module does. For JSON bodies Twilio signs the URL alone, which
// carries a `bodySHA256` query parameter holding the hex SHA-256 of the body.
import { base64, sha256Hex, timingSafeEqual } from "../../../shared/src/bytes.ts";

export type TwilioParams = Record<string, string | string[]>;

const encoder = new TextEncoder();

let cachedKey: { token: string; key: Promise<CryptoKey> } | null = null;

function hmacKey(authToken: string): Promise<CryptoKey> {
  if (cachedKey?.token !== authToken) {
    const key = crypto.subtle.importKey(
      "raw",
      encoder.encode(authToken),
      { name: "HMAC", hash: "SHA-1" },
      false,
      [
        "sign",
      ],
    );
    cachedKey = { token: authToken, key };
  }
  return cachedKey.key;
}

/** The string Twilio signs: the URL, then every parameter as key+value, keys sorted. */
function signedData(url: string, params: TwilioParams): string {
  let data = url;
  for (const key of Object.keys(params).sort()) {
    const value = params[key];
    if (Array.isArray(value)) {
      for (const item of Array.from(new Set(value)).sort()) data += key + item;
    } else {
      data += key + value;
    }
  }
  return data;
}

/**
 * The signature Twilio sends for a request to `url` (exactly as written, not normalised) carrying `params`;
 * twilio-node's `getExpectedTwilioSignature`. For a JSON body pass `{}` (or null) and the URL with `bodySHA256`.
 * For tests and doubles that play Twilio.
 */
export async function signTwilioRequest(
  authToken: string,
  url: string,
  params: TwilioParams | null = {},
): Promise<string> {
  if (!authToken) throw new TypeError("authToken is required to sign a Twilio request");
  const mac = await crypto.subtle.sign(
    "HMAC",
    await hmacKey(authToken),
    encoder.encode(signedData(url, params ?? {})),
  );
  return base64(new Uint8Array(mac));
}

/** Hex SHA-256 of a body, the value Twilio puts in the `bodySHA256` query parameter. */
export async function twilioBodySha256(body: string): Promise<string> {
  return await sha256Hex(body);
}

// --- The URL spellings twilio-node tries ---------------------------------------------------------------------

function withStandardPort(url: URL): string {
  const port = url.protocol === "https:" ? ":443" : ":80";
  let out = url.protocol ? url.protocol + "//" : "";
  out += url.username;
  out += url.password ? ":" + url.password : "";
  out += url.username || url.password ? "@" : "";
  out += url.host ? url.host + port : "";
  return out + url.pathname + url.search + url.hash;
}

function addPort(url: URL): string {
  return url.port ? url.toString() : withStandardPort(url);
}

function removePort(url: URL): string {
  const copy = new URL(url.href);
  copy.port = "";
  return copy.toString();
}

/** Node's `querystring.unescape`: decodeURIComponent, or on malformed input a byte-wise lenient decode. */
function qsUnescape(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    const bytes: number[] = [];
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c === 37 && i + 2 < s.length && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))) {
        bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
        i += 2;
      } else {
        bytes.push(c & 0xff);
      }
    }
    return new TextDecoder().decode(new Uint8Array(bytes));
  }
}

/**
 * `querystring.stringify(querystring.parse(qs))` from Node: pairs split on `&` and the first `=`, `+` read as a
 * space, values of repeated keys gathered in the key's first position, keys in JavaScript property order
 * (integer-like keys first), everything re-escaped with encodeURIComponent's alphabet. At most 1000 pairs.
 */
function legacyQuerystring(qs: string): string {
  const parsed: Record<string, string | string[]> = Object.create(null);
  let budget = 1000;
  for (const piece of qs.split("&")) {
    if (budget-- === 0) break;
    if (piece === "") continue;
    const eq = piece.indexOf("=");
    const key = qsUnescape((eq === -1 ? piece : piece.slice(0, eq)).replaceAll("+", " "));
    const value = eq === -1 ? "" : qsUnescape(piece.slice(eq + 1).replaceAll("+", " "));
    const current = parsed[key];
    if (current === undefined) parsed[key] = value;
    else if (Array.isArray(current)) current.push(value);
    else parsed[key] = [current, value];
  }
  const fields: string[] = [];
  for (const key of Object.keys(parsed)) {
    const value = parsed[key];
    for (const item of Array.isArray(value) ? value : [value]) {
      fields.push(encodeURIComponent(key) + "=" + encodeURIComponent(item));
    }
  }
  return fields.join("&");
}

function withLegacyQuerystring(url: string): string {
  const parsed = new URL(url);
  if (!parsed.search) return url;
  const qs = legacyQuerystring(parsed.search.slice(1));
  parsed.search = "";
  return parsed.toString() + "?" + qs;
}

/** The URL spellings to try, in twilio-node's order, computed lazily. */
function* urlCandidates(parsed: URL): Generator<string> {
  const withoutPort = removePort(parsed);
  yield withoutPort;
  const withPort = addPort(parsed);
  yield withPort;
  yield withLegacyQuerystring(withoutPort);
  yield withLegacyQuerystring(withPort);
}

/**
 * Checks `signature` (the X-Twilio-Signature header) for a request to `url` with form `params`, as twilio-node's
 * `validateRequest` does. `url` is the full URL Twilio was told to call, query string included. A missing or
 * empty signature or auth token is never valid. Throws a TypeError when `url` is not an absolute URL.
 */
export async function verifyTwilioSignature(opts: {
  authToken: string;
  url: string;
  params: TwilioParams;
  signature: string | null | undefined;
}): Promise<boolean> {
  const { authToken, url, params, signature } = opts;
  const parsed = new URL(url); // first, so that a bad URL throws whatever the signature
  if (!signature || !authToken) return false;
  for (const candidate of urlCandidates(parsed)) {
    if (timingSafeEqual(signature, await signTwilioRequest(authToken, candidate, params))) return true;
  }
  return false;
}

/**
 * Checks a request whose body is not a form (JSON): the signature covers the URL alone, and the URL's
 * `bodySHA256` parameter must be the hex SHA-256 of `body`; twilio-node's `validateRequestWithBody`.
 */
export async function verifyTwilioSignatureWithBody(opts: {
  authToken: string;
  url: string;
  body: string;
  signature: string | null | undefined;
}): Promise<boolean> {
  const { authToken, url, body, signature } = opts;
  const expectedHash = new URL(url).searchParams.get("bodySHA256") ?? "";
  if (!(await verifyTwilioSignature({ authToken, url, params: {}, signature }))) return false;
  return timingSafeEqual(expectedHash, await twilioBodySha256(body));
}

export type TwilioRequestVerdict =
  | { ok: true; params: Record<string, string>; rawBody: string }
  | {
    ok: false;
    reason: "missing_signature" | "method_not_allowed" | "unsupported_content_type" | "invalid_signature";
  };

/**
 * Reads and verifies a webhook request from Twilio. `publicUrl` is the URL Twilio was told to call (query string
 * included), not `req.url`: behind the Supabase gateway the function sees another host and path.
 *
 * A form POST (application/x-www-form-urlencoded) is verified with its parameters; on success `params` holds each
 * parameter's first value. A JSON POST is verified by the `bodySHA256` variant; the hash parameter Twilio adds is
 * taken from `req.url` when `publicUrl` lacks it, and `params` is empty (the body is in `rawBody`).
 * Throws a TypeError when `publicUrl` is not an absolute URL, a configuration error that should be loud.
 */
export async function verifyTwilioRequest(
  req: Request,
  authToken: string,
  publicUrl: string,
): Promise<TwilioRequestVerdict> {
  new URL(publicUrl); // validate the configuration before anything else
  if (req.method !== "POST") return { ok: false, reason: "method_not_allowed" };
  const signature = req.headers.get("x-twilio-signature");
  if (!signature) return { ok: false, reason: "missing_signature" };
  const mediaType = (req.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
  const rawBody = await req.text();

  if (mediaType === "application/x-www-form-urlencoded") {
    const all: TwilioParams = {};
    const params: Record<string, string> = {};
    for (const [key, value] of new URLSearchParams(rawBody)) {
      const current = all[key];
      if (current === undefined) {
        all[key] = value;
        params[key] = value;
      } else if (Array.isArray(current)) current.push(value);
      else all[key] = [current, value];
    }
    const ok = await verifyTwilioSignature({ authToken, url: publicUrl, params: all, signature });
    return ok ? { ok: true, params, rawBody } : { ok: false, reason: "invalid_signature" };
  }

  if (mediaType === "application/json") {
    let url = publicUrl;
    if (!new URL(publicUrl).searchParams.has("bodySHA256")) {
      const hash = new URL(req.url).searchParams.get("bodySHA256");
      if (hash === null) return { ok: false, reason: "invalid_signature" };
      url += (url.includes("?") ? "&" : "?") + "bodySHA256=" + encodeURIComponent(hash);
    }
    const ok = await verifyTwilioSignatureWithBody({ authToken, url, body: rawBody, signature });
    return ok ? { ok: true, params: {}, rawBody } : { ok: false, reason: "invalid_signature" };
  }

  return { ok: false, reason: "unsupported_content_type" };
}

/**
 * `publicUrl` with the query string of `req` in place of its own: for callbacks whose URL carries per-call
 * parameters (e.g. `StatusCallback=https://host/fn/twilio-status?call=123`), so that the gateway-facing
 * `req.url` supplies only the query and `publicUrl` the scheme, host and path Twilio used.
 */
export function publicUrlWithRequestQuery(publicUrl: string, req: Request): string {
  const base = new URL(publicUrl);
  base.search = new URL(req.url).search;
  return base.toString();
}

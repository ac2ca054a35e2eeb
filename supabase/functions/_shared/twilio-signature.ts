// Verification of Twilio's `X-Twilio-Signature` with Web Crypto only.
//
// This is twilio-node 6's algorithm (lib/webhooks/webhooks.js: getSignatureAlgorithm, getExpectedTwilioSignature,
// validateRequest, validateRequestWithBody) without importing the `twilio` package, which costs ~170 ms of cold
// start:
//
//   signature = base64(HMAC-<alg>(authToken, url + key1 + value1 + key2 + value2 ...))
//
// with <alg> SHA-1, or SHA-256 when the `X-Twilio-Webhooks-Signature-Settings` header says
// `algorithm=HMAC_SHA256`; the POST parameters sorted by key (UTF-16 code-unit order, as Array#sort does) and an
// array value deduplicated, sorted and appended as key+value for each value. Like twilio-node 6, verification
// first tries the URL exactly as received (the string Twilio signed: `'`, unicode and an upper-case host kept),
// without and with the scheme's default port; then, for back ends that signed an escaped form, the URL as
// `new URL()` normalises it, without and with the port, and both again with the query string re-encoded the way
// Node's legacy `querystring` module does (twilio-node 5's four candidates). For JSON bodies Twilio signs the URL
// alone, which carries a `bodySHA256` query parameter holding the hex SHA-256 of the body.
import { base64, sha256Hex, timingSafeEqual } from "../../../shared/src/bytes.ts";

export type TwilioParams = Record<string, string | string[]>;

const encoder = new TextEncoder();

/** The algorithms twilio-node 6 knows, by the names the settings header uses. */
export type TwilioSignatureAlgorithm = "HMAC_SHA1" | "HMAC_SHA256";

/**
 * The algorithm named by an `X-Twilio-Webhooks-Signature-Settings` header (`key=<id>,algorithm=<alg>`), as
 * twilio-node 6's getSignatureAlgorithm reads it: a missing header, or one without a non-empty `algorithm=`,
 * means HMAC_SHA1. An unknown name is returned as is, and verification then refuses the request.
 */
export function twilioSignatureAlgorithm(settingsHeader: string | null | undefined): string {
  for (const part of (settingsHeader ?? "").split(",")) {
    const separator = part.indexOf("=");
    if (separator !== -1 && part.slice(0, separator).trim() === "algorithm") {
      const algorithm = part.slice(separator + 1).trim();
      if (algorithm) return algorithm;
    }
  }
  return "HMAC_SHA1";
}

/** Web Crypto's hash for a Twilio algorithm name (case-insensitive, as twilio-node), or null when unsupported. */
function webCryptoHash(algorithm: string | undefined): "SHA-1" | "SHA-256" | null {
  const name = (algorithm ?? "").toUpperCase();
  if (name === "" || name === "HMAC_SHA1") return "SHA-1";
  if (name === "HMAC_SHA256") return "SHA-256";
  return null;
}

// One imported key per hash: a function verifies with one token, and importing costs more than signing.
const cachedKeys = new Map<string, { token: string; key: Promise<CryptoKey> }>();

function hmacKey(authToken: string, hash: "SHA-1" | "SHA-256"): Promise<CryptoKey> {
  const cached = cachedKeys.get(hash);
  if (cached?.token === authToken) return cached.key;
  const key = crypto.subtle.importKey("raw", encoder.encode(authToken), { name: "HMAC", hash }, false, [
    "sign",
  ]);
  cachedKeys.set(hash, { token: authToken, key });
  return key;
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
 * For tests and doubles that play Twilio. Throws a TypeError for an algorithm twilio-node does not know.
 */
export async function signTwilioRequest(
  authToken: string,
  url: string,
  params: TwilioParams | null = {},
  algorithm: string = "HMAC_SHA1",
): Promise<string> {
  if (!authToken) throw new TypeError("authToken is required to sign a Twilio request");
  const hash = webCryptoHash(algorithm);
  if (!hash) throw new TypeError(`unsupported Twilio webhook signature algorithm: ${algorithm}`);
  const mac = await crypto.subtle.sign(
    "HMAC",
    await hmacKey(authToken, hash),
    encoder.encode(signedData(url, params ?? {})),
  );
  return base64(new Uint8Array(mac));
}

/** Hex SHA-256 of a body, the value Twilio puts in the `bodySHA256` query parameter. */
export async function twilioBodySha256(body: string): Promise<string> {
  return await sha256Hex(body);
}

// --- The URL spellings twilio-node tries ---------------------------------------------------------------------
//
// Plain string surgery, as twilio-node 6's splitUrl does, so that the path and query keep the characters Twilio
// signed (`new URL()` would turn `'` into `%27`, lower-case the host and punycode it).

function splitUrl(url: string) {
  const match = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)/i.exec(url);
  if (!match) return null;
  const [prefix, scheme, authority] = match;
  const userInfoEnd = authority.lastIndexOf("@");
  const hostAndPort = authority.slice(userInfoEnd + 1);
  // A colon starts the port only after the closing bracket of an IPv6 literal.
  const portStart = hostAndPort.indexOf(":", hostAndPort.lastIndexOf("]") + 1);
  return {
    scheme,
    userInfo: authority.slice(0, userInfoEnd + 1),
    host: portStart === -1 ? hostAndPort : hostAndPort.slice(0, portStart),
    port: portStart === -1 ? "" : hostAndPort.slice(portStart),
    rest: url.slice(prefix.length),
  };
}

function addPort(url: string): string {
  const parts = splitUrl(url);
  if (!parts || parts.port) return url;
  const port = parts.scheme.toLowerCase() === "https://" ? ":443" : ":80";
  return parts.scheme + parts.userInfo + parts.host + port + parts.rest;
}

function removePort(url: string): string {
  const parts = splitUrl(url);
  return parts ? parts.scheme + parts.userInfo + parts.host + parts.rest : url;
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
  const queryStart = url.indexOf("?");
  if (queryStart === -1 || queryStart === url.length - 1) return url;
  return url.slice(0, queryStart) + "?" + legacyQuerystring(url.slice(queryStart + 1));
}

/** The URL spellings to try, in twilio-node 6's order, computed lazily (most requests match the first). */
function* urlCandidates(url: string): Generator<string> {
  yield removePort(url);
  yield addPort(url);
  const normalized = new URL(url).toString();
  const withoutPort = removePort(normalized);
  const withPort = addPort(normalized);
  yield withoutPort;
  yield withPort;
  yield withLegacyQuerystring(withoutPort);
  yield withLegacyQuerystring(withPort);
}

/**
 * Checks `signature` (the X-Twilio-Signature header) for a request to `url` with form `params`, as twilio-node's
 * `validateRequest` does. `url` is the full URL Twilio was told to call, query string included; `algorithm` the
 * one the settings header names (see twilioSignatureAlgorithm; default HMAC_SHA1). A missing or empty signature
 * or auth token, or an unknown algorithm, is never valid. Throws a TypeError when `url` is not an absolute URL.
 */
export async function verifyTwilioSignature(opts: {
  authToken: string;
  url: string;
  params: TwilioParams;
  signature: string | null | undefined;
  algorithm?: string;
}): Promise<boolean> {
  const { authToken, url, params, signature, algorithm = "HMAC_SHA1" } = opts;
  new URL(url); // first, so that a bad URL throws whatever the signature
  if (!signature || !authToken || !webCryptoHash(algorithm)) return false;
  for (const candidate of urlCandidates(url)) {
    if (timingSafeEqual(signature, await signTwilioRequest(authToken, candidate, params, algorithm))) {
      return true;
    }
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
  algorithm?: string;
}): Promise<boolean> {
  const { authToken, url, body, signature, algorithm } = opts;
  const expectedHash = new URL(url).searchParams.get("bodySHA256") ?? "";
  if (!(await verifyTwilioSignature({ authToken, url, params: {}, signature, algorithm }))) return false;
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
 * taken from `req.url` when `publicUrl` lacks it, and `params` is empty (the body is in `rawBody`). The algorithm
 * comes from the `X-Twilio-Webhooks-Signature-Settings` header (HMAC-SHA256 for SharedKey-signed webhooks); like
 * twilio-node, the same `authToken` is the HMAC key whichever algorithm it names.
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
  const algorithm = twilioSignatureAlgorithm(req.headers.get("x-twilio-webhooks-signature-settings"));
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
    const ok = await verifyTwilioSignature({ authToken, url: publicUrl, params: all, signature, algorithm });
    return ok ? { ok: true, params, rawBody } : { ok: false, reason: "invalid_signature" };
  }

  if (mediaType === "application/json") {
    let url = publicUrl;
    if (!new URL(publicUrl).searchParams.has("bodySHA256")) {
      const hash = new URL(req.url).searchParams.get("bodySHA256");
      if (hash === null) return { ok: false, reason: "invalid_signature" };
      url += (url.includes("?") ? "&" : "?") + "bodySHA256=" + encodeURIComponent(hash);
    }
    const ok = await verifyTwilioSignatureWithBody({ authToken, url, body: rawBody, signature, algorithm });
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

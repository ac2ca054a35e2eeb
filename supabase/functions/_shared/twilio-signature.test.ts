import { deepStrictEqual as assertEquals, ok as assert, rejects as assertRejects } from "node:assert/strict";
import { parse as qsParse, stringify as qsStringify } from "node:querystring";
// The real twilio-node, in this test only: every case is checked against its own validateRequest.
import twilio from "twilio";
import {
  publicUrlWithRequestQuery,
  signTwilioRequest,
  twilioBodySha256,
  type TwilioParams,
  twilioSignatureAlgorithm,
  verifyTwilioRequest,
  verifyTwilioSignature,
  verifyTwilioSignatureWithBody,
} from "./twilio-signature.ts";

/** Ours and twilio-node's verdicts, asserted equal to `expected`. */
async function verdicts(
  authToken: string,
  signature: string | null,
  url: string,
  params: TwilioParams,
  expected: boolean,
  algorithm?: string,
) {
  const ours = await verifyTwilioSignature({ authToken, url, params, signature, algorithm });
  const theirs = twilio.validateRequest(authToken, signature ?? "", url, params, algorithm);
  assertEquals({ ours, theirs }, { ours: expected, theirs: expected }, `${url} ${signature} ${algorithm}`);
}

// --- The vector in Twilio's security docs -------------------------------------------------------------------

const docsToken = "12345";
const docsUrl = "https://mycompany.com/myapp.php?foo=1&bar=2";
const docsParams = {
  CallSid: "CA1234567890ABCDE",
  Caller: "+12349013030",
  Digits: "1234",
  From: "+12349013030",
  To: "+18005551212",
};

Deno.test("the documented vector signs to 0/KCTR6DLpKmkAf8muzZqo1nDgQ= and twilio-node agrees", async () => {
  assertEquals(
    twilio.getExpectedTwilioSignature(docsToken, docsUrl, docsParams),
    "0/KCTR6DLpKmkAf8muzZqo1nDgQ=",
  );
  assertEquals(await signTwilioRequest(docsToken, docsUrl, docsParams), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
  await verdicts(docsToken, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=", docsUrl, docsParams, true);
});

// --- twilio-node's own vectors: spec/validation.spec.js ------------------------------------------------------

const specToken = "12345";
const specUrl = "https://mycompany.com/myapp.php?foo=1&bar=2";
const specParams = {
  CallSid: "CA1234567890ABCDE",
  Caller: "+14158675309",
  Digits: "1234",
  From: "+14158675309",
  To: "+18005551212",
};
const specSignature = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
const specBody = '{"property": "value", "boolean": true}';
const specBodyHash = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";
const specUrlWithHash = specUrl + "&bodySHA256=" + specBodyHash;
const specUrlWithHashSignature = "a9nBmqA0ju/hNViExpshrM61xv4=";
const specEmptyBodyHash = "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

const specCases: Array<[string, string | null, string, TwilioParams, boolean]> = [
  ["correct signature", specSignature, specUrl, specParams, true],
  ["wrong signature", "WRONG_SIGNATURE", specUrl, specParams, false],
  ["signature undefined", null, specUrl, specParams, false],
  [
    "https url with port 1234, stripped",
    specSignature,
    specUrl.replace(".com", ".com:1234"),
    specParams,
    true,
  ],
  [
    "http url with port 1234",
    "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=",
    specUrl.replace(".com", ".com:1234").replace("https", "http"),
    specParams,
    true,
  ],
  ["https url without port, :443 added", "kvajT1Ptam85bY51eRf/AJRuM3w=", specUrl, specParams, true],
  [
    "http url without port, :80 added",
    "0ZXoZLH/DfblKGATFgpif+LLRf4=",
    specUrl.replace("https", "http"),
    specParams,
    true,
  ],
  [
    "url with credentials",
    "CukzLTc1tT5dXEDIHm/tKBanW10=",
    "https://user:pass@mycompany.com/myapp.php?foo=1&bar=2",
    specParams,
    true,
  ],
  [
    "url with just a username",
    "2YRLlVAflCqxaNicjMpJcSTgzSs=",
    "https://user@mycompany.com/myapp.php?foo=1&bar=2",
    specParams,
    true,
  ],
  [
    "url with credentials, port added",
    "ZQFR1PTIZXF2MXB8ZnKCvnnA+rI=",
    "https://user:pass@mycompany.com/myapp.php?foo=1&bar=2",
    specParams,
    true,
  ],
  // Signed over the raw `It's+amazing`: twilio-node 5 refused it (its WHATWG URL turns `'` into %27), twilio-node
  // 6 tries the URL as received first and accepts it, and so do we.
  [
    "url with special characters, as received",
    "dsq4Ehbj6cs+KdTkpF5sSSplOWw=",
    specUrl + "&Body=It's+amazing",
    specParams,
    true,
  ],
  [
    "middleware: unexpected query parameter",
    specSignature,
    specUrl + "&somethingUnexpected=true",
    specParams,
    false,
  ],
  [
    "array parameter",
    "83O6e2vORAoJHUNzJjDWN1jz+BA=",
    specUrl,
    { "MessagingBinding.Address": ["+1325xxxxxxx", "+1415xxxxxxx"] },
    true,
  ],
  [
    "array parameter, values in another order",
    "83O6e2vORAoJHUNzJjDWN1jz+BA=",
    specUrl,
    { "MessagingBinding.Address": ["+1415xxxxxxx", "+1325xxxxxxx"] },
    true,
  ],
  [
    "several params, repeated values",
    "IK+Dwps556ElfBT0I3Rgjkr1wJU=",
    specUrl,
    { Sid: "CA123", SidAccount: "AC123", Digits: ["5678", "1234", "1234"] },
    true,
  ],
];

for (const [name, signature, url, params, expected] of specCases) {
  Deno.test(`twilio-node vector: ${name}`, () => verdicts(specToken, signature, url, params, expected));
}

Deno.test("twilio-node vector: body hash of the spec body", async () => {
  assertEquals(await twilioBodySha256(specBody), specBodyHash);
  assertEquals(twilio.getExpectedBodyHash(specBody), specBodyHash);
  assertEquals(await twilioBodySha256("{}"), specEmptyBodyHash);
});

const bodyCases: Array<[string, string, string, string, boolean]> = [
  ["request body with bodySHA256", specUrlWithHashSignature, specUrlWithHash, specBody, true],
  [
    "empty request body",
    "Ldidvp12m26NI7eqEvxnEpkd9Hc=",
    specUrl + "&bodySHA256=" + specEmptyBodyHash,
    "{}",
    true,
  ],
  [
    "only the bodySHA256 parameter",
    "y77kIzt2vzLz71DgmJGsen2scGs=",
    "https://mycompany.com/myapp.php?bodySHA256=" + specBodyHash,
    specBody,
    true,
  ],
  ["a body but no bodySHA256 parameter", specSignature, specUrl, specBody, false],
  ["a wrong hash (url cut short)", specUrlWithHashSignature, specUrlWithHash.slice(0, -1), specBody, false],
  ["a tampered body", specUrlWithHashSignature, specUrlWithHash, specBody.replace("true", "false"), false],
];

for (const [name, signature, url, body, expected] of bodyCases) {
  Deno.test(`twilio-node vector (JSON body): ${name}`, async () => {
    const ours = await verifyTwilioSignatureWithBody({ authToken: specToken, url, body, signature });
    const theirs = twilio.validateRequestWithBody(specToken, signature, url, body);
    assertEquals({ ours, theirs }, { ours: expected, theirs: expected });
  });
}

// --- twilio-node's own vectors: spec/unit/webhooks/webhooks.spec.js (signatures from getExpectedTwilioSignature) -

const unitToken = "s3cr3t";
const unitCases: Array<[string, string, string, boolean]> = [
  [
    "target url differs in a query value",
    "https://example.com/path?test=param",
    "https://example.com/path?test=param2",
    false,
  ],
  [
    "signed with port, target with port",
    "https://example.com:443/path?test=param",
    "https://example.com:443/path?test=param",
    true,
  ],
  [
    "signed with port, target without",
    "https://example.com:443/path?test=param",
    "https://example.com/path?test=param",
    true,
  ],
  [
    "signed without port, target without",
    "https://example.com/path?test=param",
    "https://example.com/path?test=param",
    true,
  ],
  [
    "signed without port, target with",
    "https://example.com/path?test=param",
    "https://example.com:443/path?test=param",
    true,
  ],
  [
    "unescaped quote signed, unescaped target",
    "https://example.com/path?test=param'WithQuote",
    "https://example.com/path?test=param'WithQuote",
    true,
  ],
  [
    "unescaped quote signed, escaped target",
    "https://example.com/path?test=param'WithQuote",
    "https://example.com/path?test=param%27WithQuote",
    true,
  ],
  [
    "escaped quote signed, unescaped target",
    "https://example.com/path?test=param%27WithQuote",
    "https://example.com/path?test=param'WithQuote",
    true,
  ],
  [
    "escaped quote signed, escaped target",
    "https://example.com/path?test=param%27WithQuote",
    "https://example.com/path?test=param%27WithQuote",
    true,
  ],
];

for (const [name, signedUrl, targetUrl, expected] of unitCases) {
  Deno.test(`twilio-node unit vector: ${name}`, async () => {
    const signature = await signTwilioRequest(unitToken, signedUrl, {});
    assertEquals(signature, twilio.getExpectedTwilioSignature(unitToken, signedUrl, {}));
    await verdicts(unitToken, signature, targetUrl, {}, expected);
  });
}

// --- Forgeries -------------------------------------------------------------------------------------------------

Deno.test("forged, missing, tampered and wrongly keyed requests are refused", async () => {
  const good = await signTwilioRequest(docsToken, docsUrl, docsParams);
  const forged = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(20))));
  await verdicts(docsToken, forged, docsUrl, docsParams, false);
  await verdicts(docsToken, null, docsUrl, docsParams, false);
  await verdicts(docsToken, "", docsUrl, docsParams, false);
  await verdicts(docsToken, good.slice(0, -2), docsUrl, docsParams, false); // a prefix of the right one
  await verdicts(docsToken, good, docsUrl, { ...docsParams, Digits: "1235" }, false);
  await verdicts(docsToken, good, docsUrl, { ...docsParams, Extra: "" }, false);
  const { Digits: _dropped, ...fewer } = docsParams;
  await verdicts(docsToken, good, docsUrl, fewer, false);
  await verdicts("54321", good, docsUrl, docsParams, false);
  await verdicts(docsToken, good, docsUrl.replace("foo=1", "foo=2"), docsParams, false);
  await verdicts(docsToken, good, docsUrl.replace("https:", "http:"), docsParams, false);
  await verdicts(docsToken, good, docsUrl.replace("mycompany", "evil"), docsParams, false);
  // A different non-default port is not a spelling Twilio tries: only none or the scheme's default.
  const on8443 = await signTwilioRequest(docsToken, docsUrl.replace(".com", ".com:8443"), docsParams);
  await verdicts(docsToken, on8443, docsUrl, docsParams, false);
  // An empty auth token never verifies (twilio-node would accept an HMAC keyed with nothing).
  assertEquals(
    await verifyTwilioSignature({ authToken: "", url: docsUrl, params: docsParams, signature: good }),
    false,
  );
});

Deno.test("an invalid URL throws like twilio-node, signature or not", async () => {
  await assertRejects(
    verifyTwilioSignature({ authToken: "t", url: "/relative", params: {}, signature: "x" }),
    TypeError,
  );
  await assertRejects(
    verifyTwilioSignature({ authToken: "t", url: "nope", params: {}, signature: null }),
    TypeError,
  );
  assert(throws(() => twilio.validateRequest("t", "x", "/relative", {})));
});

function throws(f: () => unknown): boolean {
  try {
    f();
    return false;
  } catch {
    return true;
  }
}

// --- verifyTwilioRequest ---------------------------------------------------------------------------------------

const publicUrl = "https://abc.supabase.co/functions/v1/twilio-status?call=c_123";

async function formRequest(
  params: Record<string, string | string[]>,
  opts: { signedUrl?: string; token?: string; signature?: string | null; body?: string } = {},
): Promise<Request> {
  const form = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    for (const item of Array.isArray(v) ? v : [v]) form.append(k, item);
  }
  const signature = opts.signature === undefined
    ? await signTwilioRequest(opts.token ?? docsToken, opts.signedUrl ?? publicUrl, params)
    : opts.signature;
  const headers = new Headers({ "Content-Type": "application/x-www-form-urlencoded; charset=utf-8" });
  if (signature !== null) headers.set("X-Twilio-Signature", signature);
  // What the function sees behind the gateway: another host and path.
  return new Request("http://localhost:8000/twilio-status?call=c_123", {
    method: "POST",
    headers,
    body: opts.body ?? form.toString(),
  });
}

Deno.test("verifyTwilioRequest accepts a signed form POST against the public URL, not req.url", async () => {
  const params = { CallSid: "CA" + "a".repeat(32), CallStatus: "completed", Body: "a b+c&d=é" };
  const verdict = await verifyTwilioRequest(await formRequest(params), docsToken, publicUrl);
  assertEquals(verdict.ok, true);
  assertEquals(verdict.ok && verdict.params, params);
  // twilio-node agrees on the same inputs.
  assert(
    twilio.validateRequest(
      docsToken,
      await signTwilioRequest(docsToken, publicUrl, params),
      publicUrl,
      params,
    ),
  );
});

Deno.test("verifyTwilioRequest: the public URL's query string is part of what is signed", async () => {
  const params = { CallSid: "CA1" };
  const withoutQuery = publicUrl.split("?")[0];
  assertEquals(await verifyTwilioRequest(await formRequest(params), docsToken, withoutQuery), {
    ok: false,
    reason: "invalid_signature",
  });
  const signedOnReqUrl = await formRequest(params, {
    signedUrl: "http://localhost:8000/twilio-status?call=c_123",
  });
  assertEquals((await verifyTwilioRequest(signedOnReqUrl, docsToken, publicUrl)).ok, false);
});

Deno.test("verifyTwilioRequest refuses missing, forged and tampered requests", async () => {
  const params = { CallSid: "CA1", CallStatus: "ringing" };
  assertEquals(
    await verifyTwilioRequest(await formRequest(params, { signature: null }), docsToken, publicUrl),
    {
      ok: false,
      reason: "missing_signature",
    },
  );
  assertEquals(
    await verifyTwilioRequest(
      await formRequest(params, { signature: "0/KCTR6DLpKmkAf8muzZqo1nDgQ=" }),
      docsToken,
      publicUrl,
    ),
    { ok: false, reason: "invalid_signature" },
  );
  const tampered = await formRequest(params, { body: "CallSid=CA1&CallStatus=completed" });
  assertEquals((await verifyTwilioRequest(tampered, docsToken, publicUrl)).ok, false);
  assertEquals(
    (await verifyTwilioRequest(await formRequest(params, { token: "other" }), docsToken, publicUrl)).ok,
    false,
  );
  assertEquals((await verifyTwilioRequest(await formRequest(params), "", publicUrl)).ok, false);
  const get = new Request("http://localhost:8000/x", { headers: { "X-Twilio-Signature": "abc" } });
  assertEquals(await verifyTwilioRequest(get, docsToken, publicUrl), {
    ok: false,
    reason: "method_not_allowed",
  });
  const text = new Request("http://localhost:8000/x", {
    method: "POST",
    headers: { "X-Twilio-Signature": "abc", "Content-Type": "text/plain" },
    body: "hi",
  });
  assertEquals(await verifyTwilioRequest(text, docsToken, publicUrl), {
    ok: false,
    reason: "unsupported_content_type",
  });
  await assertRejects(verifyTwilioRequest(await formRequest(params), docsToken, "not a url"), TypeError);
});

Deno.test("verifyTwilioRequest: repeated form keys are signed as arrays, params keep the first value", async () => {
  const params = {
    To: "+15005550006",
    StatusCallbackEvent: ["ringing", "answered", "completed", "answered"],
  };
  const verdict = await verifyTwilioRequest(await formRequest(params), docsToken, publicUrl);
  assertEquals(verdict.ok && verdict.params, { To: "+15005550006", StatusCallbackEvent: "ringing" });
});

Deno.test("verifyTwilioRequest: a JSON body is verified by bodySHA256 taken from req.url", async () => {
  const body = JSON.stringify({ CallSid: "CA1", Status: "completed" });
  const hash = await twilioBodySha256(body);
  const signedUrl = publicUrl + "&bodySHA256=" + hash;
  const request = (b: string, signature: string) =>
    new Request(`http://localhost:8000/twilio-status?call=c_123&bodySHA256=${hash}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Twilio-Signature": signature },
      body: b,
    });
  const signature = await signTwilioRequest(docsToken, signedUrl, {});
  assert(twilio.validateRequestWithBody(docsToken, signature, signedUrl, body));
  assertEquals(await verifyTwilioRequest(request(body, signature), docsToken, publicUrl), {
    ok: true,
    params: {},
    rawBody: body,
  });
  assertEquals((await verifyTwilioRequest(request(body + " ", signature), docsToken, publicUrl)).ok, false);
  assertEquals((await verifyTwilioRequest(request(body, "forged"), docsToken, publicUrl)).ok, false);
  const noHash = new Request("http://localhost:8000/twilio-status", {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Twilio-Signature": signature },
    body,
  });
  assertEquals((await verifyTwilioRequest(noHash, docsToken, publicUrl)).ok, false);
});

Deno.test("the settings header's algorithm is read as twilio-node 6 reads it", () => {
  for (
    const header of [
      null,
      "",
      "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256",
      " algorithm = HMAC_SHA256 , key=k",
      "key=k",
      "algorithm=",
      "algorithm=,algorithm=HMAC_SHA1",
      "algorithm=hmac_sha256",
      "algorithm=HMAC_SHA512",
      "xalgorithm=HMAC_SHA256",
    ]
  ) {
    assertEquals(
      twilioSignatureAlgorithm(header),
      twilio.getSignatureAlgorithm(header ?? undefined),
      `${header}`,
    );
  }
});

Deno.test("verifyTwilioRequest: a SharedKey request (HMAC-SHA256 in the settings header), form and JSON", async () => {
  const params = { CallSid: "CA1", CallStatus: "ringing" };
  const settings = "key=webhooks_sharedkey_abc,algorithm=HMAC_SHA256";
  const sha256 = await signTwilioRequest(docsToken, publicUrl, params, "HMAC_SHA256");
  assert(twilio.validateRequest(docsToken, sha256, publicUrl, params, "HMAC_SHA256"));
  const withSettings = async (header: string | null, signature: string) => {
    const req = await formRequest(params, { signature });
    if (header !== null) req.headers.set("X-Twilio-Webhooks-Signature-Settings", header);
    return (await verifyTwilioRequest(req, docsToken, publicUrl)).ok;
  };
  assertEquals(await withSettings(settings, sha256), true);
  // The same signature without the header is checked as SHA-1 and refused; a SHA-1 one under the header too.
  assertEquals(await withSettings(null, sha256), false);
  assertEquals(await withSettings(settings, await signTwilioRequest(docsToken, publicUrl, params)), false);
  // An algorithm twilio-node does not know is refused, whatever the signature.
  assertEquals(await withSettings("algorithm=HMAC_SHA512", sha256), false);

  const body = JSON.stringify(params);
  const hash = await twilioBodySha256(body);
  const signedUrl = publicUrl + "&bodySHA256=" + hash;
  const signature = await signTwilioRequest(docsToken, signedUrl, {}, "HMAC_SHA256");
  assert(twilio.validateRequestWithBody(docsToken, signature, signedUrl, body, "HMAC_SHA256"));
  const json = new Request(`http://localhost:8000/twilio-status?call=c_123&bodySHA256=${hash}`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      "X-Twilio-Signature": signature,
      "X-Twilio-Webhooks-Signature-Settings": settings,
    },
    body,
  });
  assertEquals((await verifyTwilioRequest(json, docsToken, publicUrl)).ok, true);
});

Deno.test("publicUrlWithRequestQuery keeps the public origin and path and takes the request's query", () => {
  const req = new Request("http://localhost:8000/twilio-status?call=c_9&attempt=2");
  assertEquals(
    publicUrlWithRequestQuery("https://abc.supabase.co/functions/v1/twilio-status", req),
    "https://abc.supabase.co/functions/v1/twilio-status?call=c_9&attempt=2",
  );
});

// --- Property: ~200 random requests, our verdict equals twilio.validateRequest's ---------------------------------

function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** twilio-node's URL spellings, rebuilt here with Node's own URL and querystring to sign with. */
function nodeVariants(url: string): string[] {
  const parsed = new URL(url);
  const noPort = new URL(parsed.href);
  noPort.port = "";
  const port = parsed.protocol === "https:" ? ":443" : ":80";
  const withPort = parsed.port ? parsed.toString() : parsed.protocol + "//" + parsed.username +
    (parsed.password ? ":" + parsed.password : "") + (parsed.username || parsed.password ? "@" : "") +
    parsed.host + port + parsed.pathname + parsed.search + parsed.hash;
  const legacy = (u: string) => {
    const p = new URL(u);
    if (!p.search) return u;
    const qs = qsParse(p.search.slice(1));
    p.search = "";
    return p.toString() + "?" + qsStringify(qs);
  };
  // twilio-node 6 tries the URL as received first, without and with its default port (plain string surgery).
  const raw = /^([a-z]+:\/\/)([^/?#]*)(.*)$/is.exec(url)!;
  const rawHost = raw[2].replace(/:\d*$/, "");
  const rawNoPort = raw[1] + rawHost + raw[3];
  const rawWithPort = /:\d*$/.test(raw[2])
    ? url
    : raw[1] + rawHost + (raw[1] === "https://" ? ":443" : ":80") + raw[3];
  return [
    url,
    rawNoPort,
    rawWithPort,
    noPort.toString(),
    withPort,
    legacy(noPort.toString()),
    legacy(withPort),
  ];
}

Deno.test("property: 200 random requests (form and JSON, SHA-1 and SHA-256) get twilio-node 6's verdict and signature", async () => {
  const seed = Number(Deno.env.get("TWILIO_SIG_SEED") ?? 20240611);
  const rand = mulberry32(seed);
  const int = (n: number) => Math.floor(rand() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  const alphabet = [
    ..."abcXYZ0189",
    ..." !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
    "é",
    "漢",
    "😀",
    "%20",
    "%2B",
    "%27",
    "%zz",
    "%E2%82",
    "%FF",
  ];
  const text = (max: number) => Array.from({ length: int(max + 1) }, () => pick(alphabet)).join("");
  const word = () => Array.from({ length: 1 + int(8) }, () => pick([..."abcdefghXYZ0123_.-"])).join("");
  const hosts = [
    "mycompany.com",
    "example.org",
    "a.b.example.com",
    "127.0.0.1",
    "[::1]",
    "bücher.example",
    "MyCompany.COM",
    "Ref.Supabase.co",
  ];
  const keys = [
    "CallSid",
    "CallStatus",
    "To",
    "From",
    "Digits",
    "SequenceNumber",
    "AnsweredBy",
    "a",
    "A",
    "1",
    "10",
  ];

  let accepted = 0;
  let refused = 0;
  let legacyOnly = 0; // signed over a spelling only the legacy-querystring re-encoding reproduces
  let asReceived = 0; // signed over the URL exactly as received
  let sha256Accepted = 0;
  let jsonBodies = 0;
  const cases = Number(Deno.env.get("TWILIO_SIG_CASES") ?? 200);
  for (let i = 0; i < cases; i++) {
    const scheme = pick(["https", "http"]);
    const userinfo = rand() < 0.15 ? pick(["user@", "user:pa%20ss@", ":pw@"]) : "";
    const port = pick(["", "", "", scheme === "https" ? ":443" : ":80", `:${1 + int(65535)}`]);
    const path = "/" + Array.from({ length: int(4) }, () => text(6)).join("/");
    const pairs = Array.from(
      { length: int(5) },
      () => pick(["", pick(keys) + "=" + text(8), text(4) + "=" + text(8), text(4), "dup=" + text(3)]),
    );
    const query = rand() < 0.8 ? "?" + pairs.join("&") : "";
    const hash = rand() < 0.1 ? "#frag" : "";
    // Half the time the raw spelling, half the time as the URL parser serialises it.
    // One request in six has a JSON body: no form parameters, the body's hash in the URL (before any fragment).
    const body = rand() < 0.17 ? JSON.stringify({ CallSid: text(6), n: int(100) }) : null;
    const bodyHash = body === null
      ? ""
      : (query ? "&" : "?") + "bodySHA256=" + (await twilioBodySha256(body));
    let url = `${scheme}://${userinfo}${pick(hosts)}${port}${path}${query}${bodyHash}${hash}`;
    try {
      if (rand() < 0.5) url = new URL(url).href;
      else new URL(url);
    } catch {
      i--;
      continue;
    }

    const params: TwilioParams = {};
    for (let k = body === null ? int(7) : 0; k > 0; k--) {
      params[rand() < 0.7 ? pick(keys) : text(5)] = rand() < 0.2
        ? Array.from({ length: 1 + int(4) }, () => pick(["x", "y", text(4)]))
        : text(10);
    }
    const authToken = text(32) || "t";

    // A quarter of the requests are SharedKey-signed (HMAC-SHA256), a few name an algorithm nobody knows.
    const algorithm = pick([
      "HMAC_SHA1",
      "HMAC_SHA1",
      undefined,
      "HMAC_SHA256",
      "hmac_sha256",
      "HMAC_SHA512",
    ]);
    const signAs = algorithm === "HMAC_SHA512" ? "HMAC_SHA1" : algorithm;
    // Sign over one of Twilio's spellings (sometimes of another URL, params or token), or forge.
    const variants = nodeVariants(url);
    let signature: string | null;
    const mode = int(10);
    if (mode < 6) {
      const variant = pick(variants);
      if (!variants.slice(0, 5).includes(variant)) legacyOnly++;
      if (variant === url) asReceived++;
      signature = twilio.getExpectedTwilioSignature(authToken, variant, params, signAs);
    } else if (mode === 6) {
      signature = twilio.getExpectedTwilioSignature(authToken + "x", url, params, signAs);
    } else if (mode === 7) {
      signature = twilio.getExpectedTwilioSignature(authToken, url, { ...params, [word()]: "1" }, signAs);
    } else if (mode === 8) {
      signature = twilio.getExpectedTwilioSignature(authToken, url + "&z", params, signAs);
    } else {signature = pick([
        null,
        "",
        "bm9wZQ==",
        btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(20)))),
      ]);}

    const theirs = silently(() => twilio.validateRequest(authToken, signature ?? "", url, params, algorithm));
    const ours = await verifyTwilioSignature({ authToken, url, params, signature, algorithm });
    assertEquals(
      ours,
      theirs,
      `seed ${seed} case ${i}: ${JSON.stringify({ authToken, url, params, signature })}`,
    );
    assertEquals(
      await signTwilioRequest(authToken, url, params, signAs),
      twilio.getExpectedTwilioSignature(authToken, url, params, signAs),
    );
    if (theirs && signAs && signAs.toUpperCase() === "HMAC_SHA256") sha256Accepted++;
    if (body !== null) {
      jsonBodies++;
      const tampered = rand() < 0.3 ? body + " " : body;
      assertEquals(
        await verifyTwilioSignatureWithBody({ authToken, url, body: tampered, signature, algorithm }),
        silently(() => twilio.validateRequestWithBody(authToken, signature ?? "", url, tampered, algorithm)),
        `seed ${seed} case ${i} (JSON body): ${JSON.stringify({ authToken, url, tampered, signature })}`,
      );
    }
    if (theirs) accepted++;
    else refused++;
  }
  assert(
    accepted >= 60 && refused >= 40,
    `both outcomes exercised: ${accepted} accepted, ${refused} refused`,
  );
  assert(legacyOnly >= 10, `legacy-querystring spellings exercised: ${legacyOnly}`);
  assert(asReceived >= 10, `as-received spellings exercised: ${asReceived}`);
  assert(sha256Accepted >= 10, `HMAC-SHA256 acceptances exercised: ${sha256Accepted}`);
  assert(jsonBodies >= 15, `bodySHA256 requests exercised: ${jsonBodies}`);
});

/** twilio-node 6 warns on the console for an unknown algorithm; the property test names one on purpose. */
function silently<T>(f: () => T): T {
  const warn = console.warn;
  console.warn = () => {};
  try {
    return f();
  } finally {
    console.warn = warn;
  }
}

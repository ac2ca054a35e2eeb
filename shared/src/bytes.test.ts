// The byte helpers run in both runtimes and take a different path in each (Deno has
// Uint8Array.prototype.toBase64, Node 20 has not), so this file runs in both suites: Node's and Deno's.
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { test } from "node:test";
import { base64, sha256Hex, timingSafeEqual } from "./bytes.ts";

const ascii = (s: string) => new TextEncoder().encode(s);

test("base64: the test vectors of RFC 4648 section 10", () => {
  const vectors: [string, string][] = [
    ["", ""],
    ["f", "Zg=="],
    ["fo", "Zm8="],
    ["foo", "Zm9v"],
    ["foob", "Zm9vYg=="],
    ["fooba", "Zm9vYmE="],
    ["foobar", "Zm9vYmFy"],
  ];
  for (const [input, expected] of vectors) assert.equal(base64(ascii(input)), expected, input);
});

test("base64: every byte value, and HMAC-sized inputs, agree with node:buffer's encoder", () => {
  // A reference that is neither path under test (Node's btoa loop, Deno's toBase64).
  const reference = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  assert.equal(base64(all), reference(all));
  for (const length of [20, 32, 33, 34]) {
    const bytes = crypto.getRandomValues(new Uint8Array(length));
    assert.equal(base64(bytes), reference(bytes), `length ${length}`);
  }
});

test("timingSafeEqual: equal only for the same UTF-8 bytes", () => {
  assert.equal(timingSafeEqual("v1,abc=", "v1,abc="), true);
  assert.equal(timingSafeEqual("v1,abc=", "v1,abd="), false);
  assert.equal(timingSafeEqual("v1,abc=", "v1,abc"), false, "a prefix is not equal");
  assert.equal(timingSafeEqual("é", "e\u0301"), false, "no normalisation");
  assert.equal(timingSafeEqual("", ""), true);
});

test("sha256Hex: the FIPS 180-2 vectors", async () => {
  assert.equal(await sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  assert.equal(await sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
});

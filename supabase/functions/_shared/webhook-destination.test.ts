import { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  checkWebhookDestination,
  isPublicAddress,
  type Resolver,
  resolveWithSystem,
} from "./webhook-destination.ts";

const dns: Record<string, string[]> = {
  "hooks.example.com": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
  "internal.example.com": ["10.0.0.7"],
  "split.example.com": ["93.184.215.14", "127.0.0.1"],
  "rebound.example.com": ["::ffff:169.254.169.254"],
};
const resolve: Resolver = (host) => Promise.resolve(dns[host] ?? []);
const check = (url: string, allowPrivate = false) => checkWebhookDestination(url, { allowPrivate, resolve });

Deno.test("isPublicAddress: public unicast only, including IPv6 forms that embed an IPv4 address", () => {
  for (const address of ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111"]) {
    assertEquals(isPublicAddress(address), true, address);
  }
  const refused = [
    "127.0.0.1",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "224.0.0.1",
    "255.255.255.255",
    "192.0.2.1",
    "::1",
    "::",
    "fe80::1",
    "fd12:3456::1",
    "ff02::1",
    "::ffff:10.0.0.1",
    "64:ff9b::a00:1",
    "2002:a00:1::",
    "not an address",
  ];
  for (const address of refused) assertEquals(isPublicAddress(address), false, address);
});

Deno.test("checkWebhookDestination: HTTPS to a host whose every address is public", async () => {
  assertEquals(await check("https://hooks.example.com/intake"), { ok: true });
  assertEquals(await check("https://93.184.215.14:8443/intake"), { ok: true });
  const refusals: [string, string][] = [
    ["http://hooks.example.com/intake", "not an HTTPS URL"],
    ["ftp://hooks.example.com/", "not an HTTPS URL"],
    ["not a url", "not a URL"],
    ["https://internal.example.com/", "the host is not a public address"],
    ["https://split.example.com/", "the host is not a public address"],
    ["https://rebound.example.com/", "the host is not a public address"],
    ["https://0x7f.1/", "the host is not a public address"],
    ["https://[0:0:0:0:0:ffff:7f00:1]/", "the host is not a public address"],
    ["https://nowhere.example.com/", "the host name does not resolve"],
  ];
  for (const [url, reason] of refusals) assertEquals(await check(url), { ok: false, reason }, url);
});

Deno.test("checkWebhookDestination: local development allows loopback and plain HTTP, still only HTTP(S)", async () => {
  assertEquals(await check("http://127.0.0.1:8080/hooks", true), { ok: true });
  assertEquals(await check("https://internal.example.com/", true), { ok: true });
  assertEquals(await check("file:///etc/passwd", true), { ok: false, reason: "not an HTTP URL" });
});

Deno.test("the system resolver is the one connections use: localhost from the hosts file is loopback, refused", async () => {
  const addresses = await resolveWithSystem("localhost");
  assertEquals(addresses.length > 0 && addresses.every((a) => a === "127.0.0.1" || a === "::1"), true);
  assertEquals(await checkWebhookDestination("https://localhost:8443/hooks", { allowPrivate: false }), {
    ok: false,
    reason: "the host is not a public address",
  });
  assertEquals(await resolveWithSystem("no-such-host.invalid"), []);
});

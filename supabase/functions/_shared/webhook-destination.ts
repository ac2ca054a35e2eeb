// Where an organisation's webhook may be sent. The URL is the organisation's to set, and the platform POSTs
// to it from inside its own network: without this check an org could point it at the cloud metadata service
// (169.254.169.254), the database, or anything else only the platform can reach (SSRF). Only HTTPS to
// addresses that are public unicast is allowed: every address the host name resolves to must be one, so a
// name with one private record is refused. Ranges come from ipaddr.js (loopback, private, link-local,
// carrier-grade NAT, unique-local, multicast, reserved, and IPv6 forms that embed an IPv4 address).
//
// Left to the network: a host whose DNS answer changes between this check and the connection (rebinding).
// Deployments that need a hard guarantee also block private ranges at the egress.
import { lookup } from "node:dns/promises";
import ipaddr from "ipaddr.js";

export type DestinationVerdict = { ok: true } | { ok: false; reason: string };

/** Resolves a host name to its addresses (A and AAAA); an empty list when it has none. */
export type Resolver = (hostname: string) => Promise<string[]>;

/**
 * The system resolver (getaddrinfo: /etc/hosts, then DNS), the one the connection itself will use, so a name
 * listed in a hosts file is judged by the address it will really reach. A failed lookup is no addresses.
 */
export const resolveWithSystem: Resolver = async (hostname) => {
  try {
    return (await lookup(hostname, { all: true, verbatim: true })).map((a) => a.address);
  } catch {
    return [];
  }
};

/** True for an address the public internet routes to one host (ipaddr.js's `unicast` range). */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  return ipaddr.process(address).range() === "unicast";
}

/**
 * Whether a webhook may be POSTed to `url`. `allowPrivate` (local development and tests, where the receiver
 * is on loopback) also allows plain HTTP and any address.
 */
export async function checkWebhookDestination(
  url: string,
  options: { allowPrivate: boolean; resolve?: Resolver },
): Promise<DestinationVerdict> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { ok: false, reason: "not a URL" };
  }
  if (options.allowPrivate) {
    return parsed.protocol === "https:" || parsed.protocol === "http:"
      ? { ok: true }
      : { ok: false, reason: "not an HTTP URL" };
  }
  if (parsed.protocol !== "https:") return { ok: false, reason: "not an HTTPS URL" };
  const host = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
  const addresses = ipaddr.isValid(host) ? [host] : await (options.resolve ?? resolveWithSystem)(host);
  if (addresses.length === 0) return { ok: false, reason: "the host name does not resolve" };
  return addresses.every(isPublicAddress)
    ? { ok: true }
    : { ok: false, reason: "the host is not a public address" };
}

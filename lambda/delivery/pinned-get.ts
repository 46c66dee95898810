import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import type { LookupFunction } from "node:net";
import ipaddr from "ipaddr.js";
import { isLoopbackHost } from "../loopback.js";

/**
 * The mask fetch's HTTP edge: a GET whose connection goes only to an address that was checked, because the check
 * is the connection's own DNS lookup (node:http's `lookup` option). fetch-masks.ts also checks each hop's addresses
 * before it asks, for a clear reason; checking here as well closes the gap between the two (a name whose answer
 * changes between the check and the connection, "DNS rebinding"): whatever the resolver says when the socket
 * connects is what is checked and what is used. Redirects are not followed (the caller checks each `Location`).
 */
export interface MaskResponse {
  readonly status: number;
  readonly ok: boolean;
  readonly headers: { get(name: string): string | null };
  readonly body: (AsyncIterable<Uint8Array> & { cancel(): Promise<void> }) | null;
}

export type MaskGet = (
  url: URL,
  init: { readonly headers: Record<string, string>; readonly signal: AbortSignal },
) => Promise<MaskResponse>;

/** A connection refused for the address its host resolved to (its message is the reason). */
export class AddressRefused extends Error {
  override readonly name = "AddressRefused";
}

/**
 * Why a host's address may not be connected to, or undefined when it may: only public unicast addresses
 * (ipaddr.js's `range()`), and loopback only for a host named as loopback (the documented local case).
 */
export function addressProblem(hostname: string, address: string): string | undefined {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.process(address);
  } catch {
    return `${hostname} resolves to ${address}, which is not an address`;
  }
  const range = parsed.range();
  if (range === "unicast") return undefined;
  if (range === "loopback" && isLoopbackHost(hostname)) return undefined;
  return `${hostname} resolves to ${parsed.toString()} (${range}), which is not a public address; mask files are fetched only from public hosts`;
}

/** A GET over node:http(s) whose every connection goes to an address `resolve` gave and `addressProblem` allows. */
export function pinnedGet(resolve: (host: string) => Promise<readonly string[]>): MaskGet {
  const lookup = ((hostname: string, options: { all?: boolean }, callback: (...a: unknown[]) => void) => {
    resolve(hostname).then(
      (addresses) => {
        for (const address of addresses) {
          const problem = addressProblem(hostname, address);
          if (problem) return callback(new AddressRefused(problem));
        }
        if (addresses.length === 0) return callback(new Error(`${hostname} resolves to no address`));
        const family = (a: string) => (ipaddr.parse(a).kind() === "ipv6" ? 6 : 4);
        if (options?.all)
          return callback(
            null,
            addresses.map((address) => ({ address, family: family(address) })),
          );
        const first = addresses[0] as string;
        return callback(null, first, family(first));
      },
      (error: unknown) => callback(error),
    );
  }) as unknown as LookupFunction;
  return (url, init) =>
    new Promise<MaskResponse>((done, fail) => {
      const send = url.protocol === "https:" ? httpsRequest : httpRequest;
      const req = send(url, { method: "GET", headers: init.headers, signal: init.signal, lookup }, (res) =>
        done(asResponse(res)),
      );
      req.on("error", fail);
      req.end();
    });
}

function asResponse(res: IncomingMessage): MaskResponse {
  const status = res.statusCode ?? 0;
  return {
    status,
    ok: status >= 200 && status < 300,
    headers: {
      get(name: string) {
        const v = res.headers[name.toLowerCase()];
        return v === undefined ? null : Array.isArray(v) ? v.join(", ") : String(v);
      },
    },
    body: Object.assign(res as AsyncIterable<Uint8Array>, {
      cancel: async () => {
        res.destroy();
      },
    }),
  };
}

import { lookup as dnsLookup } from "node:dns/promises";
import { isIP } from "node:net";
import { type FetchedMask, type MaskRef, type MaskSource, originOf } from "../events/contract/mask-files.js";
import { originAllowed } from "../events/kinds/mask-refs.js";
import { type Failure, permanent, retryable } from "../failure.js";
import { secureOrLoopback } from "../loopback.js";
import { addressProblem, type MaskGet, type MaskResponse, pinnedGet } from "./pinned-get.js";

/**
 * The edge that fetches the mask files records point at (mask-refs.ts says which may be): `https://` with the
 * tool's key where it has one (Labelbox: `Authorization: Bearer <key>`, as its export notebooks send
 * `client.headers`), `s3://` through the function's role. One record's files at a time (read-batch.ts), each file
 * once, four at once, each bounded in bytes and time, none begun past the deadline. A failure is the record's: 408, 429, 5xx, a timeout or a dropped connection are
 * retried (with the record's backoff); 401/403 (no access, or an expired URL: Labelbox's composite mask URLs last
 * 30 days), 404/410 and a file over the bound are dead-lettered with the reason. Reasons name the origin only
 * (a signed URL's query holds a credential) and never the key.
 *
 * No payload can steer it elsewhere: redirects are not followed by the client (pinned-get.ts follows none): each `Location` is
 * checked again against the project's `maskOrigins` (at most 3 hops); every hop is https, or http only to a
 * loopback host written as such (`localhost`, 127.0.0.0/8, `[::1]`: the documented local case); and before a hop
 * is requested its host is resolved and every address must be public unicast (ipaddr.js's `range()`): a name that
 * resolves to loopback, a private range (10/8, 172.16/12, 192.168/16, fc00::/7), link-local (169.254/16,
 * fe80::/10: the instance metadata service), carrier-grade NAT or anything reserved is refused by name
 * (`mask-fetch-refused`). The Labelbox key is sent only to Labelbox's own API origin (`keyOrigins`:
 * `https://api.labelbox.com`, or `LABELBOX_API_ORIGIN`), never to another origin a mapping adds.
 */
export interface MaskFetchDeps {
  /** `fetch` (tests give a local server's; the default is Node's). */
  readonly fetch?: typeof globalThis.fetch;
  /** An S3 object's bytes, at most `maxBytes` (more: a `TooLarge` error); rejects with the SDK's named error. */
  readonly s3Object?: (
    bucket: string,
    key: string,
    maxBytes: number,
    signal: AbortSignal,
  ) => Promise<Uint8Array>;
  /** The tool's key for its mask URLs (Labelbox), or undefined when none is configured. */
  readonly keyFor?: (source: MaskSource) => Promise<string | undefined>;
  /** One file's time limit. @default 10000 */
  readonly timeoutMs?: number;
  /** When fetching must stop (epoch ms): files not begun by then wait for a later receive. @default none */
  readonly deadline?: number;
  /** The origins the Labelbox key may be sent to. @default LABELBOX_KEY_ORIGINS */
  readonly keyOrigins?: readonly string[];
  /** Resolves a host to its addresses (tests give a resolver of their own). @default node:dns's lookup, all addresses */
  readonly lookup?: (host: string) => Promise<readonly string[]>;
}

/** Labelbox's API origin, where its mask URLs point: the only origin its key goes to unless configured otherwise. */
export const LABELBOX_KEY_ORIGINS: readonly string[] = ["https://api.labelbox.com"];
/** Redirects followed at most, each checked as the first URL is. */
export const MAX_REDIRECTS = 3;

/**
 * Bytes one mask file may have, and one record's files in all. A mask PNG compresses well (Labelbox's composite
 * masks and Ground Truth's label maps are flat colours: kilobytes), so 16 MiB is far beyond a real one and keeps a
 * decode within the function's memory (256 MB by default: the file, its decoded pixels up to 64 MiB, the bitmap).
 */
export const MAX_MASK_FILE_BYTES = 16 * 1024 * 1024;
export const MAX_RECORD_MASK_BYTES = 32 * 1024 * 1024;
const CONCURRENCY = 4;
const TOOL: Record<MaskSource, string> = {
  labelbox: "Labelbox",
  scale: "Scale",
  "sagemaker-ground-truth": "S3",
};

/** Each distinct file of these references, fetched: its bytes or its failure, by URL. */
export async function fetchMasks(
  refs: readonly MaskRef[],
  deps: MaskFetchDeps,
): Promise<Map<string, FetchedMask>> {
  const unique = [...new Map(refs.map((r) => [r.url, r])).values()];
  const out = new Map<string, FetchedMask>();
  let next = 0;
  let total = 0;
  const worker = async () => {
    while (next < unique.length) {
      const ref = unique[next++] as MaskRef;
      const left = deps.deadline === undefined ? Number.POSITIVE_INFINITY : deps.deadline - Date.now();
      if (left < 100) {
        out.set(ref.url, {
          ok: false,
          failure: retryable(
            "mask-not-fetched",
            "this event's mask files wait for a later receive: this invocation's time for fetching mask files ran out",
          ),
        });
        continue;
      }
      const tooMuch: FetchedMask = {
        ok: false,
        failure: permanent(
          "mask-too-large",
          `this event's mask files are larger than the ${MAX_RECORD_MASK_BYTES} bytes one event's may be in all`,
        ),
      };
      if (total > MAX_RECORD_MASK_BYTES) {
        out.set(ref.url, tooMuch); // the record is refused already: the rest are not fetched
        continue;
      }
      const got = await fetchOne(ref, { ...deps, timeoutMs: Math.min(deps.timeoutMs ?? 10_000, left) });
      total += got.ok ? got.bytes.byteLength : 0;
      out.set(ref.url, total > MAX_RECORD_MASK_BYTES ? tooMuch : got);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, unique.length) }, worker));
  return out;
}

async function fetchOne(ref: MaskRef, deps: MaskFetchDeps): Promise<FetchedMask> {
  const where = `${TOOL[ref.source]} mask at ${originOf(ref.url)}`;
  const fail = (failure: Failure): FetchedMask => ({ ok: false, failure });
  try {
    const signal = AbortSignal.timeout(Math.max(1, Math.floor(deps.timeoutMs ?? 10_000)));
    const url = new URL(ref.url);
    if (url.protocol === "s3:") {
      if (!deps.s3Object) return fail(permanent("mask-fetch-refused", `${where}: S3 is not available here`));
      const path = url.pathname.replace(/^\//, "");
      let key = path;
      try {
        key = decodeURIComponent(path);
      } catch {
        // A `%` that starts no escape: the key as written.
      }
      return { ok: true, bytes: await deps.s3Object(url.hostname, key, MAX_MASK_FILE_BYTES, signal) };
    }
    return await fetchHttp(ref, url, deps, where, signal);
  } catch (error) {
    return fail(errorFailure(error, where));
  }
}

async function fetchHttp(
  ref: MaskRef,
  first: URL,
  deps: MaskFetchDeps,
  where: string,
  signal: AbortSignal,
): Promise<FetchedMask> {
  const fail = (failure: Failure): FetchedMask => ({ ok: false, failure });
  const keyOrigins = deps.keyOrigins ?? LABELBOX_KEY_ORIGINS;
  const allowed = ref.allowed ?? [first.origin];
  const fetcher = deps.fetch;
  // Tests may give a fetch of their own; the handler's is the pinned GET (pinned-get.ts), which checks the address
  // it connects to in the connection's own DNS lookup.
  const get: MaskGet = fetcher
    ? (u, init) => fetcher(u, { ...init, redirect: "manual" }) as Promise<MaskResponse>
    : pinnedGet(deps.lookup ?? resolveAll);
  let url = first;
  for (let hop = 0; ; hop++) {
    const refused = await hopProblem(url, hop === 0 ? undefined : allowed, deps.lookup ?? resolveAll);
    if (refused) return fail(permanent("mask-fetch-refused", `${where}: ${refused}`));
    // The Labelbox key goes only to Labelbox's own API origin, whatever else the project allows.
    const wantsKey = ref.source === "labelbox" && keyOrigins.includes(url.origin);
    const key = wantsKey ? await deps.keyFor?.(ref.source) : undefined;
    if (wantsKey && !key)
      return fail(
        permanent(
          "mask-credentials-missing",
          `${where}: Labelbox masks are read with the Labelbox API key; set LABELBOX_API_KEY_SECRET_ARN (the construct's labelboxApiKeySecret)`,
        ),
      );
    const response = await get(url, { headers: key ? { authorization: `Bearer ${key}` } : {}, signal });
    if ([301, 302, 303, 307, 308].includes(response.status)) {
      await response.body?.cancel().catch(() => undefined);
      const location = response.headers.get("location");
      if (!location || hop >= MAX_REDIRECTS)
        return fail(
          permanent(
            "mask-fetch-refused",
            `${where}: answered ${response.status} ${location ? `more than ${MAX_REDIRECTS} times` : "with no Location"}`,
          ),
        );
      try {
        url = new URL(location, url);
      } catch {
        return fail(permanent("mask-fetch-refused", `${where}: redirected to something that is not a URL`));
      }
      continue;
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      return fail(statusFailure(response.status, response.headers.get("retry-after"), where));
    }
    const declared = Number(response.headers.get("content-length") ?? "0");
    if (declared > MAX_MASK_FILE_BYTES) {
      await response.body?.cancel().catch(() => undefined);
      return fail(tooLarge(where));
    }
    return { ok: true, bytes: await readBounded(response, where) };
  }
}

/**
 * Why a hop may not be requested, or undefined when it may: its scheme, its place among `allowed` (for a
 * redirect), and every address its host resolves to.
 */
async function hopProblem(
  url: URL,
  allowed: readonly string[] | undefined,
  lookup: (host: string) => Promise<readonly string[]>,
): Promise<string | undefined> {
  const to = `${url.protocol}//${url.host}`;
  if (!secureOrLoopback(url) || url.username || url.password)
    return `${to} is not fetched (https:// only; http:// only to this machine)`;
  if (allowed && !originAllowed(url, allowed))
    return `redirected to ${to}, which the project's maskOrigins does not list`;
  const host = url.hostname.replace(/^\[|\]$/g, "");
  let addresses: readonly string[];
  try {
    addresses = isIP(host) ? [host] : await lookup(host);
  } catch {
    return undefined; // a name that does not resolve fails at the request, as any unreachable host does
  }
  for (const address of addresses) {
    const problem = addressProblem(url.hostname, address);
    if (problem) return problem;
  }
  return undefined;
}

const resolveAll = async (host: string): Promise<readonly string[]> =>
  (await dnsLookup(host, { all: true, verbatim: true })).map((a) => a.address);

class TooLarge extends Error {
  override readonly name = "TooLarge";
}

async function readBounded(response: MaskResponse, where: string): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of response.body ?? []) {
    total += chunk.byteLength;
    if (total > MAX_MASK_FILE_BYTES) throw new TooLarge(where);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

const tooLarge = (where: string) =>
  permanent(
    "mask-too-large",
    `${where}: the file is larger than the ${MAX_MASK_FILE_BYTES} bytes a mask may be`,
  );

function statusFailure(status: number, retryAfter: string | null, where: string): Failure {
  const seconds = Number(retryAfter);
  if (status === 408 || status === 429 || status >= 500)
    return retryable("mask-fetch-failed", `${where}: answered ${status}`, {
      ...(Number.isFinite(seconds) && seconds > 0 ? { retryAfterSeconds: Math.min(seconds, 900) } : {}),
    });
  if (status === 401 || status === 403)
    return permanent(
      "mask-forbidden",
      `${where}: answered ${status}: the key cannot read it, or the URL has expired (Labelbox's composite mask URLs last 30 days; export again)`,
    );
  if (status === 404 || status === 410) return permanent("mask-not-found", `${where}: answered ${status}`);
  return permanent("mask-fetch-refused", `${where}: answered ${status}`);
}

/** What a thrown fetch (or S3 read) means: the SDK's named errors, a timeout, a dropped connection. */
function errorFailure(error: unknown, where: string): Failure {
  const name = String((error as { name?: unknown })?.name ?? "");
  if (name === "TooLarge") return tooLarge(where);
  if (name === "AddressRefused")
    return permanent("mask-fetch-refused", `${where}: ${(error as Error).message}`);
  if (name === "NoSuchKey" || name === "NotFound" || name === "NoSuchBucket")
    return permanent("mask-not-found", `${where}: ${name}`);
  if (name === "AccessDenied" || name === "Forbidden")
    return permanent(
      "mask-forbidden",
      `${where}: ${name}: list the bucket in the project's maskOrigins so the stack grants the handler read access`,
    );
  if (name === "TimeoutError" || name === "AbortError")
    return retryable("mask-fetch-failed", `${where}: no answer in time`);
  return retryable("mask-fetch-failed", `${where}: ${name || "the connection failed"}`);
}

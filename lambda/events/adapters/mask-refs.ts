import type { Failure } from "../../failure.js";
import { AdapterError } from "./adapter-result.js";
import type { ProjectMapping } from "./mapping-config.js";

/**
 * Masks a tool keeps behind a URL (Labelbox's mask URLs, Scale's segmentation images, Ground Truth's semantic
 * segmentation in S3). The adapters stay pure: one asks for a mask's bytes by URL; the first time it gets nothing
 * and the URL is noted, so the record comes back needing those files; the handler's edge fetches them
 * (delivery/fetch-masks.ts) and the record is read again with them. A fetch that failed is the record's failure:
 * retried when the failure is (a 5xx, a timeout), dead-lettered with the reason when not (403, 404, not a PNG).
 *
 * Which URLs may be fetched is the project's `maskOrigins`: a Labelbox project may fetch from
 * `https://api.labelbox.com` unless it says otherwise (the Labelbox key goes only there); Scale and Ground Truth
 * projects from nowhere until they list the origin (`https://...`) or the bucket (`s3://bucket[/prefix]`). A URL
 * elsewhere is refused by name with the origin to add, so a payload cannot point the bridge (and a key) at a
 * host nobody chose. Reasons name the origin only: a signed URL's query holds a credential.
 */
export type MaskSource = "labelbox" | "scale" | "sagemaker-ground-truth";

export interface MaskRef {
  /** `https://...` (http:// only to this machine) or `s3://bucket/key`. */
  readonly url: string;
  readonly source: MaskSource;
}

export type FetchedMask =
  | { readonly ok: true; readonly bytes: Uint8Array }
  | { readonly ok: false; readonly failure: Failure };

/** A failed fetch, thrown inside an adapter and returned by `adapt` as the record's failure (it may be retryable). */
export class MaskFetchFailed extends Error {
  override readonly name = "MaskFetchFailed";
  constructor(readonly failure: Failure) {
    super(failure.reason);
  }
}

/** Where the masks a project may fetch may come from, unless its mapping lists `maskOrigins`. */
export const DEFAULT_MASK_ORIGINS: Readonly<Record<MaskSource, readonly string[]>> = {
  labelbox: ["https://api.labelbox.com"],
  scale: [],
  "sagemaker-ground-truth": [],
};

/**
 * Files one record may need: more are refused (`too-many-masks`) before any is fetched. A Labelbox video mask is
 * a file per frame; the bytes (32 MiB a record) and the invocation's time bound the rest.
 */
export const MAX_MASK_FILES_PER_RECORD = 1_000;

/** The masks an adapter has been given, and the ones it asked for that it has not. */
export class MaskFiles {
  readonly wanted = new Map<string, MaskRef>();
  constructor(private readonly fetched: ReadonlyMap<string, FetchedMask> = new Map()) {}

  /** The file's bytes, or undefined (and noted as wanted) when it has not been fetched yet. */
  bytes(ref: MaskRef): Uint8Array | undefined {
    const got = this.fetched.get(ref.url);
    if (got?.ok) return got.bytes;
    if (got) throw new MaskFetchFailed(got.failure);
    this.wanted.set(ref.url, ref);
    if (this.wanted.size > MAX_MASK_FILES_PER_RECORD)
      throw new AdapterError(
        "too-many-masks",
        `this event needs more than ${MAX_MASK_FILES_PER_RECORD} mask files (at most ${MAX_MASK_FILES_PER_RECORD} per message)`,
      );
    return undefined;
  }
}

/** For callers of an adapter that cannot fetch (tests, tools): a mask file is refused by name rather than left out. */
export const NO_MASK_FILES = {
  wanted: new Map<string, MaskRef>(),
  bytes(): Uint8Array | undefined {
    throw new AdapterError("mask-not-fetched", "this event's masks are in files only the handler fetches");
  },
} as unknown as MaskFiles;

/** `https://host`, `s3://bucket` and so on: the part of a URL a reason may name. */
export function originOf(url: string): string {
  try {
    const u = new URL(url);
    return u.protocol === "s3:" ? `s3://${u.hostname}` : u.origin;
  } catch {
    return "(not a URL)";
  }
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/;

/**
 * The mask URL as a reference the edge may fetch, or an AdapterError: not a URL, plain http to another machine,
 * or an origin (bucket) the project does not list in `maskOrigins`.
 */
export function maskRef(
  url: unknown,
  source: MaskSource,
  mapping: ProjectMapping,
  mappingKey: string,
  what: string,
): MaskRef {
  let u: URL;
  try {
    u = new URL(String(url));
  } catch {
    throw new AdapterError("invalid-upstream", `${what}: the mask's URL is not a URL`);
  }
  const origin = originOf(u.href);
  const plainHttpAway = u.protocol === "http:" && !LOOPBACK.test(u.hostname);
  if (!["https:", "http:", "s3:"].includes(u.protocol) || plainHttpAway || u.username || u.password)
    throw new AdapterError(
      "mask-origin-not-allowed",
      `${what}: the mask at ${origin} is not fetched (https:// or s3:// only; http:// only to this machine)`,
    );
  const allowed = mapping.maskOrigins ?? DEFAULT_MASK_ORIGINS[source];
  const path = u.protocol === "s3:" ? `s3://${u.hostname}${u.pathname}` : `${u.origin}${u.pathname}`;
  if (!allowed.some((o) => path === o || path.startsWith(o.endsWith("/") ? o : `${o}/`)))
    throw new AdapterError(
      "mask-origin-not-allowed",
      `${what}: the mask is at ${origin}, which projects["${mappingKey.slice(0, 128)}"].maskOrigins does not list (${allowed.length ? allowed.join(", ") : "none"}); add it to let the bridge fetch it`,
    );
  return { url: u.href, source };
}

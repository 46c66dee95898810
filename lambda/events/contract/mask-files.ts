import { type Failure, permanent } from "../../failure.js";

/**
 * Masks a tool keeps behind a URL (Labelbox's mask URLs, Scale's segmentation images, Ground Truth's semantic
 * segmentation in S3): what the core needs of them, kept light, since the handler's cold start loads it. The
 * adapters stay pure: one asks for a mask's bytes by URL; the first time it gets nothing and the URL is noted, so
 * the record comes back needing those files; the handler's edge fetches them (delivery/fetch-masks.ts), loads the
 * PNG decoder (kinds/mask-png.ts, loaded by the registry only then) and the record is read again with them. A fetch that failed is the record's
 * failure: retried when the failure is (a 5xx, a timeout), dead-lettered with the reason when not (403, 404).
 * Which URLs may be fetched is decided in mask-refs.ts.
 */
export type MaskSource = "labelbox" | "scale" | "sagemaker-ground-truth";

export interface MaskRef {
  /** `https://...` (http:// only to this machine) or `s3://bucket/key`. */
  readonly url: string;
  readonly source: MaskSource;
  /**
   * Where the project may fetch masks from (its `maskOrigins`, mask-refs.ts): a redirect is followed only to a URL
   * they allow. @default the URL's own origin
   */
  readonly allowed?: readonly string[];
}

export type FetchedMask =
  | { readonly ok: true; readonly bytes: Uint8Array }
  | { readonly ok: false; readonly failure: Failure };

/** Which pixels of a mask file are the object (mask-png.ts says how each tool's file is read). */
export type MaskSelect =
  | { readonly by: "drawn" }
  | { readonly by: "color"; readonly rgb: readonly [number, number, number] }
  | { readonly by: "index"; readonly index: number };

/** A failed fetch, thrown inside an adapter and returned by `adapt` as the record's failure (it may be retryable). */
export class MaskFetchFailed extends Error {
  override readonly name = "MaskFetchFailed";
  constructor(readonly failure: Failure) {
    super(failure.reason);
  }
}

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
      throw new MaskFetchFailed(
        permanent(
          "too-many-masks",
          `this event needs more than ${MAX_MASK_FILES_PER_RECORD} mask files (at most ${MAX_MASK_FILES_PER_RECORD} per message)`,
        ),
      );
    return undefined;
  }
}

/** For callers of an adapter that cannot fetch (tests, tools): a mask file is refused by name rather than left out. */
class NoMaskFiles extends MaskFiles {
  override bytes(): Uint8Array | undefined {
    throw new MaskFetchFailed(
      permanent("mask-not-fetched", "this event's masks are in files only the handler fetches"),
    );
  }
}
export const NO_MASK_FILES: MaskFiles = new NoMaskFiles();

/** `https://host`, `s3://bucket` and so on: the part of a URL a reason may name. */
export function originOf(url: string): string {
  try {
    const u = new URL(url);
    return u.protocol === "s3:" ? `s3://${u.hostname}` : u.origin;
  } catch {
    return "(not a URL)";
  }
}

/** A mask file's pixels that `select` picks, as a region's `mask` (null: none), the file checked against `size`. */
export type MaskDecoder = (
  bytes: Uint8Array,
  select: MaskSelect,
  what: string,
  size?: { readonly width: number; readonly height: number },
) => { mask: { png: string } } | null;

let decoder: MaskDecoder | undefined;
const releasers = new Set<() => void>();

/** Registers the PNG decoder and how to drop the file it keeps decoded (mask-png.ts does, when it is loaded). */
export function setMaskDecoder(d: MaskDecoder, drop?: () => void): void {
  decoder = d;
  if (drop) releasers.add(drop);
}

/** Registers what to drop once a record is read (the mask modules' reusable buffers). */
export function onRecordRead(drop: () => void): void {
  releasers.add(drop);
}

/** Drops what the mask modules keep (a decoded file, reusable buffers) after each record, so none outlives it. */
export function releaseDecodedMask(): void {
  for (const drop of releasers) drop();
}

/** Whether the PNG decoder is loaded (the registry loads it: ../registry.ts `loadMaskDecoder`). */
export const maskDecoderLoaded = (): boolean => decoder !== undefined;

/**
 * The mask a tool keeps in a file, as a region's `mask`: undefined while the file is not fetched yet (the record
 * comes back needing it), null when `select` picks no pixel (nothing to send for it). With the input's `size`, a
 * file of another size is refused by name (Clarifai's mask is the input's size).
 */
export function maskOfFile(
  files: MaskFiles,
  ref: MaskRef,
  select: MaskSelect,
  what: string,
  size?: { readonly width: number; readonly height: number },
): { mask: { png: string } } | null | undefined {
  const bytes = files.bytes(ref);
  if (!bytes) return undefined;
  if (!decoder) throw new Error("the mask decoder is not loaded (loadMaskDecoder)");
  return decoder(bytes, select, what, size);
}

/** `#rrggbb` (Ground Truth's `hex-color`, Scale's `color`) as RGB, or undefined. */
export function hexColor(text: unknown): [number, number, number] | undefined {
  const m = typeof text === "string" ? /^#?([0-9a-f]{6})$/i.exec(text.trim()) : null;
  if (!m) return undefined;
  const n = Number.parseInt(m[1] as string, 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

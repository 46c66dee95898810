import { AdapterError } from "../contract/adapter-result.js";
import { type MaskSelect, setMaskDecoder } from "../contract/mask-files.js";
import { chargeWork } from "../read-meter.js";
import { type Bitmap, maskPng, scratchBuffer } from "./mask.js";
import { chunks, inflateRows, pngHeader } from "./png-stream.js";

/**
 * Masks a tool keeps as PNG files (Labelbox's mask URLs, Scale's segmentation images, Ground Truth's semantic
 * segmentation in S3), read into the one-bit bitmap the bridge sends. Which pixels are the object depends on the
 * tool's file:
 *
 * - `drawn`: Labelbox's instance mask (`mask.url`, v1 `instanceURI`): the object drawn in white on black or on
 *   transparency; a pixel is inside when it is not transparent and not black.
 * - `color`: Labelbox's composite mask (`composite_mask.color_rgb`: the instance's own colour among the label's
 *   others) and Ground Truth's semantic segmentation (`internal-color-map` hex colours): a pixel is inside when its
 *   RGB is exactly that colour and it is not transparent. Palette PNGs are read through their palette.
 * - `index`: Scale's `indexedImage` ("a 1-channel PNG where each positive integer value represents a pixel annotated
 *   with a given label"): a pixel is inside when its value (for a palette PNG, its palette index) is `index`.
 *
 * Bounded by construction, since a file comes from a payload's URL:
 * - The header is read before anything is inflated: a file that is not a PNG, or whose size passes the mask bound
 *   (4096 x 4096), is refused by name.
 * - The image data is inflated as a stream (fflate's `Unzlib`, fed 4 KiB at a time, so one push yields at most
 *   about 4 MiB), each scanline unfiltered as it completes and dropped: at most two scanlines are held, never the
 *   inflated image. Data that inflates past what the header implies is refused (`mask-inflates-past-header`) the
 *   moment it does: a 0.5 MB file that inflates to 512 MiB costs 4 MiB, not 1 GB.
 * - A pixel is kept as the smallest number that answers "which class is this": its palette index or grey level
 *   (one byte, or two for 16-bit grey), or for colour images an id in a table of the file's distinct colours (one
 *   byte up to 256 colours, two up to 65,536; a file with more colours is not a mask: `mask-not-flat`). A 4096 x
 *   4096 file is 16 MiB decoded (32 at most), not 64 of RGBA.
 * - One decoded file is kept at a time (the last one read), so the masks a composite file holds are cut from one
 *   decode, and a label's ten instance files cost one file's memory, not ten.
 */

/** Distinct colours a mask file may hold (ids fit in 16 bits). */
export const MAX_MASK_COLOURS = 65_536;

/**
 * A decoded mask file: one class id a pixel, and what each id is (`index`: the raw first sample, a palette index or
 * grey level; `rgba`: the pixel as 8-bit RGBA packed in 32 bits).
 */
interface DecodedMask {
  readonly width: number;
  readonly height: number;
  readonly ids: Uint8Array | Uint16Array;
  readonly classes: number;
  readonly maxIndex: number;
  index(id: number): number;
  rgba(id: number): number;
}

/**
 * Pixels one file's masks may pass over in all: 10^9, about 480 masks from a 1920 x 1080 file (measured: 50 in
 * 0.45 s) or 60 from 4096 x 4096, so one record's masks cannot outlast the function.
 */
export const MAX_MASK_PIXEL_WORK = 1_000_000_000;

/** Masks read so far from each file (by its bytes), for MAX_MASK_PIXEL_WORK: kept as long as the bytes are. */
const selections = new WeakMap<Uint8Array, number>();
/** The one decoded file kept: the last one read. */
let last: { readonly bytes: Uint8Array; readonly file: DecodedMask } | undefined;

/** Drops the decoded file kept (the handler calls it after each record). */
export function releaseDecodedMask(): void {
  last = undefined;
}

function decode(bytes: Uint8Array, what: string): DecodedMask {
  const h = pngHeader(bytes, what);
  const { width, height, depth, channels, colorType } = h;
  const { data, palette, trns } = chunks(bytes, what);
  const max = 2 ** depth - 1;
  const to8 = (v: number) => (depth === 8 ? v : Math.round((v * 255) / max));
  const multi = channels > 1;
  // The one decoded file's ids live in the reusable buffer (mask.ts): the previous file's are dropped already.
  const pixels = width * height;
  let ids: Uint8Array | Uint16Array =
    depth === 16 && !multi
      ? new Uint16Array(scratchBuffer("ids", 2 * pixels), 0, pixels)
      : new Uint8Array(scratchBuffer("ids", pixels), 0, pixels);
  // Colour images: a table of the distinct pixels met (key: 8-bit RGBA, and the raw first sample).
  const table = new Map<number, number>();
  const tIndex: number[] = [];
  const tRgba: number[] = [];
  const trnsGray =
    trns && colorType === 0 && trns.length >= 2 ? (trns[0] as number) * 256 + (trns[1] as number) : -1;
  const trnsRgb =
    trns && colorType === 2 && trns.length >= 6
      ? [0, 2, 4].map((i) => (trns[i] as number) * 256 + (trns[i + 1] as number))
      : undefined;
  const idOf = (key: number, index: number, rgba: number): number => {
    let id = table.get(key);
    if (id === undefined) {
      id = tIndex.length;
      if (id >= MAX_MASK_COLOURS)
        throw new AdapterError(
          "mask-not-flat",
          `${what}: the mask file has more than ${MAX_MASK_COLOURS} colours; a mask file holds flat colours, one per class or object`,
        );
      if (id === 256) ids = Uint16Array.from(ids); // past 256 colours: two bytes a pixel, no longer the reusable buffer
      table.set(key, id);
      tIndex.push(index);
      tRgba.push(rgba);
    }
    return id;
  };
  const sample16 = (row: Uint8Array, s: number) => ((row[2 * s] as number) << 8) | (row[2 * s + 1] as number);
  /** One unfiltered scanline of a pass, written to the pixels it stands for. */
  const emit = (row: Uint8Array, y: number, x0: number, dx: number, w: number) => {
    let at = y * width + x0;
    if (!multi) {
      for (let x = 0; x < w; x++, at += dx) {
        let v: number;
        if (depth === 8) v = row[x] as number;
        else if (depth === 16) v = sample16(row, x);
        else {
          const bit = x * depth;
          v = ((row[bit >> 3] as number) >> (8 - depth - (bit & 7))) & max;
        }
        ids[at] = v;
      }
      return;
    }
    let lastKey = -1;
    let lastId = 0;
    // One pixel's samples read in place (no closure a pixel: a 4096 x 4096 file is 16 million of them).
    const wide = depth === 16;
    for (let x = 0; x < w; x++, at += dx) {
      const s = x * channels;
      const r = wide ? sample16(row, s) : (row[s] as number);
      const c1 = wide ? sample16(row, s + 1) : (row[s + 1] as number);
      let rgba: number;
      if (channels === 2) {
        const g = to8(r);
        rgba = ((g << 24) | (g << 16) | (g << 8) | to8(c1)) >>> 0;
      } else {
        const b = wide ? sample16(row, s + 2) : (row[s + 2] as number);
        const a =
          channels === 4
            ? to8(wide ? sample16(row, s + 3) : (row[s + 3] as number))
            : trnsRgb && trnsRgb[0] === r && trnsRgb[1] === c1 && trnsRgb[2] === b
              ? 0
              : 255;
        rgba = ((to8(r) << 24) | (to8(c1) << 16) | (to8(b) << 8) | a) >>> 0;
      }
      const key = rgba * 65_536 + r;
      if (key !== lastKey) {
        lastKey = key;
        lastId = idOf(key, r, rgba);
      }
      ids[at] = lastId;
    }
  };
  inflateRows(h, data, what, emit);
  const grayRgba = (v: number) => {
    const g = to8(v);
    return ((g << 24) | (g << 16) | (g << 8) | (v === trnsGray ? 0 : 255)) >>> 0;
  };
  const paletteRgba = (k: number) => {
    const p = palette ?? new Uint8Array(0);
    const rgb = 3 * k + 2 < p.length ? [p[3 * k], p[3 * k + 1], p[3 * k + 2]] : [0, 0, 0];
    const a = trns && k < trns.length ? (trns[k] as number) : 255;
    return (((rgb[0] as number) << 24) | ((rgb[1] as number) << 16) | ((rgb[2] as number) << 8) | a) >>> 0;
  };
  return {
    width,
    height,
    ids,
    classes: multi ? tIndex.length : max + 1,
    maxIndex: colorType === 3 ? 255 : max,
    index: (id) => (multi ? (tIndex[id] as number) : id),
    rgba: (id) => (multi ? (tRgba[id] as number) : colorType === 3 ? paletteRgba(id) : grayRgba(id)),
  };
}

function decoded(bytes: Uint8Array, what: string): DecodedMask {
  if (last?.bytes === bytes) return last.file;
  last = undefined; // the previous file goes before the next is decoded
  const file = decode(bytes, what);
  last = { bytes, file };
  return file;
}

/** The pixels of a PNG mask file that `select` picks, as a bitmap of the file's own size. */
export function maskFromPng(
  bytes: Uint8Array,
  select: MaskSelect,
  what: string,
  maxWork = MAX_MASK_PIXEL_WORK,
  /** Where the bits go (maskOfBytes: the reusable buffer, mask.ts). @default a new one */
  into?: Uint8Array,
): Bitmap {
  const { width, height } = pngHeader(bytes, what);
  const count = (selections.get(bytes) ?? 0) + 1;
  selections.set(bytes, count);
  if (count * width * height > maxWork)
    throw new AdapterError(
      "too-many-masks",
      `${what}: more than ${Math.floor(maxWork / (width * height))} masks from one ${width}x${height} file (each is a pass over its pixels and a PNG of its own; at most ${maxWork} pixels in all)`,
    );
  const file = decoded(bytes, what);
  if (select.by === "index" && file.maxIndex < select.index)
    throw new AdapterError(
      "invalid-upstream",
      `${what}: index ${select.index} cannot be in a ${Math.log2(file.maxIndex + 1)}-bit image (an extended index image is not read)`,
    );
  // Which class ids are inside, worked out once per id rather than once per pixel.
  const want =
    select.by === "color" ? ((select.rgb[0] << 16) | (select.rgb[1] << 8) | select.rgb[2]) >>> 0 : 0;
  const hit = new Uint8Array(file.classes);
  for (let id = 0; id < file.classes; id++) {
    if (select.by === "index") hit[id] = file.index(id) === select.index ? 1 : 0;
    else {
      const p = file.rgba(id);
      const rgb = p >>> 8;
      hit[id] = (p & 255) !== 0 && (select.by === "color" ? rgb === want : rgb !== 0) ? 1 : 0;
    }
  }
  const bits = into ? into.subarray(0, width * height) : new Uint8Array(width * height);
  const ids = file.ids;
  for (let i = 0; i < bits.length; i++) bits[i] = hit[ids[i] as number] as number;
  chargeWork(bits.length);
  return { width, height, bits };
}

/**
 * A mask file's pixels that `select` picks, as a region's `mask`; null when it picks none. With the input's
 * `size`, a file of another size is refused by name (Clarifai's mask is the input's size). Registered as the
 * decoder mask-files.ts's `maskOfFile` calls, when this module is loaded.
 */
export function maskOfBytes(
  bytes: Uint8Array,
  select: MaskSelect,
  what: string,
  size?: { readonly width: number; readonly height: number },
): { mask: { png: string } } | null {
  const header = pngHeader(bytes, what);
  if (size && (size.width !== header.width || size.height !== header.height))
    throw new AdapterError(
      "mask-size-mismatch",
      `${what}: the mask file is ${header.width}x${header.height}, the image ${size.width}x${size.height}`,
    );
  const into = new Uint8Array(scratchBuffer("bits", header.width * header.height));
  const { png, pixels } = maskPng(maskFromPng(bytes, select, what, MAX_MASK_PIXEL_WORK, into));
  return pixels === 0 ? null : { mask: { png } };
}

setMaskDecoder(maskOfBytes, releaseDecodedMask);

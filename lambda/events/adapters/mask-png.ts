import { decode } from "fast-png";
import { AdapterError } from "./adapter-result.js";
import { type Bitmap, MAX_MASK_PIXELS, maskPng } from "./mask.js";
import { type MaskSelect, setMaskDecoder } from "./mask-files.js";

/**
 * Masks a tool keeps as PNG files (Labelbox's mask URLs, Scale's segmentation images, Ground Truth's semantic
 * segmentation in S3), read with `fast-png` (the encoder the bridge already carries) into the one-bit bitmap the
 * bridge sends. Which pixels are the object depends on the tool's file:
 *
 * - `drawn`: Labelbox's instance mask (`mask.url`, v1 `instanceURI`): the object drawn in white on black or on
 *   transparency; a pixel is inside when it is not transparent and not black.
 * - `color`: Labelbox's composite mask (`composite_mask.color_rgb`: the instance's own colour among the label's
 *   others) and Ground Truth's semantic segmentation (`internal-color-map` hex colours): a pixel is inside when its
 *   RGB is exactly that colour and it is not transparent. Palette PNGs are read through their palette.
 * - `index`: Scale's `indexedImage` ("a 1-channel PNG where each positive integer value represents a pixel annotated
 *   with a given label"): a pixel is inside when its value (for a palette PNG, its palette index) is `index`.
 *
 * The header is read before anything is decoded: a file that is not a PNG, or whose size would pass the mask
 * bound (4096 x 4096, and 64 MiB decoded), is refused by name without inflating it.
 */

/** Bytes a decoded mask file may take (a 4096 x 4096 RGBA PNG of 8 bits a sample). */
export const MAX_DECODED_MASK_BYTES = 64 * 1024 * 1024;

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** A PNG's size and sample layout from its IHDR chunk, or an AdapterError naming what is wrong. */
export function pngHeader(
  bytes: Uint8Array,
  what: string,
): { width: number; height: number; depth: number; channels: number } {
  const isPng =
    bytes.length >= 33 &&
    SIGNATURE.every((b, i) => bytes[i] === b) &&
    String.fromCharCode(...bytes.subarray(12, 16)) === "IHDR";
  if (!isPng) throw new AdapterError("mask-not-png", `${what}: the mask file is not a PNG`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  const depth = bytes[24] as number;
  const channels = CHANNELS[bytes[25] as number];
  if (!channels || ![1, 2, 4, 8, 16].includes(depth) || width === 0 || height === 0)
    throw new AdapterError("mask-not-png", `${what}: the mask file's PNG header is not valid`);
  if (
    width * height > MAX_MASK_PIXELS ||
    width * height * channels * Math.max(1, depth / 8) > MAX_DECODED_MASK_BYTES
  )
    throw new AdapterError(
      "mask-too-large",
      `${what}: a ${width}x${height} mask has more than the ${MAX_MASK_PIXELS} pixels a mask may have`,
    );
  return { width, height, depth, channels };
}

/**
 * A decoded mask file as one number per pixel, worked out once per file however many masks are read from it (a
 * segmentation with 50 classes is 50 selections of one file): `index`, the raw value of the first sample (a
 * palette index, a gray level); `rgba`, the pixel as 8-bit RGBA packed in 32 bits. Each is made on first use.
 */
interface DecodedMask {
  readonly width: number;
  readonly height: number;
  /** Masks read from it so far. */
  selections: number;
  readonly maxIndex: number;
  index(): Uint16Array;
  rgba(): Uint32Array;
}

/**
 * Pixels one file's masks may pass over in all: 10^9, about 480 masks from a 1920 x 1080 file (measured: 50 in
 * 0.45 s) or 60 from 4096 x 4096, so one record's masks cannot outlast the function.
 */
export const MAX_MASK_PIXEL_WORK = 1_000_000_000;

/** Decoded files by their bytes (the same bytes for every selection of a record's file), released with them. */
const decodedFiles = new WeakMap<Uint8Array, DecodedMask>();

function decoded(bytes: Uint8Array, what: string): DecodedMask {
  const cached = decodedFiles.get(bytes);
  if (cached) return cached;
  const { width, height } = pngHeader(bytes, what);
  let png: ReturnType<typeof decode>;
  try {
    png = decode(bytes);
  } catch {
    throw new AdapterError("mask-not-png", `${what}: the mask file is a damaged PNG`);
  }
  const { data, depth, channels, palette, transparency } = png;
  const pixels = width * height;
  const rowSamples = width * channels;
  const rowBytes = Math.ceil((rowSamples * depth) / 8);
  const max = 2 ** depth - 1;
  /** Sample `c` of pixel `i` (row-major), unpacking bit depths under 8. */
  const sample =
    depth >= 8
      ? (i: number, c: number) => data[i * channels + c] as number
      : (i: number, c: number) => {
          const y = Math.floor(i / width);
          const bit = ((i - y * width) * channels + c) * depth;
          const byte = data[y * rowBytes + (bit >> 3)] as number;
          return (byte >> (8 - depth - (bit & 7))) & max;
        };
  const to8 = (v: number) => (depth === 8 ? v : Math.round((v * 255) / max));
  let index: Uint16Array | undefined;
  let rgba: Uint32Array | undefined;
  const made: DecodedMask = {
    width,
    height,
    selections: 0,
    maxIndex: palette ? 255 : max,
    index() {
      if (!index) {
        index = new Uint16Array(pixels);
        for (let i = 0; i < pixels; i++) index[i] = sample(i, 0);
      }
      return index;
    },
    rgba() {
      if (!rgba) {
        rgba = new Uint32Array(pixels);
        for (let i = 0; i < pixels; i++) {
          let r: number;
          let g: number;
          let b: number;
          let a: number;
          if (palette) {
            const k = sample(i, 0);
            const entry = palette[k] ?? [];
            r = entry[0] ?? 0;
            g = entry[1] ?? 0;
            b = entry[2] ?? 0;
            a = transparency && k < transparency.length ? (transparency[k] as number) : (entry[3] ?? 255);
          } else if (channels <= 2) {
            const raw = sample(i, 0);
            r = g = b = to8(raw);
            a = channels === 2 ? to8(sample(i, 1)) : transparency?.[0] === raw ? 0 : 255;
          } else {
            r = to8(sample(i, 0));
            g = to8(sample(i, 1));
            b = to8(sample(i, 2));
            a = channels === 4 ? to8(sample(i, 3)) : 255;
          }
          rgba[i] = ((r << 24) | (g << 16) | (b << 8) | a) >>> 0;
        }
      }
      return rgba;
    },
  };
  decodedFiles.set(bytes, made);
  return made;
}

/** The pixels of a PNG mask file that `select` picks, as a bitmap of the file's own size. */
export function maskFromPng(
  bytes: Uint8Array,
  select: MaskSelect,
  what: string,
  maxWork = MAX_MASK_PIXEL_WORK,
): Bitmap {
  const file = decoded(bytes, what);
  const { width, height } = file;
  file.selections += 1;
  if (file.selections * width * height > maxWork)
    throw new AdapterError(
      "too-many-masks",
      `${what}: more than ${Math.floor(maxWork / (width * height))} masks from one ${width}x${height} file (each is a pass over its pixels and a PNG of its own; at most ${maxWork} pixels in all)`,
    );
  const bits = new Uint8Array(width * height);
  if (select.by === "index") {
    if (file.maxIndex < select.index)
      throw new AdapterError(
        "invalid-upstream",
        `${what}: index ${select.index} cannot be in a ${Math.log2(file.maxIndex + 1)}-bit image (an extended index image is not read)`,
      );
    const index = file.index();
    for (let i = 0; i < bits.length; i++) if (index[i] === select.index) bits[i] = 1;
  } else {
    const rgba = file.rgba();
    if (select.by === "color") {
      const want = ((select.rgb[0] << 16) | (select.rgb[1] << 8) | select.rgb[2]) >>> 0;
      for (let i = 0; i < bits.length; i++) {
        const p = rgba[i] as number;
        if ((p & 255) !== 0 && p >>> 8 === want) bits[i] = 1;
      }
    } else
      for (let i = 0; i < bits.length; i++) {
        const p = rgba[i] as number;
        if ((p & 255) !== 0 && p >>> 8 !== 0) bits[i] = 1;
      }
  }
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
  const bitmap = maskFromPng(bytes, select, what);
  if (size && (size.width !== bitmap.width || size.height !== bitmap.height))
    throw new AdapterError(
      "mask-size-mismatch",
      `${what}: the mask file is ${bitmap.width}x${bitmap.height}, the image ${size.width}x${size.height}`,
    );
  const { png, pixels } = maskPng(bitmap);
  return pixels === 0 ? null : { mask: { png } };
}

setMaskDecoder(maskOfBytes);

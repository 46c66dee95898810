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

/** The pixels of a PNG mask file that `select` picks, as a bitmap of the file's own size. */
export function maskFromPng(bytes: Uint8Array, select: MaskSelect, what: string): Bitmap {
  const { width, height } = pngHeader(bytes, what);
  let png: ReturnType<typeof decode>;
  try {
    png = decode(bytes);
  } catch {
    throw new AdapterError("mask-not-png", `${what}: the mask file is a damaged PNG`);
  }
  const { data, depth, channels, palette, transparency } = png;
  const rowSamples = width * channels;
  const rowBytes = Math.ceil((rowSamples * depth) / 8);
  const sample = (x: number, y: number, c: number): number => {
    if (depth >= 8) return data[y * rowSamples + x * channels + c] as number;
    const bit = (x * channels + c) * depth;
    const byte = data[y * rowBytes + (bit >> 3)] as number;
    return (byte >> (8 - depth - (bit & 7))) & ((1 << depth) - 1);
  };
  const max = 2 ** depth - 1;
  if (select.by === "index" && (palette ? 255 : max) < select.index)
    throw new AdapterError(
      "invalid-upstream",
      `${what}: index ${select.index} cannot be in a ${depth}-bit image (an extended index image is not read)`,
    );
  const to8 = (v: number) => Math.round((v * 255) / max);
  /** RGBA of a pixel, 8 bits a channel. */
  const rgba = (x: number, y: number): [number, number, number, number] => {
    if (palette) {
      const i = sample(x, y, 0);
      const [r = 0, g = 0, b = 0, a = 255] = palette[i] ?? [];
      return [r, g, b, transparency && i < transparency.length ? (transparency[i] as number) : a];
    }
    if (channels <= 2) {
      const v = to8(sample(x, y, 0));
      const alpha = channels === 2 ? to8(sample(x, y, 1)) : transparency?.[0] === sample(x, y, 0) ? 0 : 255;
      return [v, v, v, alpha];
    }
    const a = channels === 4 ? to8(sample(x, y, 3)) : 255;
    return [to8(sample(x, y, 0)), to8(sample(x, y, 1)), to8(sample(x, y, 2)), a];
  };
  const inside: (x: number, y: number) => boolean =
    select.by === "index"
      ? (x, y) => sample(x, y, 0) === select.index
      : select.by === "color"
        ? (x, y) => {
            const [r, g, b, a] = rgba(x, y);
            return a !== 0 && r === select.rgb[0] && g === select.rgb[1] && b === select.rgb[2];
          }
        : (x, y) => {
            const [r, g, b, a] = rgba(x, y);
            return a !== 0 && (r !== 0 || g !== 0 || b !== 0);
          };
  const bits = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) if (inside(x, y)) bits[y * width + x] = 1;
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

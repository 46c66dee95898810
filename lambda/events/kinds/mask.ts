import { encode } from "fast-png";
import { AdapterError } from "../contract/adapter-result.js";
import { onRecordRead } from "../contract/mask-files.js";
import { chargeWork } from "../read-meter.js";

/**
 * Masks: a tool's own encoding decoded to one bit per pixel, then written as the PNG Clarifai holds in
 * `region_info.mask.image.base64` (a mask of the whole input, same width and height, non-zero inside).
 *
 * The PNG is 1-bit grayscale, written by `fast-png` (17 KB minified with its deflate, against pngjs's 31 KB and
 * Node streams): a 600x400 blob on a 1920x1080 input is 804 bytes. Label Studio's brush `rle` is the bit-packed
 * format of `@thi.ng/rle-pack`, the package its editor encodes with; `label_studio_converter/brush.py`
 * (`decode_rle`, then `reshape([height, width, 4])[:, :, 3]`) reads the same stream as RGBA and keeps the alpha
 * channel, as this does. It is read here as a stream straight into the bitmap (`rleAlpha`), not through the
 * package's `decode`, which returns the whole RGBA array: 64 MiB for a 4096 x 4096 brush, where the bitmap is 16.
 */

/** Pixels a mask may have: 4096 x 4096. A decoded RGBA mask of that size is 64 MiB, within the function's memory. */
export const MAX_MASK_PIXELS = 4096 * 4096;

/**
 * Reusable buffers for the masks of one record, one at a time: a 4096 x 4096 mask's bitmap is 16 MiB, and a record
 * of dozens of masks allocating one each leaves the garbage collector hundreds of MiB to find (measured: a label of
 * ten 4096 x 4096 masks peaked 40 MB higher). Dropped once the record is read.
 */
const scratch: Record<"ids" | "bits", ArrayBuffer | undefined> = { ids: undefined, bits: undefined };

/** A buffer of `bytes` from the `slot`'s reusable one (its content is what the last user left). */
export function scratchBuffer(slot: "ids" | "bits", bytes: number): ArrayBuffer {
  const held = scratch[slot];
  if (held && held.byteLength >= bytes) return held;
  scratch[slot] = undefined; // the old one goes before the new one is made
  const made = new ArrayBuffer(bytes);
  scratch[slot] = made;
  return made;
}
onRecordRead(() => {
  scratch.ids = undefined;
  scratch.bits = undefined;
});

/**
 * Short-lived buffers a mask's reading leaves behind (the inflater's output chunks, the PNG encoder's buffers): a
 * 4096 x 4096 file leaves about 40 MB of them, and V8 collects memory outside its heap only when its own heuristics
 * say so, so ten such files took a 256 MB instance to 230 MB. Lambda's Node.js runtime starts node with
 * `--expose-gc`: there, a collection after every 48 MiB of such buffers keeps resident memory near what is live
 * (a few milliseconds each, against the tens a 4096 x 4096 decode takes). Elsewhere `gc` is not exposed and this
 * only counts.
 */
let transient = 0;
const COLLECT_EVERY = 16 * 1024 * 1024;
export function noteTransient(bytes: number): void {
  transient += bytes;
  if (transient < COLLECT_EVERY) return;
  transient = 0;
  (globalThis as { gc?: () => void }).gc?.();
}

/** A mask, one byte per pixel (0 outside, 1 inside), row by row from the top left. */
export interface Bitmap {
  readonly width: number;
  readonly height: number;
  readonly bits: Uint8Array;
}

/** The bitmap as a 1-bit grayscale PNG in base64, and how many pixels are inside. */
export function maskPng(bitmap: Bitmap): { png: string; pixels: number } {
  const { width, height, bits } = bitmap;
  const stride = Math.ceil(width / 8);
  const packed = new Uint8Array(stride * height);
  let pixels = 0;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    const out = y * stride;
    for (let x = 0; x < width; x++)
      if (bits[row + x]) {
        const at = out + (x >> 3);
        packed[at] = (packed[at] as number) | (0x80 >> (x & 7));
        pixels++;
      }
  }
  const png = encode({ width, height, data: packed, channels: 1, depth: 1 });
  noteTransient(packed.byteLength * 2 + png.byteLength);
  return { png: Buffer.from(png.buffer, png.byteOffset, png.byteLength).toString("base64"), pixels };
}

/** A size a mask may have: whole positive numbers, at most MAX_MASK_PIXELS in all. */
export function checkMaskSize(
  width: unknown,
  height: unknown,
  what: string,
): { width: number; height: number } {
  if (
    !(Number.isInteger(width) && Number.isInteger(height) && (width as number) > 0 && (height as number) > 0)
  )
    throw new AdapterError(
      "invalid-upstream",
      `${what}: a mask needs the image's width and height in pixels`,
    );
  if ((width as number) * (height as number) > MAX_MASK_PIXELS)
    throw new AdapterError(
      "mask-too-large",
      `${what}: a ${width}x${height} mask has more than the ${MAX_MASK_PIXELS} pixels a mask may have`,
    );
  return { width: width as number, height: height as number };
}

/**
 * Label Studio's brush `rle` (an array of bytes) as a bitmap of `width` x `height`: the stream holds width x
 * height x 4 RGBA values, and a pixel is inside where its alpha is not 0. The stream's own length (its first 32
 * bits) is checked against the image before anything is allocated, so a hostile length cannot take the memory.
 */
export function labelStudioBrush(
  rle: readonly unknown[],
  width: number,
  height: number,
  what: string,
  /** Where the bits go (a reusable buffer: labelStudioBrushPng). @default a new one */
  into?: Uint8Array,
): Bitmap {
  const bytes = Uint8Array.from(rle, (v) =>
    Number.isInteger(v) && (v as number) >= 0 && (v as number) < 256 ? (v as number) : -1,
  );
  if (bytes.some((b, i) => b !== rle[i]))
    throw new AdapterError(
      "invalid-upstream",
      `${what}: rle must be a list of bytes (whole numbers 0 to 255)`,
    );
  if (bytes.length < 6)
    throw new AdapterError("invalid-upstream", `${what}: rle is too short to be a brush mask`);
  const declared =
    (bytes[0] as number) * 2 ** 24 +
    ((bytes[1] as number) << 16) +
    ((bytes[2] as number) << 8) +
    (bytes[3] as number);
  if (declared !== width * height * 4)
    throw new AdapterError(
      "invalid-upstream",
      `${what}: rle holds ${declared} values, not the ${width}x${height}x4 of the image (original_width x original_height x RGBA)`,
    );
  const bits = into ? into.subarray(0, width * height).fill(0) : new Uint8Array(width * height);
  if (!rleAlpha(bytes, declared, bits))
    throw new AdapterError("invalid-upstream", `${what}: rle ends before its ${declared} values`);
  return { width, height, bits };
}

/** A brush mask as the PNG Clarifai holds (labelStudioBrush, decoded into the reusable bitmap), and its pixels. */
export function labelStudioBrushPng(
  rle: readonly unknown[],
  width: number,
  height: number,
  what: string,
): { png: string; pixels: number } {
  const bits = new Uint8Array(scratchBuffer("bits", width * height), 0, width * height);
  return maskPng(labelStudioBrush(rle, width, height, what, bits));
}

/**
 * `@thi.ng/rle-pack`'s binary stream (32 bits: the count of values; 5: word size - 1; four 4-bit repeat sizes;
 * then runs: a flag bit, a 2-bit size class, the length - 1, and one word repeated or as many literal words), read
 * without materialising it: every fourth value (a pixel's alpha) sets the pixel's bit when it is not 0. False when
 * the stream ends before its `count` values. A repeated run is applied a range at a time, so a flat brush costs its
 * runs, not its pixels.
 */
function rleAlpha(src: Uint8Array, count: number, bits: Uint8Array): boolean {
  const limit = src.length * 8;
  let pos = 32;
  const read = (size: number): number => {
    let n = size;
    if (pos + size > limit) throw new RangeError("end of stream");
    let v = 0;
    while (n > 0) {
      const avail = 8 - (pos & 7);
      const take = Math.min(avail, n);
      v = v * (1 << take) + (((src[pos >> 3] as number) >> (avail - take)) & ((1 << take) - 1));
      pos += take;
      n -= take;
    }
    return v;
  };
  try {
    const word = read(5) + 1;
    const sizes = [read(4) + 1, read(4) + 1, read(4) + 1, read(4) + 1];
    for (let i = 0; i < count; ) {
      const repeat = read(1);
      const j = Math.min(count, i + 1 + read(sizes[read(2)] as number));
      if (repeat) {
        if (read(word) !== 0) {
          // values i..j-1 share one value: pixels whose alpha (index 4p + 3) lies in the run are inside
          const first = Math.ceil((i - 3) / 4);
          const end = Math.floor((j - 1 - 3) / 4) + 1;
          if (end > first) bits.fill(1, first, end);
        }
        chargeWork((j - i) >> 4);
      } else {
        chargeWork(j - i);
        for (; i < j; i++) {
          const v = read(word);
          if ((i & 3) === 3) bits[i >> 2] = v !== 0 ? 1 : 0;
        }
      }
      i = j;
    }
  } catch (error) {
    if (error instanceof RangeError) return false;
    throw error;
  }
  return true;
}

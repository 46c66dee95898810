import { Unzlib } from "fflate";
import { AdapterError } from "../contract/adapter-result.js";
import { chargeWork } from "../read-meter.js";
import { MAX_MASK_PIXELS, noteTransient } from "./mask.js";

/**
 * A PNG file as a stream of scanlines, bounded by its header (mask-png.ts turns the scanlines into class ids): the
 * IHDR read and checked before anything is inflated; the chunks found; the image data inflated 4 KiB of input at
 * a time (fflate's `Unzlib`) and refused the moment it passes what the header implies
 * (`mask-inflates-past-header`); each scanline unfiltered as it completes, at most two of them held; Adam7
 * interlacing read pass by pass.
 */
const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
/** Adam7's passes: first column and row, then the steps between them. */
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;
/** Compressed bytes handed to the inflater at once: deflate's ratio is at most about 1:1032, so 4 MiB out a push. */
export const FEED = 4096;
export interface PngHeader {
  readonly width: number;
  readonly height: number;
  readonly depth: number;
  readonly channels: number;
  readonly colorType: number;
  readonly interlaced: boolean;
}

/** A PNG's size and sample layout from its IHDR chunk, or an AdapterError naming what is wrong. */
export function pngHeader(bytes: Uint8Array, what: string): PngHeader {
  const isPng =
    bytes.length >= 33 &&
    SIGNATURE.every((b, i) => bytes[i] === b) &&
    String.fromCharCode(...bytes.subarray(12, 16)) === "IHDR";
  if (!isPng) throw new AdapterError("mask-not-png", `${what}: the mask file is not a PNG`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  const depth = bytes[24] as number;
  const colorType = bytes[25] as number;
  const channels = CHANNELS[colorType];
  const allowed = colorType === 0 ? [1, 2, 4, 8, 16] : colorType === 3 ? [1, 2, 4, 8] : [8, 16];
  if (!channels || !allowed.includes(depth) || width === 0 || height === 0 || (bytes[28] as number) > 1)
    throw new AdapterError("mask-not-png", `${what}: the mask file's PNG header is not valid`);
  if (width * height > MAX_MASK_PIXELS)
    throw new AdapterError(
      "mask-too-large",
      `${what}: a ${width}x${height} mask has more than the ${MAX_MASK_PIXELS} pixels a mask may have`,
    );
  return { width, height, depth, channels, colorType, interlaced: bytes[28] === 1 };
}

/** Bytes of image data (filter bytes included) a header implies: what the data must inflate to, exactly. */
export function inflatedSize(h: PngHeader): number {
  const passes = h.interlaced ? ADAM7 : ([[0, 0, 1, 1]] as const);
  let total = 0;
  for (const [x0, y0, dx, dy] of passes) {
    const w = Math.ceil((h.width - x0) / dx);
    const rows = Math.ceil((h.height - y0) / dy);
    if (w > 0 && rows > 0) total += rows * (1 + Math.ceil((w * h.channels * h.depth) / 8));
  }
  return total;
}

export const damaged = (what: string) =>
  new AdapterError("mask-not-png", `${what}: the mask file is a damaged PNG`);

/** The file's chunks: its image data (IDAT) in order, its palette and transparency. */
export function chunks(bytes: Uint8Array, what: string) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const data: Uint8Array[] = [];
  let palette: Uint8Array | undefined;
  let trns: Uint8Array | undefined;
  let at = 8;
  for (;;) {
    if (at + 12 > bytes.length) throw damaged(what);
    const length = view.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    const body = bytes.subarray(at + 8, at + 8 + length);
    if (at + 12 + length > bytes.length) throw damaged(what);
    if (type === "IDAT") data.push(body);
    else if (type === "PLTE") palette = body;
    else if (type === "tRNS") trns = body;
    else if (type === "IEND") break;
    at += 12 + length;
  }
  if (data.length === 0) throw damaged(what);
  return { data, palette, trns };
}

/** Inflates the image data as a stream, unfiltering each scanline as it completes and handing it to `emit`. */
export function inflateRows(
  h: PngHeader,
  data: readonly Uint8Array[],
  what: string,
  emit: (row: Uint8Array, y: number, x0: number, dx: number, w: number) => void,
): void {
  const expected = inflatedSize(h);
  const passes = (h.interlaced ? ADAM7 : ([[0, 0, 1, 1]] as const)).filter(
    ([x0, y0, dx, dy]) => Math.ceil((h.width - x0) / dx) > 0 && Math.ceil((h.height - y0) / dy) > 0,
  );
  const bpp = Math.max(1, (h.channels * h.depth) / 8);
  let pass = -1;
  let passW = 0;
  let passRows = 0;
  let rowBytes = 0;
  let row = 0;
  let cur = new Uint8Array(0);
  let prev = new Uint8Array(0);
  let fill = 0;
  const nextPass = () => {
    pass += 1;
    const p = passes[pass];
    if (!p) return;
    passW = Math.ceil((h.width - p[0]) / p[2]);
    passRows = Math.ceil((h.height - p[1]) / p[3]);
    rowBytes = Math.ceil((passW * h.channels * h.depth) / 8);
    cur = new Uint8Array(rowBytes + 1);
    prev = new Uint8Array(rowBytes + 1);
    row = 0;
    fill = 0;
  };
  nextPass();
  let out = 0;
  const inflater = new Unzlib((chunk) => {
    out += chunk.length;
    noteTransient(chunk.length);
    if (out > expected)
      throw new AdapterError(
        "mask-inflates-past-header",
        `${what}: the mask file's data inflates past the ${expected} bytes its ${h.width}x${h.height} header implies`,
      );
    let at = 0;
    while (at < chunk.length) {
      const take = Math.min(cur.length - fill, chunk.length - at);
      cur.set(chunk.subarray(at, at + take), fill);
      fill += take;
      at += take;
      if (fill < cur.length) break;
      unfilter(cur, prev, bpp);
      const p = passes[pass] as readonly [number, number, number, number];
      emit(cur.subarray(1), p[1] + row * p[3], p[0], p[2], passW);
      chargeWork(passW);
      [cur, prev] = [prev, cur];
      fill = 0;
      row += 1;
      if (row === passRows) nextPass();
    }
  });
  try {
    for (const part of data)
      for (let at = 0; at < part.length; at += FEED) inflater.push(part.subarray(at, at + FEED), false);
    inflater.push(new Uint8Array(0), true);
  } catch (error) {
    if (error instanceof AdapterError || (error as Error)?.name === "OverTime") throw error;
    throw damaged(what);
  }
  if (out !== expected) throw damaged(what);
}

/** Undoes a scanline's filter in place (`line[0]` is the filter type), given the previous unfiltered line. */
function unfilter(line: Uint8Array, prev: Uint8Array, bpp: number): void {
  const type = line[0];
  const n = line.length;
  if (type === 0) return;
  for (let i = 1; i < n; i++) {
    const a = i > bpp ? (line[i - bpp] as number) : 0;
    const b = prev[i] as number;
    const x = line[i] as number;
    if (type === 1) line[i] = x + a;
    else if (type === 2) line[i] = x + b;
    else if (type === 3) line[i] = x + ((a + b) >> 1);
    else if (type === 4) {
      const c = i > bpp ? (prev[i - bpp] as number) : 0;
      const p = a + b - c;
      const pa = Math.abs(p - a);
      const pb = Math.abs(p - b);
      const pc = Math.abs(p - c);
      line[i] = x + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
    } else throw new Error("unknown PNG filter");
  }
}

import { crc32, deflateSync } from "node:zlib";

/**
 * PNG files written by hand, for what fast-png's encoder does not write: Adam7-interlaced files, palettes with
 * transparency, and files whose data inflates to more (or less) than their header says.
 */
function chunk(type: string, body: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length, 0);
  head.write(type, 4, "latin1");
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])) >>> 0, 0);
  return Buffer.concat([head, body, crc]);
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export function ihdr(width: number, height: number, depth: number, colorType: number, interlace = 0): Buffer {
  const b = Buffer.alloc(13);
  b.writeUInt32BE(width, 0);
  b.writeUInt32BE(height, 4);
  b[8] = depth;
  b[9] = colorType;
  b[12] = interlace;
  return chunk("IHDR", b);
}

/** A PNG of the given header and already-compressed image data, with optional PLTE and tRNS. */
export function pngOf(
  header: Buffer,
  zdata: Uint8Array,
  extra: { palette?: Uint8Array; trns?: Uint8Array } = {},
): Uint8Array {
  return Buffer.concat([
    SIGNATURE,
    header,
    ...(extra.palette ? [chunk("PLTE", extra.palette)] : []),
    ...(extra.trns ? [chunk("tRNS", extra.trns)] : []),
    chunk("IDAT", zdata),
    chunk("IEND", new Uint8Array(0)),
  ]);
}

const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;

/**
 * An 8-bit image (one byte a sample, `channels` a pixel) as PNG scanlines, interlaced or not, each row with filter
 * `filters[row % filters.length]` (0 none, 1 sub, 2 up: enough to exercise the unfilter paths).
 */
export function encode8(
  width: number,
  height: number,
  channels: number,
  samples: Uint8Array,
  colorType: number,
  interlace: boolean,
  filters: readonly number[] = [0, 1, 2],
  extra: { palette?: Uint8Array; trns?: Uint8Array } = {},
): Uint8Array {
  const passes = interlace ? ADAM7 : ([[0, 0, 1, 1]] as const);
  const rows: number[] = [];
  let n = 0;
  for (const [x0, y0, dx, dy] of passes) {
    const w = Math.ceil((width - x0) / dx);
    const h = Math.ceil((height - y0) / dy);
    if (w <= 0 || h <= 0) continue;
    let prev = new Uint8Array(w * channels);
    for (let r = 0; r < h; r++, n++) {
      const line = new Uint8Array(w * channels);
      for (let x = 0; x < w; x++)
        for (let c = 0; c < channels; c++)
          line[x * channels + c] = samples[((y0 + r * dy) * width + x0 + x * dx) * channels + c] as number;
      const f = filters[n % filters.length] as number;
      rows.push(f);
      for (let i = 0; i < line.length; i++) {
        const left = i >= channels ? (line[i - channels] as number) : 0;
        const up = prev[i] as number;
        rows.push(((line[i] as number) - (f === 1 ? left : f === 2 ? up : 0)) & 255);
      }
      prev = line;
    }
  }
  return pngOf(
    ihdr(width, height, 8, colorType, interlace ? 1 : 0),
    deflateSync(Uint8Array.from(rows)),
    extra,
  );
}

import { deflateSync } from "node:zlib";
import { describe, expect, test } from "@jest/globals";
import { encode as rleEncode } from "@thi.ng/rle-pack";
import fc from "fast-check";
import { decode, encode } from "fast-png";
import { AdapterError } from "../../lambda/events/contract/adapter-result.js";
import { labelStudioBrush } from "../../lambda/events/kinds/mask.js";
import { maskFromPng } from "../../lambda/events/kinds/mask-png.js";
import { encode8, ihdr, pngOf } from "../support/png-files.js";

/**
 * The streaming PNG reader (mask-png.ts) against fast-png's decoder as the reference: the same pixels are inside
 * for every layout, and what a file's header does not allow (more data than it implies) is refused before it can
 * take the memory.
 */
const count = (bits: Uint8Array) => bits.reduce((n, b) => n + b, 0);

/** Which pixels fast-png's full decode says are inside, as the tools' rules read them (mask-png.ts's header). */
function reference(png: Uint8Array, select: "drawn" | { rgb: [number, number, number] } | { index: number }) {
  const img = decode(png);
  const { width, height, channels, depth, palette } = img;
  const max = 2 ** depth - 1;
  const packed = img.data as ArrayLike<number>;
  const rowBytes = Math.ceil((width * channels * depth) / 8);
  // fast-png leaves samples under 8 bits packed, row by row
  const data =
    depth >= 8
      ? packed
      : Array.from({ length: width * height }, (_, i) => {
          const y = Math.floor(i / width);
          const bit = (i - y * width) * depth;
          return ((packed[y * rowBytes + (bit >> 3)] as number) >> (8 - depth - (bit & 7))) & max;
        });
  const to8 = (v: number) => (depth === 8 ? v : Math.round((v * 255) / max));
  const out = new Uint8Array(width * height);
  for (let i = 0; i < out.length; i++) {
    const s = (c: number) => data[i * channels + c] as number;
    let rgba: [number, number, number, number];
    if (palette) {
      const e = palette[s(0)] ?? [0, 0, 0];
      rgba = [e[0] ?? 0, e[1] ?? 0, e[2] ?? 0, e[3] ?? 255];
    } else if (channels <= 2) rgba = [to8(s(0)), to8(s(0)), to8(s(0)), channels === 2 ? to8(s(1)) : 255];
    else rgba = [to8(s(0)), to8(s(1)), to8(s(2)), channels === 4 ? to8(s(3)) : 255];
    if (select === "drawn") out[i] = rgba[3] !== 0 && (rgba[0] | rgba[1] | rgba[2]) !== 0 ? 1 : 0;
    else if ("rgb" in select)
      out[i] =
        rgba[3] !== 0 && rgba[0] === select.rgb[0] && rgba[1] === select.rgb[1] && rgba[2] === select.rgb[2]
          ? 1
          : 0;
    else out[i] = s(0) === select.index ? 1 : 0;
  }
  return out;
}

describe("the streaming PNG reader reads what fast-png reads", () => {
  test("any size, layout and bit depth fast-png writes: the same pixels for drawn, colour and index", () => {
    const layout = fc.constantFrom(
      { channels: 1, depth: 1 },
      { channels: 1, depth: 2 },
      { channels: 1, depth: 4 },
      { channels: 1, depth: 8 },
      { channels: 1, depth: 16 },
      { channels: 2, depth: 8 },
      { channels: 2, depth: 16 },
      { channels: 3, depth: 8 },
      { channels: 3, depth: 16 },
      { channels: 4, depth: 8 },
      { channels: 4, depth: 16 },
    );
    fc.assert(
      fc.property(
        layout,
        fc.integer({ min: 1, max: 23 }),
        fc.integer({ min: 1, max: 17 }),
        fc.integer(),
        (l, w, h, seed) => {
          // few values, as masks have: each sample one of four levels
          const max = 2 ** l.depth - 1;
          const n = l.depth < 8 ? Math.ceil((w * l.depth) / 8) * h : w * h * l.channels;
          const levels = [0, max, Math.floor(max / 3), Math.floor((2 * max) / 3)];
          let x = seed >>> 0;
          const data = l.depth === 16 ? new Uint16Array(n) : new Uint8Array(n);
          for (let i = 0; i < n; i++) {
            x = (x * 1103515245 + 12345) >>> 0;
            data[i] = l.depth < 8 ? (x >>> 16) & 255 : (levels[(x >>> 16) & 3] as number);
          }
          const png = encode({ width: w, height: h, data, channels: l.channels, depth: l.depth as 8 });
          const first = reference(png, "drawn");
          expect(Array.from(maskFromPng(png, { by: "drawn" }, "m").bits)).toEqual(Array.from(first));
          const img = decode(png);
          const d =
            l.depth < 8
              ? [((img.data[0] as number) >> (8 - l.depth)) & max]
              : (img.data as ArrayLike<number>);
          const to8 = (v: number) => (l.depth === 8 ? v : Math.round((v * 255) / max));
          const rgb: [number, number, number] =
            l.channels >= 3
              ? [to8(d[0] as number), to8(d[1] as number), to8(d[2] as number)]
              : [to8(d[0] as number), to8(d[0] as number), to8(d[0] as number)];
          expect(Array.from(maskFromPng(png, { by: "color", rgb }, "m").bits)).toEqual(
            Array.from(reference(png, { rgb })),
          );
          const index = d[0] as number;
          expect(Array.from(maskFromPng(png, { by: "index", index }, "m").bits)).toEqual(
            Array.from(reference(png, { index })),
          );
        },
      ),
      { numRuns: 150 },
    );
  });

  test("an Adam7-interlaced file reads as the same image written plainly, with each filter", () => {
    for (const [w, h] of [
      [1, 1],
      [3, 2],
      [9, 9],
      [17, 5],
      [33, 20],
    ] as const) {
      const samples = new Uint8Array(w * h * 4);
      for (let i = 0; i < w * h; i++) {
        const inside = (i % w) * 3 + Math.floor(i / w) * 2 < w + h;
        samples.set(inside ? [200, 10, 30, 255] : [0, 0, 0, 0], i * 4);
      }
      const plain = encode8(w, h, 4, samples, 6, false);
      const interlaced = encode8(w, h, 4, samples, 6, true);
      const a = maskFromPng(plain, { by: "color", rgb: [200, 10, 30] }, "m").bits;
      const b = maskFromPng(interlaced, { by: "color", rgb: [200, 10, 30] }, "m").bits;
      expect(Array.from(b)).toEqual(Array.from(a));
      expect(count(a)).toBeGreaterThan(0);
    }
  });

  test("a palette with transparency: a transparent entry is outside, whatever its colour", () => {
    const palette = Uint8Array.from([0, 0, 0, 9, 9, 9, 9, 9, 9]);
    const trns = Uint8Array.from([255, 255, 0]);
    const png = encode8(3, 1, 1, Uint8Array.from([0, 1, 2]), 3, false, [0], { palette, trns });
    expect(Array.from(maskFromPng(png, { by: "color", rgb: [9, 9, 9] }, "m").bits)).toEqual([0, 1, 0]);
    expect(Array.from(maskFromPng(png, { by: "index", index: 2 }, "m").bits)).toEqual([0, 0, 1]);
  });
});

describe("what the header does not allow is refused before it takes the memory", () => {
  test("data that inflates past the header (a 64 x 64 header over 64 MiB) is mask-inflates-past-header", () => {
    const bomb = pngOf(ihdr(64, 64, 8, 0), deflateSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 }));
    expect(bomb.length).toBeLessThan(100_000);
    let error: unknown;
    try {
      maskFromPng(bomb, { by: "index", index: 1 }, "m");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AdapterError);
    expect((error as AdapterError).code).toBe("mask-inflates-past-header");
    expect((error as AdapterError).message).toMatch(/inflates past the 4160 bytes its 64x64 header implies/);
    // What it costs in resident memory (nothing near what it inflates to) is measured where it can be: in a process
    // killed at the function's memory (test/integration/memory-bound.test.ts).
  });

  test("data shorter than the header implies, and data that is not zlib, are damaged PNGs", () => {
    const short = pngOf(ihdr(16, 16, 8, 0), deflateSync(Buffer.alloc(100)));
    expect(() => maskFromPng(short, { by: "drawn" }, "m")).toThrow(/damaged PNG/);
    const garbage = pngOf(ihdr(16, 16, 8, 0), Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]));
    expect(() => maskFromPng(garbage, { by: "drawn" }, "m")).toThrow(/damaged PNG/);
    const noData = Buffer.concat([
      Buffer.from(short).subarray(0, 33),
      Buffer.from([0, 0, 0, 0, 73, 69, 78, 68, 0, 0, 0, 0]),
    ]);
    expect(() => maskFromPng(noData, { by: "drawn" }, "m")).toThrow(/damaged PNG/);
  });

  test("a colour file with more than 65,536 colours is not a mask (mask-not-flat)", () => {
    const w = 300;
    const h = 300;
    const samples = new Uint8Array(w * h * 3);
    for (let i = 0; i < w * h; i++) samples.set([i & 255, (i >> 8) & 255, (i >> 16) & 255], i * 3);
    const png = encode({ width: w, height: h, channels: 3, depth: 8, data: samples });
    expect(() => maskFromPng(png, { by: "drawn" }, "m")).toThrow(/more than 65536 colours/);
  });
});

describe("Label Studio's brush rle, read as a stream", () => {
  test("the same pixels as rle-pack's own decode, for runs and literals of any length", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 30 }),
        fc.integer(),
        (w, h, seed) => {
          const rgba = new Uint8Array(w * h * 4);
          let x = seed >>> 0;
          let value = 0;
          for (let p = 0; p < w * h; p++) {
            x = (x * 1103515245 + 12345) >>> 0;
            if ((x >>> 16) % 5 === 0) value = (x >>> 8) & 3 ? 0 : 255; // long runs, with changes
            const noisy = (x >>> 20) % 7 === 0 ? (x >>> 24) & 255 : value;
            rgba.set([noisy, noisy, noisy, noisy], p * 4);
          }
          const bitmap = labelStudioBrush(Array.from(rleEncode(rgba, rgba.length)), w, h, "rle");
          for (let p = 0; p < w * h; p++) expect(bitmap.bits[p]).toBe(rgba[p * 4 + 3] !== 0 ? 1 : 0);
        },
      ),
      { numRuns: 200 },
    );
  });
});

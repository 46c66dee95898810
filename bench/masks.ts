import { encode } from "fast-png";
import { maskOfBytes } from "../lambda/events/kinds/mask-png.js";

/**
 * Masks read from files (Scale's indexed image, a Ground Truth or Labelbox colour image): the time to make each
 * class's mask of a 1920 x 1080 file with 50 classes in vertical bands, the file decoded once for all of them, and
 * the bytes of each mask's PNG. Median of `runs`, each on fresh bytes (so each run decodes again).
 */
export function maskFileWork(runs = 3): {
  classes: number;
  indexMs: number;
  colorMs: number;
  firstMs: number;
  pngBytes: number;
} {
  const W = 1920;
  const H = 1080;
  const N = 50;
  const band = (i: number) => 1 + Math.floor(((i % W) / W) * N);
  const indexed = () => {
    const data = new Uint8Array(W * H);
    for (let i = 0; i < data.length; i++) data[i] = band(i);
    return encode({ width: W, height: H, channels: 1, depth: 8, data });
  };
  const colored = () => {
    const data = new Uint8Array(W * H * 4);
    for (let i = 0; i < W * H; i++) data.set([band(i), band(i) * 2, band(i) * 3, 255], i * 4);
    return encode({ width: W, height: H, channels: 4, depth: 8, data });
  };
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const index: number[] = [];
  const color: number[] = [];
  const first: number[] = [];
  let pngBytes = 0;
  for (let r = 0; r < runs; r++) {
    const a = indexed();
    let t = performance.now();
    for (let k = 1; k <= N; k++) {
      const made = maskOfBytes(a, { by: "index", index: k }, "bench");
      if (k === 1) first.push(performance.now() - t);
      pngBytes = Math.max(pngBytes, Buffer.from(made?.mask.png ?? "", "base64").length);
    }
    index.push(performance.now() - t);
    const b = colored();
    t = performance.now();
    for (let k = 1; k <= N; k++) maskOfBytes(b, { by: "color", rgb: [k, k * 2, k * 3] }, "bench");
    color.push(performance.now() - t);
  }
  return { classes: N, indexMs: median(index), colorMs: median(color), firstMs: median(first), pngBytes };
}

import { readFileSync } from "node:fs";
import { constants, createDeflate } from "node:zlib";
import { encode as rleEncode } from "@thi.ng/rle-pack";
import { encode } from "fast-png";
import { ihdr, pngOf } from "./png-files.js";

/**
 * Records that are heavy in memory or CPU rather than in bytes, as issue 31 measured them against a 256 MB
 * function: a PNG whose data inflates far past its header, a Labelbox label of ten 4096 x 4096 masks, a Label
 * Studio body of about 1 MB holding dozens of 4096 x 4096 brush masks, and a 16 MiB SeqLabel.json of empty lists.
 */
// biome-ignore lint/suspicious/noExplicitAny: the tools' JSON is edited freely
type Json = Record<string, any>;
const fixture = (name: string): Json => JSON.parse(readFileSync(`test/fixtures/upstream/${name}`, "utf8"));

/** A grey PNG (64 x 64 unless told) whose image data inflates to `inflatedMiB` MiB of zeros (0.5 MB of file for 512 MiB). */
export async function pngBomb(inflatedMiB = 512, width = 64, height = 64): Promise<Uint8Array> {
  const deflate = createDeflate({ level: constants.Z_BEST_COMPRESSION });
  const out: Buffer[] = [];
  deflate.on("data", (c: Buffer) => out.push(c));
  const zeros = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < inflatedMiB; i++)
    if (!deflate.write(zeros)) await new Promise((resolve) => deflate.once("drain", resolve));
  await new Promise((resolve) => deflate.end(resolve));
  return pngOf(ihdr(width, height, 8, 0), Buffer.concat(out));
}

/** A grey 4096 x 4096 mask file: a white rectangle on black (about 20 KB). */
export function fullResolutionMask(size = 4096): Uint8Array {
  const data = new Uint8Array(size * size);
  for (let y = size / 4; y < (3 * size) / 4; y++)
    data.fill(255, y * size + size / 4, y * size + (3 * size) / 4);
  return encode({ width: size, height: size, channels: 1, depth: 8, data });
}

/** A Scale segmentation callback whose indexed image is at `url`. */
export function scaleSegmentation(url: string): string {
  const callback = fixture("scale-segmentannotation.json");
  callback.response.annotations.combined.indexedImage = url;
  callback.task.response = callback.response;
  return JSON.stringify(callback);
}

/** A Labelbox row of `n` mask objects at 4096 x 4096, each its own instance file at `urlOf(i)`. */
export function labelboxMasks(n: number, urlOf: (i: number) => string, size = 4096): string {
  const row = fixture("labelbox-v2-masks.json");
  row.media_attributes = { ...row.media_attributes, width: size, height: size };
  const label = row.projects.clx0pr0000street.labels[0];
  const template = label.annotations.objects[0];
  label.annotations.objects = Array.from({ length: n }, (_, i) => ({
    ...template,
    feature_id: `ftheavy${String(i).padStart(6, "0")}`,
    mask: { url: urlOf(i) },
    composite_mask: undefined,
  }));
  return JSON.stringify(row);
}

/**
 * A Label Studio body of brush masks at `size` x `size`, as many as fit in `bytes` (about 1 MB: 66 or more at
 * 4096 x 4096), each a band of `rows` rows, so each mask's rle is a few KB.
 */
export function labelStudioBrushes(
  bytes = 1_000_000,
  size = 4096,
  rows = 40,
): { body: string; masks: number } {
  const rgba = new Uint8Array(size * size * 4);
  for (let y = 0; y < rows; y++)
    for (let x = 0; x < size / 2 + (y % 7); x++)
      rgba.fill(255, ((size / 4 + y) * size + x) * 4, ((size / 4 + y) * size + x) * 4 + 4);
  const rle = Array.from(rleEncode(rgba, rgba.length));
  const payload = fixture("label-studio-brush.json");
  const template = payload.annotation.result[0];
  const result = (n: number) =>
    Array.from({ length: n }, (_, i) => ({
      ...template,
      id: `Br${i}`,
      original_width: size,
      original_height: size,
      value: { ...template.value, rle },
    }));
  const one = JSON.stringify(result(1)).length;
  const masks = Math.floor((bytes - 2_000) / one);
  payload.annotation.result = result(masks);
  return { body: JSON.stringify(payload), masks };
}

/** A SeqLabel.json of `bytes` bytes, almost all of it empty lists (16 MiB parses to about 500 MiB). */
export function emptyListsSequence(bytes = 16 * 1024 * 1024 - 64): Uint8Array {
  const head = '{"tracking-annotations":[';
  const n = Math.floor((bytes - head.length - 4) / 3);
  return Buffer.from(`${head}${"[],".repeat(n)}[]]}`);
}

/** The Ground Truth video line whose SeqLabel.json is at `url`. */
export function groundTruthVideo(url: string): string {
  const line = fixture("ground-truth-video-tracking.json");
  line["street-tracking-ref"] = url;
  return JSON.stringify(line);
}

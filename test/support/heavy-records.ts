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

/** A Labelbox row of `n` objects whose masks share one 1920 x 1080 composite file at `url`, each its own colour. */
export function labelboxComposite(n: number, url: string): { body: string; file: Uint8Array } {
  const W = 1920;
  const H = 1080;
  const colour = (k: number): [number, number, number] => [k, 255 - k, (k * 7) % 256];
  const data = new Uint8Array(W * H * 4);
  for (let i = 0; i < W * H; i++) data.set([...colour(1 + Math.floor(((i % W) / W) * n)), 255], i * 4);
  const file = encode({ width: W, height: H, channels: 4, depth: 8, data });
  const row = fixture("labelbox-v2-masks.json");
  row.media_attributes = { ...row.media_attributes, width: W, height: H };
  const label = row.projects.clx0pr0000street.labels[0];
  const template = label.annotations.objects[0];
  label.annotations.objects = Array.from({ length: n }, (_, i) => ({
    ...template,
    feature_id: `ftband${String(i).padStart(6, "0")}`,
    composite_mask: { url, color_rgb: colour(i + 1) },
  }));
  return { body: JSON.stringify(row), file };
}

/**
 * The same track as a labeler changed it at `updatedAt`: `frames` long now, its middle keyframe moved to x 60%
 * (every interpolated frame moves), an ANNOTATION_UPDATED webhook.
 */
export function labelStudioTrackUpdate(frames: number, updatedAt: string): string {
  const payload = JSON.parse(labelStudioTrack(frames));
  payload.action = "ANNOTATION_UPDATED";
  payload.annotation.updated_at = updatedAt;
  const sequence = payload.annotation.result[0].value.sequence;
  sequence[1] = { ...sequence[1], x: 60 };
  return JSON.stringify(payload);
}

/** Label Studio's delete of the track (ANNOTATIONS_DELETED names only the annotation id). */
export function labelStudioTrackDeleted(): string {
  const payload = JSON.parse(labelStudioTrack(2));
  return JSON.stringify({
    action: "ANNOTATIONS_DELETED",
    annotations: [{ id: payload.annotation.id }],
    project: payload.project,
  });
}

/** A Label Studio video track of `frames` frames (keyframes at the first and the middle frame), project 15. */
export function labelStudioTrack(frames: number): string {
  const payload = fixture("label-studio-video.json");
  const box = (frame: number, x: number) => ({
    frame,
    enabled: true,
    rotation: 0,
    x,
    y: 20,
    width: 10,
    height: 10,
    time: frame / 30,
  });
  payload.annotation.result[0].value.framesCount = frames;
  payload.annotation.result[0].value.duration = frames / 30;
  payload.annotation.result[0].value.sequence = [box(1, 5), box(Math.floor(frames / 2), 85)];
  return JSON.stringify(payload);
}

import * as z from "zod/mini";
import { AdapterError, opt, readShape } from "../contract/adapter-result.js";
import type { ProjectMapping } from "../contract/mapping-config.js";
import type { Region } from "../event-schema.js";
import { checkedPolygon, clamp01 } from "../kinds/geometry.js";
import { checkMaskSize, labelStudioBrushPng } from "../kinds/mask.js";
import { required } from "./box.js";
import type { ResultItem } from "./result.js";
import { type LabelStudioKeyframe, videoRegions } from "./video.js";

/**
 * How each Label Studio result type with geometry becomes a region: boxes (rotated in pixels around the top-left
 * corner, as Label Studio stores them) and polygons, and the types beyond them (its tag docs,
 * `docs/source/tags/*.md`, and the editor's region models in `web/libs/editor/src/regions/`):
 * - `keypointlabels`: `x`, `y` in percent of the image (`width` is the drawn point's size, not geometry): a point.
 * - `labels` on a `<Text>` tag: `start`, `end`, `text`. Offsets count Unicode code points: the editor stores code
 *   points, not JavaScript's UTF-16 lengths, since label-studio-frontend #308 (label-studio #1559, "store code
 *   points instead of js length"; before it an emoji counted 2). They are passed on as they came, in Clarifai's
 *   `span` (`char_start`, `char_end`, `raw_text`); the canonical event's span counts code points too.
 * - `brushlabels`: `format: "rle"`, `rle` (mask.ts), on an image of `original_width` x `original_height`.
 * - `videorectangle`: a track (label-studio/video.ts).
 */

/** A keypoint with its labels, before skeletons are formed. */
export interface LabeledPoint {
  readonly id: string | undefined;
  readonly labels: readonly string[];
  readonly concepts: Region["concepts"];
  readonly point: { x: number; y: number };
}

const WHAT = "Label Studio payload";

type Value = NonNullable<ResultItem["value"]>;

/** Whether a `labels` item is a span of a Text tag: whole-number offsets (HyperText has XPaths, audio seconds). */
export function isTextSpan(value: Value): boolean {
  return Number.isInteger(value.start) && Number.isInteger(value.end);
}

const offset = z.int().check(z.gte(0), z.lte(2 ** 32 - 1));
const spanValueSchema = z.looseObject({ start: offset, end: offset, text: opt(z.string()) });
const brushValueSchema = z.looseObject({ format: opt(z.string()), rle: opt(z.array(z.unknown())) });
const keyframeSchema = z.looseObject({
  frame: z.int().check(z.gte(1), z.lte(2 ** 31)),
  enabled: opt(z.boolean()),
  x: z.number(),
  y: z.number(),
  width: z.number(),
  height: z.number(),
  rotation: opt(z.number()),
  time: opt(z.number()),
});
const videoValueSchema = z.looseObject({
  sequence: opt(z.array(keyframeSchema).check(z.maxLength(100_000))),
  framesCount: opt(z.int().check(z.gte(0), z.lte(2 ** 31))),
});

export function pointOf(item: ResultItem, path: string): { x: number; y: number } {
  const x = required(item.value?.x, `${path}.value.x`);
  const y = required(item.value?.y, `${path}.value.y`);
  if (x < 0 || x > 100 || y < 0 || y > 100)
    throw new AdapterError(
      "degenerate-region",
      `region ${item.id ?? "?"}: the keypoint is outside the image`,
    );
  return { x: clamp01(x / 100), y: clamp01(y / 100) };
}

export function spanOf(item: ResultItem, path: string): Pick<Region, "span"> {
  const value = readShape(spanValueSchema, item.value, WHAT, `${path}.value`);
  const { start, end } = value;
  if (!(start >= 0 && end > start))
    throw new AdapterError("degenerate-region", `${WHAT}: ${path}.value: a span needs 0 <= start < end`);
  const text = typeof value.text === "string" ? value.text.slice(0, 65_536) : undefined;
  return { span: { start, end, ...(text !== undefined ? { text } : {}) } };
}

export function maskOf(item: ResultItem, path: string): Pick<Region, "mask"> {
  const value = readShape(brushValueSchema, item.value, WHAT, `${path}.value`);
  if (value.format !== "rle" || !Array.isArray(value.rle))
    throw new AdapterError(
      "unsupported-result-type",
      `${WHAT}: ${path}.value: a brush mask in format ${JSON.stringify(value.format ?? null)}; only "rle" is read`,
    );
  const { width, height } = checkMaskSize(item.original_width, item.original_height, path);
  const { png, pixels } = labelStudioBrushPng(value.rle, width, height, `${path}.value.rle`);
  if (pixels === 0)
    throw new AdapterError("degenerate-region", `region ${item.id ?? "?"}: the brush mask is empty`);
  return { mask: { png } };
}

export function videoOf(
  item: ResultItem,
  id: string,
  concepts: Region["concepts"],
  mapping: ProjectMapping,
  path: string,
  already: number,
): Region[] {
  const value = readShape(videoValueSchema, item.value, WHAT, `${path}.value`);
  const sequence = value.sequence ?? [];
  if (sequence.length === 0) return [];
  const keys: LabelStudioKeyframe[] = sequence.map((k) => ({
    frame: k.frame,
    enabled: k.enabled !== false,
    x: k.x,
    y: k.y,
    width: k.width,
    height: k.height,
    rotation: k.rotation ?? 0,
    ...(typeof k.time === "number" ? { time: k.time } : {}),
  }));
  // A rotated box turns in pixels: the frame size from the result (when Label Studio writes one), else the mapping.
  const W = item.original_width;
  const H = item.original_height;
  const frameSize = W && H && W > 0 && H > 0 ? { width: W, height: H } : mapping.imageSize;
  return videoRegions(
    id,
    keys,
    value.framesCount ?? undefined,
    concepts,
    mapping,
    `${path} (videorectangle "${(item.from_name ?? "?").slice(0, 64)}")`,
    already,
    frameSize,
  );
}

/**
 * Keypoints grouped into the mapping's skeletons: the points whose labels a skeleton lists become one region of
 * that skeleton's label, in the listed order, a missing one `not_present` at (0, 0). A label seen twice among a
 * skeleton's points is refused: Label Studio does not say which instance each belongs to. Points no skeleton lists
 * stay single points.
 */
export function skeletons(points: readonly LabeledPoint[], mapping: ProjectMapping): Region[] {
  const regions: Region[] = [];
  const used = new Set<LabeledPoint>();
  for (const [skeleton, names] of Object.entries(mapping.keypoints ?? {})) {
    const members = points.filter((p) => p.labels.some((l) => names.includes(l)));
    if (members.length === 0) continue;
    const byName = new Map<string, LabeledPoint>();
    for (const p of members) {
      for (const label of p.labels.filter((l) => names.includes(l))) {
        if (byName.has(label))
          throw new AdapterError(
            "keypoints-ambiguous",
            `two keypoints labeled "${label.slice(0, 64)}" for skeleton "${skeleton.slice(0, 64)}": Label Studio does not say which instance each belongs to (one skeleton per annotation)`,
          );
        byName.set(label, p);
      }
      used.add(p);
    }
    regions.push({
      id: `skeleton:${skeleton}`,
      keypoints: {
        points: names.map((name) => {
          const p = byName.get(name);
          return p
            ? { ...p.point, visibility: "visible" as const }
            : { x: 0, y: 0, visibility: "not_present" as const };
        }),
      },
      concepts: [{ id: mapping.labels?.[skeleton] ?? skeleton, value: 1 }],
    });
  }
  for (const p of points)
    if (!used.has(p))
      regions.push({ ...(p.id !== undefined ? { id: p.id } : {}), point: p.point, concepts: p.concepts });
  return regions;
}

export function polygonOf(item: ResultItem, path: string): Pick<Region, "polygon"> {
  if (!item.value?.points)
    throw new AdapterError("invalid-upstream", `${WHAT}: ${path}.value.points: is required`);
  const points = item.value.points.map(([x, y]) => ({ x: (x ?? 0) / 100, y: (y ?? 0) / 100 }));
  return checkedPolygon(item.id == null ? undefined : String(item.id), points);
}

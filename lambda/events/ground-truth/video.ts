import * as z from "zod/mini";
import { jsonContainers } from "../bounds.js";
import { AdapterError, idLike, idText, opt, readShape, resolveInputId } from "../contract/adapter-result.js";
import type { ProjectMapping } from "../contract/mapping-config.js";
import type { MaskFiles } from "../contract/mask-files.js";
import { type Skipped, skipOrRefuse } from "../contract/skip.js";
import type { LabelingEvent, Region } from "../event-schema.js";
import { conceptsFor } from "../kinds/concepts.js";
import { checkedBox, checkedPolygon } from "../kinds/geometry.js";
import { maskRef } from "../kinds/mask-refs.js";

/**
 * Ground Truth video frame jobs (awsdocs/amazon-sagemaker-developer-guide `doc_source/sms-data-output.md`, "Video
 * Frame Object Detection Output" and "... Object Tracking Output"): the label attribute (`<name>-ref`) is the S3
 * URI of the sequence's `SeqLabel.json`, read by the handler's edge like a mask file (its bucket listed in the
 * project's `maskOrigins`). It holds `detection-annotations` (detection) or `tracking-annotations` (tracking): per
 * labeled frame its file name (`frame`), number (`frame-no`, a string in AWS's example) and a list named by the task
 * type: `annotations` (boxes: `left`, `top`, `width`, `height` in pixels), `polygons` (`vertices`), `keypoints`
 * (`x`, `y`) or `polylines`, each with its `class-id` (named by the metadata's `class-map`) and, when tracking, an
 * `object-id` the same across frames.
 *
 * The frames are images (Ground Truth labels the frames of a sequence, not a video file), so each frame is its own
 * Clarifai input: the frame's file name without its extension unless an `inputId` rule says otherwise (a template
 * may use `{frame}`, the frame number). Each object is a region of that frame's event; a tracked one carries its
 * `object-id` as `track_id`. The sequence file gives no image size: the project's `imageSize` is required
 * (`missing-image-size`). Polylines have no Clarifai region (refused by name, or skipped).
 */
const num = z.number();
const objectSchema = z.looseObject({
  "class-id": opt(idLike),
  "object-id": opt(idLike),
  "object-name": opt(idLike),
  left: opt(num),
  top: opt(num),
  width: opt(num),
  height: opt(num),
  vertices: opt(z.array(z.looseObject({ x: num, y: num })).check(z.maxLength(10_000))),
  x: opt(num),
  y: opt(num),
});
type VideoObject = z.infer<typeof objectSchema>;
/** Objects and arrays a SeqLabel.json may hold before it is parsed (bounds.ts `jsonContainers`). */
export const MAX_SEQUENCE_CONTAINERS = 500_000;

const list = opt(z.array(objectSchema).check(z.maxLength(20_000)));
const frameSchema = z.looseObject({
  "frame-no": idLike,
  frame: opt(z.string()),
  annotations: list,
  polygons: list,
  keypoints: list,
  polylines: list,
});
const sequenceSchema = z.looseObject({
  "tracking-annotations": opt(z.array(frameSchema).check(z.maxLength(20_000))),
  "detection-annotations": opt(z.array(frameSchema).check(z.maxLength(20_000))),
});
const WHAT = "Ground Truth sequence";

export interface SequenceContext {
  readonly attr: string;
  readonly job: string;
  readonly mapping: ProjectMapping;
  readonly mappingKey: string;
  readonly sourceRef: string | undefined;
  readonly created: string;
  readonly occurredAt: string;
  readonly className: (key: unknown) => string;
  readonly labeler: string;
  readonly adjusted: boolean;
}

/** The sequence's labeled frames as one event each; [] while its SeqLabel.json is not fetched yet. */
export function groundTruthSequenceEvents(
  value: unknown,
  ctx: SequenceContext,
  files: MaskFiles,
): LabelingEvent[] {
  const what = `${WHAT}: ${ctx.attr.slice(0, 64)}`;
  if (typeof value !== "string")
    throw new AdapterError(
      "invalid-upstream",
      `${what}: a video frame label is the S3 URI of its SeqLabel.json`,
    );
  const ref = maskRef(value, "sagemaker-ground-truth", ctx.mapping, ctx.mappingKey, what);
  const bytes = files.bytes(ref);
  if (!bytes) return []; // not fetched yet: the record comes back needing it
  // 20,000 frames of a dozen objects each are about 500,000 objects and arrays: past that, the file is not parsed.
  if (jsonContainers(bytes, MAX_SEQUENCE_CONTAINERS) > MAX_SEQUENCE_CONTAINERS)
    throw new AdapterError(
      "sequence-too-large",
      `${what}: its SeqLabel.json holds more than ${MAX_SEQUENCE_CONTAINERS} JSON objects and arrays (at most ${MAX_SEQUENCE_CONTAINERS}: about 50 MB once parsed)`,
    );
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new AdapterError("invalid-upstream", `${what}: its SeqLabel.json is not JSON`);
  }
  const sequence = readShape(sequenceSchema, json, what, "SeqLabel.json");
  const frames = sequence["tracking-annotations"] ?? sequence["detection-annotations"] ?? [];
  const size = ctx.mapping.imageSize;
  if (!size && frames.some((f) => count(f) > 0))
    throw new AdapterError(
      "missing-image-size",
      `${what}: the sequence file gives no frame size: set imageSize in the mapping for ${ctx.mappingKey.slice(0, 128)}`,
    );
  return frames.flatMap((frame, i) => {
    const number = idText(frame["frame-no"]) || String(i);
    const skipped: Skipped = [];
    const regions = size
      ? frameRegions(frame, size, ctx, skipped, `${what} frame ${number.slice(0, 16)}`)
      : [];
    if (regions.length === 0) return [];
    const inputId = resolveInputId(ctx.mapping.inputId ?? [{ from: "asset" }], {
      field: () => undefined,
      ...(frame.frame ? { assetUrl: frame.frame } : {}),
      vars: {
        taskId: ctx.sourceRef ?? "",
        annotationId: `${ctx.job}:${number}`,
        projectId: ctx.job,
        frame: number,
      },
    });
    if (!inputId)
      throw new AdapterError(
        "missing-input-id",
        `${what}: frame ${number.slice(0, 16)} has no file name to make its input id of; set an inputId template in the mapping (e.g. "seq-{frame}")`,
      );
    const annotationId = `${ctx.job}:${value}:${number}`.slice(0, 255);
    const event: LabelingEvent = {
      specVersion: "1",
      eventId: `gt:${ctx.job}:${value}:${number}:${ctx.created || ctx.occurredAt}`.slice(0, 512),
      type: ctx.adjusted ? "annotation.updated" : "annotation.created",
      occurredAt: ctx.occurredAt,
      source: "sagemaker-ground-truth",
      taskId: ctx.mapping.taskId,
      inputId,
      ...(ctx.labeler ? { labeler: { id: ctx.labeler.slice(0, 255) } } : {}),
      ...(ctx.mapping.app ? { app: ctx.mapping.app } : {}),
      regions,
      ...(skipped.length ? { metadata: { bridge_skipped: skipped } } : {}),
      upstream: {
        system: "sagemaker-ground-truth",
        projectId: ctx.job,
        annotationId,
        ...(frame.frame ? { assetRef: frame.frame.slice(0, 2048) } : {}),
        taskId: (ctx.sourceRef ?? value).slice(0, 255),
        timeSource: ctx.created ? "upstream" : "received",
      },
    };
    return [event];
  });
}

const count = (f: z.infer<typeof frameSchema>) =>
  (f.annotations?.length ?? 0) +
  (f.polygons?.length ?? 0) +
  (f.keypoints?.length ?? 0) +
  (f.polylines?.length ?? 0);

/** A frame's objects as regions, in pixels of `size` made fractions. */
function frameRegions(
  frame: z.infer<typeof frameSchema>,
  size: { width: number; height: number },
  ctx: SequenceContext,
  skipped: Skipped,
  what: string,
): Region[] {
  const { width: W, height: H } = size;
  const regions: Region[] = [];
  const base = (o: VideoObject, kind: string, i: number) => {
    const name = ctx.className(o["class-id"]);
    const concepts = conceptsFor(name ? [name] : [], { ...ctx.mapping, negatives: [] });
    if (concepts.length === 0)
      throw new AdapterError("invalid-upstream", `${what}: ${kind} ${i} has no class-id in the class-map`);
    const track = idText(o["object-id"]);
    return {
      id: `${kind}-${track || i}`.slice(0, 255),
      concepts,
      ...(track ? { trackId: track.slice(0, 255) } : {}),
    };
  };
  (frame.annotations ?? []).forEach((o, i) => {
    const { left, top, width, height } = o;
    if (left == null || top == null || width == null || height == null)
      throw new AdapterError("invalid-upstream", `${what}: box ${i} needs left, top, width and height`);
    const b = base(o, "box", i);
    regions.push({
      ...b,
      ...checkedBox(b.id, top / H, left / W, (top + height) / H, (left + width) / W),
    } as Region);
  });
  (frame.polygons ?? []).forEach((o, i) => {
    const b = base(o, "polygon", i);
    const points = (o.vertices ?? []).map((v) => ({ x: v.x / W, y: v.y / H }));
    regions.push({ ...b, ...checkedPolygon(b.id, points) } as Region);
  });
  (frame.keypoints ?? []).forEach((o, i) => {
    if (o.x == null || o.y == null)
      throw new AdapterError("invalid-upstream", `${what}: keypoint ${i} needs x and y`);
    if (o.x < 0 || o.y < 0 || o.x > W || o.y > H)
      throw new AdapterError("degenerate-region", `${what}: keypoint ${i} is outside the image`);
    const b = base(o, "point", i);
    regions.push({ ...b, point: { x: o.x / W, y: o.y / H } } as Region);
  });
  for (const [i, o] of (frame.polylines ?? []).entries())
    skipOrRefuse(
      ctx.mapping,
      skipped,
      `polyline "${ctx.className(o["class-id"]).slice(0, 64)}"`,
      `${what}: polyline ${i} ("${ctx.className(o["class-id"]).slice(0, 64)}") has no Clarifai region equivalent`,
    );
  return regions;
}

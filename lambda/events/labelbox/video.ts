import * as z from "zod/mini";
import { AdapterError, idLike, opt, readShape, idText as text } from "../contract/adapter-result.js";
import type { ProjectMapping } from "../contract/mapping-config.js";
import { type MaskFiles, NO_MASK_FILES } from "../contract/mask-files.js";
import { type Skipped, skipOrRefuse } from "../contract/skip.js";
import type { Region } from "../event-schema.js";
import { MAX_REGIONS_PER_EVENT } from "../event-schema.js";
import { conceptsFor } from "../kinds/concepts.js";
import { checkedBox } from "../kinds/geometry.js";
import { clarifaiFrame } from "../kinds/video-frames.js";
import { isLabelboxMask, labelboxVideoMaskRegions } from "./masks.js";

/**
 * A Labelbox video label (an Export v2 row of a video data row; Labelbox's export docs and the SDK's export
 * tests, `expected_export_v2_video`): `annotations.frames` maps a frame number (from 1) to that frame's
 * `objects` by feature id (`annotation_kind` `VideoBoundingBox`, `VideoPoint`, ...), and `annotations.segments`
 * maps each feature id to the frame ranges it is shown on (`[[start, end], ...]`, inclusive). The export holds
 * the keyframes, or every frame with its `interpolated_frames` option; between two frames it holds, a box or a
 * point moves linearly (Labelbox's editor: "all frames between keyframes will interpolate"), and after the last
 * one in a range it is held to the range's end. One region per frame of each range, `trackId` the feature id.
 * Frame `number` is Labelbox's frame - 1, `time` from the mapping's `frameRate`, else `media_attributes.frame_rate`,
 * else refused (`frame-rate-unknown`). Masks (`VideoSegmentationMask`) are per frame, read from files
 * (labelbox/masks.ts). Video polylines are refused by name, or skipped.
 */
const boxSchema = z.looseObject({ top: z.number(), left: z.number(), height: z.number(), width: z.number() });
const objectSchema = z.looseObject({
  name: opt(idLike),
  title: opt(idLike),
  annotation_kind: opt(z.string()),
  bounding_box: opt(boxSchema),
  point: opt(z.looseObject({ x: z.number(), y: z.number() })),
  /** A `VideoSegmentationMask` on this frame: the frame's composite mask and this object's colour in it. */
  composite_mask: opt(
    z.looseObject({
      url: z.string(),
      color_rgb: opt(z.array(z.int().check(z.gte(0), z.lte(255))).check(z.length(3))),
    }),
  ),
  mask: opt(z.looseObject({ url: opt(z.string()) })),
});
const videoSchema = z.looseObject({
  frames: opt(z.record(z.string(), z.looseObject({ objects: opt(z.record(z.string(), objectSchema)) }))),
  segments: opt(z.record(z.string(), z.array(z.tuple([z.int(), z.int()])).check(z.maxLength(10_000)))),
});
type VideoObject = z.infer<typeof objectSchema>;
const WHAT = "Labelbox video label";

/** Whether the label's annotations are a video's (frames or segments keyed by frame). */
export function isVideoLabel(annotations: unknown): boolean {
  const a = annotations as { frames?: unknown; segments?: unknown } | null | undefined;
  const some = (v: unknown) => v !== null && typeof v === "object" && Object.keys(v).length > 0;
  return some(a?.frames) || some(a?.segments);
}

/** A shape's numbers: a box's left, top, width, height, or a point's x, y. */
const numbers = (o: VideoObject): number[] | undefined =>
  o.bounding_box
    ? [o.bounding_box.left, o.bounding_box.top, o.bounding_box.width, o.bounding_box.height]
    : o.point
      ? [o.point.x, o.point.y]
      : undefined;

export function labelboxVideoRegions(
  annotations: unknown,
  media: { width?: unknown; height?: unknown; frame_rate?: unknown },
  mapping: ProjectMapping,
  skipped: Skipped,
  masks: MaskFiles = NO_MASK_FILES,
  mappingKey = "labelbox",
): Region[] {
  const video = readShape(videoSchema, annotations, WHAT, "annotations");
  const frames = video.frames ?? {};
  const width = typeof media.width === "number" ? media.width : mapping.imageSize?.width;
  const height = typeof media.height === "number" ? media.height : mapping.imageSize?.height;
  const rate =
    mapping.frameRate ??
    (typeof media.frame_rate === "number" && media.frame_rate > 0 ? media.frame_rate : undefined);
  const regions: Region[] = [];
  const maskFeatures = new Set<string>();
  for (const f of Object.values(frames))
    for (const [feature, o] of Object.entries(f.objects ?? {}))
      if (isLabelboxMask(o)) maskFeatures.add(feature);
  for (const feature of maskFeatures) {
    if (!rate)
      throw new AdapterError(
        "frame-rate-unknown",
        `${WHAT}: the video's frame rate is not in the payload (media_attributes.frame_rate): set frameRate in the project's mapping`,
      );
    const held = heldFrames(frames, feature);
    const size = width && height ? { width, height } : undefined;
    regions.push(
      ...labelboxVideoMaskRegions(
        feature,
        held,
        video.segments?.[feature],
        rate,
        size,
        masks,
        mapping,
        mappingKey,
        skipped,
      ),
    );
  }
  for (const [feature, ranges] of Object.entries(video.segments ?? {})) {
    if (maskFeatures.has(feature)) continue;
    const known = heldFrames(frames, feature);
    const first = known[0]?.object;
    if (!first) continue;
    const label = text(first.name ?? first.title);
    const kind = (first.annotation_kind ?? "").slice(0, 32);
    if (!numbers(first)) {
      skipOrRefuse(
        mapping,
        skipped,
        `${kind || "video object"} "${label.slice(0, 64)}"`,
        `${WHAT}: ${kind || "an object"} "${label.slice(0, 64)}" has no Clarifai region here (boxes and points are carried)`,
      );
      continue;
    }
    if (!width || !height)
      throw new AdapterError(
        "missing-image-size",
        `${WHAT}: the video's size is needed (media_attributes width and height, or imageSize in the mapping)`,
      );
    if (!rate)
      throw new AdapterError(
        "frame-rate-unknown",
        `${WHAT}: the video's frame rate is not in the payload (media_attributes.frame_rate): set frameRate in the project's mapping`,
      );
    const total = ranges.reduce((n, [start, end]) => n + Math.max(0, end - start + 1), regions.length);
    const limit = mapping.maxAnnotationsPerEvent ?? MAX_REGIONS_PER_EVENT;
    if (total > limit)
      throw new AdapterError(
        "too-many-annotations",
        `${WHAT} makes ${total} annotations (one per frame of each object), more than the ${limit} one event may carry`,
      );
    const concepts = conceptsFor(label ? [label] : [], { ...mapping, negatives: [] });
    if (concepts.length === 0)
      throw new AdapterError("invalid-event", `${WHAT}: object ${feature.slice(0, 64)} has no name`);
    for (const [start, end] of ranges) {
      if (start < 1)
        throw new AdapterError(
          "invalid-upstream",
          `${WHAT}: segment [${start}, ${end}] of ${feature.slice(0, 64)}: frames count from 1`,
        );
      const inRange = known.filter((k) => k.frame >= start && k.frame <= end);
      let at = -1; // the last known frame at or before `frame`, walked forward with it
      for (let frame = start; frame <= end; frame++) {
        while (at + 1 < inRange.length && (inRange[at + 1] as { frame: number }).frame <= frame) at++;
        const before = inRange[at];
        if (!before) continue; // nothing known yet in this range
        const after = inRange[at + 1];
        const a = numbers(before.object) ?? [];
        const b = after ? (numbers(after.object) ?? a) : a;
        const r = after && before.frame !== frame ? (frame - before.frame) / (after.frame - before.frame) : 0;
        const v = a.map((x, i) => x + ((b[i] ?? x) - x) * r);
        const id = `${feature}@${frame}`;
        const shape =
          v.length === 4
            ? checkedBox(
                id,
                (v[1] as number) / height,
                (v[0] as number) / width,
                ((v[1] as number) + (v[3] as number)) / height,
                ((v[0] as number) + (v[2] as number)) / width,
              )
            : {
                point: {
                  x: Math.min(1, Math.max(0, (v[0] as number) / width)),
                  y: Math.min(1, Math.max(0, (v[1] as number) / height)),
                },
              };
        regions.push({
          id: id.slice(0, 255),
          ...shape,
          frame: clarifaiFrame(frame - 1, rate),
          trackId: feature.slice(0, 255),
          concepts,
        });
      }
    }
  }
  return regions;
}

/** The frames the export holds an object on, in order, with the object as it is there. */
function heldFrames(
  frames: Record<string, { objects?: Record<string, VideoObject> | null | undefined }>,
  feature: string,
): { frame: number; object: VideoObject }[] {
  return Object.entries(frames)
    .map(([n, f]) => ({ frame: Number(n), object: f.objects?.[feature] }))
    .filter(
      (k): k is { frame: number; object: VideoObject } => Number.isInteger(k.frame) && k.object !== undefined,
    )
    .sort((a, b) => a.frame - b.frame);
}

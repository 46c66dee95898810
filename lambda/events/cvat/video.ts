import * as z from "zod/mini";
import {
  AdapterError,
  idLike,
  opt,
  readShape,
  resolveInputId,
  idText as text,
} from "../contract/adapter-result.js";
import type { MappingConfig, ProjectMapping } from "../contract/mapping-config.js";
import { type Skipped, skipOrRefuse } from "../contract/skip.js";
import type { LabelingEvent, Region } from "../event-schema.js";
import { cvatTrackRules, type ElementTrack, skeletonElementsAt } from "../kinds/cvat-track-rules.js";
import { boundedFrames, clarifaiFrame, type Keyframe, sortedKeyframes } from "../kinds/video-frames.js";
import { cvatEvent, jobFields, jobMapping, labelNames } from "./event.js";
import { labelRef, regionOf, type Shape, shapeSchema } from "./shapes.js";

/**
 * A CVAT video job, as the puller queues it (format `cvat`, one body per job): the whole video is one Clarifai
 * input, so the job's annotations are one set on it, applied as a change (a re-completed job that lost a track
 * loses it in Clarifai too, and what the same pull already wrote is skipped on a redelivery):
 *
 * `{"cvat": "job-video", "job": {id, task_id, project_id, updated_date, assignee, start_frame, stop_frame},
 * "media": {name, width, height}, "labels": [{id, name}], "shapes": [...with frame], "tracks": [{id, label_id,
 * shapes: [...with frame]}]}`
 *
 * Tracks are expanded into one region per frame as CVAT's own `TrackManager.get_interpolated_shapes`
 * (cvat-ai/cvat `cvat/apps/dataset_manager/annotation.py`) does: shapes sorted by frame; between two keyframes
 * whose first is not `outside`, rectangles (and skeletons, not carried here) linear in their points and in their
 * rotation along the shorter arc (`find_angle_diff`), a one-point `points` linear, several points held
 * (`points_interpolation` copies the earlier shape); after the last keyframe that is not `outside`, its shape held
 * to the job's `stop_frame`; an `outside` keyframe ends the track there and is not shown. Polygons CVAT
 * interpolates by matching their outlines (`polyshape_interpolation`), reproduced in cvat-polyshape.ts (checked
 * equal to CVAT's own code on 400 random pairs of outlines). A skeleton track is shown on its own keyframes' frames,
 * each of its points a one-point track of its own (linear, `outside` ends it), in the mapping's `keypoints` order;
 * a frame where every point is outside is left out, as CVAT's `TrackManager.to_shapes` leaves it out.
 * Masks and polylines in tracks are refused by name. Frame `number` is CVAT's frame (from 0, in the task's video), `time` = number / the mapping's `frameRate`
 * (CVAT's API does not give the rate: refused by name without it). Tags on video frames are refused by name.
 */
type Json = Record<string, unknown>;

const frameShape = z.looseObject({ ...shapeSchema.shape, frame: z.int().check(z.gte(0), z.lte(2 ** 31)) });
const elementTrackSchema = z.looseObject({
  label_id: idLike,
  shapes: z.array(frameShape).check(z.maxLength(100_000)),
});
const trackSchema = z.looseObject({
  id: idLike,
  label_id: idLike,
  shapes: z.array(frameShape).check(z.minLength(1), z.maxLength(100_000)),
  /** A skeleton track's points, each a track of its own. */
  elements: opt(z.array(elementTrackSchema).check(z.maxLength(1_000))),
});
const bodySchema = z.looseObject({
  cvat: z.literal("job-video"),
  job: z.looseObject({
    ...jobFields,
    start_frame: z.int().check(z.gte(0)),
    stop_frame: z.int().check(z.gte(0)),
  }),
  media: z.looseObject({ name: opt(z.string()), width: opt(z.number()), height: opt(z.number()) }),
  labels: z.array(labelRef),
  shapes: opt(z.array(frameShape).check(z.maxLength(100_000))),
  tracks: opt(z.array(trackSchema).check(z.maxLength(10_000))),
  tags: opt(z.int().check(z.gte(0))),
});
const WHAT = "CVAT video job";

/** The video job's annotations as one event on the video input. Throws AdapterError for what it cannot map. */
export function cvatVideoEvent(payload: Json, config: MappingConfig): LabelingEvent {
  const body = readShape(bodySchema, payload, WHAT);
  const { job, media } = body;
  const ids = jobMapping(job, config);
  const { jobId, taskId, key, mapping } = ids;
  const annotationId = `job-${jobId}-video`;
  const inputId = resolveInputId(mapping.inputId ?? [{ from: "asset" }], {
    field: () => undefined,
    ...(media.name ? { assetUrl: media.name } : {}),
    vars: { taskId, annotationId, jobId, projectId: ids.projectId, frame: "" },
  });
  if (!inputId)
    throw new AdapterError(
      "missing-input-id",
      `no Clarifai input id for CVAT video job ${jobId}: the video has no file name; set an inputId template in the mapping (e.g. "cvat-video-{taskId}")`,
    );
  const rate = mapping.frameRate;
  if (!rate)
    throw new AdapterError(
      "frame-rate-unknown",
      `${WHAT} ${jobId}: CVAT does not say the video's frame rate: set frameRate in the mapping for ${key}`,
    );
  const { width, height } = media;
  const size = width && height && width > 0 && height > 0 ? { width, height } : mapping.imageSize;
  const nameOf = labelNames(body.labels, WHAT);
  const skipped: Skipped = [];
  if ((body.tags ?? 0) > 0)
    skipOrRefuse(
      mapping,
      skipped,
      `${body.tags} frame tag(s)`,
      `${WHAT} ${jobId} has ${body.tags} tag(s) on frames: frame-level tags on a video are not carried`,
    );

  const regions: Region[] = [];
  for (const [i, shape] of (body.shapes ?? []).entries()) {
    const id = `shape-${text(shape.id) || `#${i}`}`;
    for (const region of regionOf({ ...shape, id }, i, size, mapping, skipped, nameOf))
      regions.push({ ...region, frame: clarifaiFrame(shape.frame, rate) });
  }
  for (const track of body.tracks ?? [])
    regions.push(
      ...trackRegions(track, job.stop_frame, size, mapping, skipped, nameOf, rate, regions.length),
    );
  return cvatEvent({
    job,
    what: WHAT,
    ids,
    mapping,
    inputId,
    annotationId,
    eventPart: "video",
    assetRef: media.name,
    regions,
    skipped,
  });
}

/** One track as a region per frame CVAT shows it on (the mapping's `videoFrames` may thin them). */
function trackRegions(
  track: z.infer<typeof trackSchema>,
  stopFrame: number,
  size: { width: number; height: number } | undefined,
  mapping: ProjectMapping,
  skipped: Skipped,
  nameOf: (labelId: string | number, what: string) => string,
  rate: number,
  already: number,
): Region[] {
  const id = text(track.id);
  const what = `${WHAT}: track ${id.slice(0, 32)}`;
  const types = new Set(track.shapes.map((s) => s.type));
  const type = track.shapes[0]?.type ?? "";
  const label = nameOf(track.label_id, `track ${id}`);
  const rules = cvatTrackRules(type, track.shapes, stopFrame);
  if (types.size > 1 || !rules) {
    skipOrRefuse(
      mapping,
      skipped,
      `${type.slice(0, 32)} track "${label.slice(0, 64)}"`,
      `${what}: a ${types.size > 1 ? "track of mixed shapes" : `${type.slice(0, 32)} track`} ("${label.slice(0, 64)}") is not carried (rectangle, points, polygon and skeleton tracks are)`,
    );
    return [];
  }
  const keys: Keyframe[] = sortedKeyframes(
    track.shapes.map((s) => ({
      frame: s.frame,
      on: !s.outside,
      values: s.points ?? [],
      rotation: s.rotation ?? 0,
    })),
    what,
  ).filter((k) => k.frame <= stopFrame);
  const trackId = `cvat-track-${id}`;
  // A skeleton's points: each element is a track of one point, read on the frames the skeleton is shown on.
  const elements: ElementTrack[] = (track.elements ?? []).map((e) => ({
    label_id: e.label_id,
    keys: sortedKeyframes(
      e.shapes.map((s) => ({ frame: s.frame, on: !s.outside, values: s.points ?? [], rotation: 0 })),
      `${what} element`,
    ),
  }));
  return boundedFrames(
    keys,
    rules,
    mapping.videoFrames,
    already,
    what,
    mapping.maxAnnotationsPerEvent,
  ).flatMap(({ frame, values, rotation }) => {
    const points = type === "skeleton" ? skeletonElementsAt(elements, frame, stopFrame) : [];
    if (!points) return []; // every point of the skeleton outside: CVAT does not show it
    const shape: Shape = {
      id: `track-${id}@${frame}`,
      type,
      label_id: track.label_id,
      points: [...values],
      rotation,
      ...(type === "skeleton" ? { elements: points } : {}),
    };
    return regionOf(shape, 0, size, mapping, skipped, nameOf).map((region, k, all) => ({
      ...region,
      id: all.length > 1 ? `track-${id}@${frame}#${k}` : `track-${id}@${frame}`,
      frame: clarifaiFrame(frame, rate),
      trackId,
    }));
  });
}

import * as z from "zod/mini";
import type { Adapter } from "../contract/adapter.js";
import {
  AdapterError,
  type AdapterResult,
  adapt,
  idLike,
  opt,
  readShape,
  resolveInputId,
  idText as text,
} from "../contract/adapter-result.js";
import { isCvatVideo } from "../contract/detect.js";
import type { MappingConfig } from "../contract/mapping-config.js";
import { type Skipped, skipOrRefuse } from "../contract/skip.js";
import { conceptsFor } from "../kinds/concepts.js";
import { cvatEvent, jobFields, jobMapping, labelNames } from "./event.js";
import { imageSize, labelRef, regionOf, shapeSchema } from "./shapes.js";
import { cvatVideoEvent } from "./video.js";

/**
 * One frame of a CVAT job, as the puller queues it (format `cvat`): CVAT's webhooks say only that a job changed,
 * so the puller reads the job (`GET /api/jobs/{id}`), its labels, its frames' metadata and its annotations
 * (`GET /api/jobs/{id}/annotations`) and queues one body per frame:
 *
 * `{"cvat": "job-frame", "job": {id, task_id, project_id, updated_date, assignee}, "frame": {number, name, width,
 * height}, "labels": [{id, name}], "shapes": [...], "tags": [...], "tracks": n}`
 *
 * Shapes and tags are CVAT's own objects, unchanged. Each body is the frame's whole set as it is now, applied as a
 * change (looked up, replaced, ordered by the job's `updated_date`): a re-completed job whose frame lost a box loses
 * it in Clarifai too. Rectangles (`points: [xtl, ytl, xbr, ybr]` in pixels, `rotation` in degrees clockwise
 * around the centre) and polygons (flat `[x1, y1, x2, y2, ...]`) become regions, `points` a point region per
 * point, masks a PNG mask (`cvatMask`), skeletons keypoints in the mapping's order (`cvatSkeleton`); tags become
 * concepts; polylines, ellipses, cuboids have no Clarifai region (refused by name, or skipped per mapping). The
 * puller expands tracks over an image sequence into each frame's shapes (lambda/pull/cvat-job.ts); a frame that
 * still counts `tracks` has one of a type that is not interpolated here, refused by name. The mapping key is `cvat:task:<task id>`, else `cvat:<project id>`.
 */
type Json = Record<string, unknown>;

const tagSchema = z.looseObject({ id: opt(idLike), label_id: idLike });
const bodySchema = z.looseObject({
  cvat: z.literal("job-frame"),
  job: z.looseObject({ ...jobFields }),
  frame: z.looseObject({
    number: z.number().check(z.int(), z.nonnegative()),
    name: opt(z.string()),
    width: opt(z.number()),
    height: opt(z.number()),
  }),
  labels: z.array(labelRef),
  shapes: opt(z.array(shapeSchema)),
  tags: opt(z.array(tagSchema)),
  tracks: opt(z.number().check(z.int(), z.nonnegative())),
});
const WHAT = "CVAT job frame";

export function fromCvat(payload: Json, config: MappingConfig): AdapterResult {
  if (isCvatVideo(payload)) return adapt(() => [cvatVideoEvent(payload, config)]);
  return adapt(() => {
    const body = readShape(bodySchema, payload, WHAT);
    const { job, frame } = body;
    const ids = jobMapping(job, config);
    const { jobId, taskId, mapping } = ids;
    const annotationId = `job-${jobId}-frame-${frame.number}`;
    const inputId = resolveInputId(mapping.inputId ?? DEFAULT_INPUT_RULES, {
      field: () => undefined,
      ...(frame.name ? { assetUrl: frame.name } : {}),
      vars: { taskId, annotationId, projectId: ids.projectId, jobId, frame: String(frame.number) },
    });
    if (!inputId)
      throw new AdapterError(
        "missing-input-id",
        `no Clarifai input id for CVAT job ${jobId} frame ${frame.number}: the frame has no file name; set an inputId template in the mapping (e.g. "cvat-{taskId}-{frame}")`,
      );
    const nameOf = labelNames(body.labels, WHAT);
    const skipped: Skipped = [];
    const size = imageSize(frame, mapping);
    const regions = (body.shapes ?? []).flatMap((shape, i) =>
      regionOf(shape, i, size, mapping, skipped, nameOf),
    );
    if ((body.tracks ?? 0) > 0)
      skipOrRefuse(
        mapping,
        skipped,
        `${body.tracks} tracked object(s)`,
        `CVAT job ${jobId} frame ${frame.number} has ${body.tracks} tracked object(s): interpolated tracks are not read (annotate images as shapes)`,
      );
    const tagged = (body.tags ?? []).map((t, i) => nameOf(t.label_id, `tag ${text(t.id) || `#${i}`}`));
    const concepts = conceptsFor(tagged, mapping);
    const event = cvatEvent({
      job,
      what: WHAT,
      ids,
      mapping,
      inputId,
      annotationId,
      eventPart: String(frame.number),
      assetRef: frame.name,
      concepts,
      regions,
      skipped,
    });
    return [event];
  });
}

/** The frame's file name (without folders and extension) is the input id, unless the mapping says otherwise. */
const DEFAULT_INPUT_RULES = [{ from: "asset" } as const];

/** This adapter as the registry calls it (registry.ts). */
export const cvatAdapter: Adapter = (payload, mapping) => fromCvat(payload, mapping);

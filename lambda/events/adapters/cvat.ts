import * as z from "zod/mini";
import type { LabelingEvent, Region } from "../event-schema.js";
import {
  AdapterError,
  type AdapterResult,
  adapt,
  checkedBox,
  checkedPolygon,
  conceptsFor,
  idLike,
  opt,
  projectMapping,
  readShape,
  resolveInputId,
  rotatedBoxCorners,
  rotatedRegion,
  idText as text,
} from "./adapter-result.js";
import type { MappingConfig, ProjectMapping } from "./mapping-config.js";
import { type Skipped, skipOrRefuse } from "./skip.js";

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
 * around the centre) and polygons (flat `[x1, y1, x2, y2, ...]`) become regions; tags become concepts; polylines,
 * points, ellipses, cuboids, masks, skeletons and tracked objects have no Clarifai region (refused by name, or
 * skipped per mapping). The mapping key is `cvat:task:<task id>`, else `cvat:<project id>`.
 */
type Json = Record<string, unknown>;

const labelRef = z.looseObject({ id: idLike, name: z.string() });
const shapeSchema = z.looseObject({
  id: opt(idLike),
  type: z.string(),
  label_id: idLike,
  points: opt(z.array(z.number())),
  rotation: opt(z.number()),
  outside: opt(z.boolean()),
});
type Shape = z.infer<typeof shapeSchema>;
const tagSchema = z.looseObject({ id: opt(idLike), label_id: idLike });
const bodySchema = z.looseObject({
  cvat: z.literal("job-frame"),
  job: z.looseObject({
    id: idLike,
    task_id: idLike,
    project_id: opt(idLike),
    updated_date: z.string(),
    assignee: opt(z.looseObject({ id: opt(idLike), username: opt(z.string()), email: opt(z.string()) })),
  }),
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

/** Shapes with a Clarifai region. */
const REGION_TYPES = new Set(["rectangle", "polygon"]);

/** Whether a body is a frame the puller queued from a CVAT job. */
export function isCvatFrame(json: Json): boolean {
  return json.cvat === "job-frame";
}

export function fromCvat(payload: Json, config: MappingConfig): AdapterResult {
  return adapt(() => {
    const body = readShape(bodySchema, payload, WHAT);
    const { job, frame } = body;
    const jobId = text(job.id);
    const taskId = text(job.task_id);
    const keys = [`cvat:task:${taskId}`, ...(job.project_id != null ? [`cvat:${text(job.project_id)}`] : [])];
    const key = keys.find((k) => config.projects[k]) ?? keys[keys.length - 1] ?? `cvat:task:${taskId}`;
    const mapping = projectMapping(config, key);
    const annotationId = `job-${jobId}-frame-${frame.number}`;
    const inputId = resolveInputId(mapping.inputId ?? DEFAULT_INPUT_RULES, {
      field: () => undefined,
      ...(frame.name ? { assetUrl: frame.name } : {}),
      vars: {
        taskId,
        annotationId,
        projectId: job.project_id != null ? text(job.project_id) : "",
        jobId,
        frame: String(frame.number),
      },
    });
    if (!inputId)
      throw new AdapterError(
        "missing-input-id",
        `no Clarifai input id for CVAT job ${jobId} frame ${frame.number}: the frame has no file name; set an inputId template in the mapping (e.g. "cvat-{taskId}-{frame}")`,
      );
    if (Number.isNaN(Date.parse(job.updated_date)))
      throw new AdapterError("invalid-upstream", `${WHAT}: job.updated_date is not a time`);
    const labelName = new Map(body.labels.map((l) => [text(l.id), l.name]));
    const nameOf = (labelId: string | number, what: string) => {
      const name = labelName.get(text(labelId));
      if (name === undefined)
        throw new AdapterError(
          "invalid-upstream",
          `${WHAT}: ${what} has label_id ${text(labelId).slice(0, 32)}, which is not among the job's labels`,
        );
      return name;
    };

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
    const assignee = job.assignee;
    const labelerId = assignee ? text(assignee.id) || text(assignee.username) : "";
    const occurredAt = new Date(job.updated_date).toISOString();
    const event: LabelingEvent = {
      specVersion: "1",
      eventId: `cvat:${jobId}:${frame.number}:${job.updated_date}`.slice(0, 512),
      type: "annotation.updated",
      occurredAt,
      source: "cvat",
      taskId: mapping.taskId,
      inputId,
      ...(mapping.app ? { app: mapping.app } : {}),
      ...(labelerId
        ? {
            labeler: {
              id: labelerId.slice(0, 255),
              ...(assignee?.email ? { email: assignee.email.slice(0, 320) } : {}),
              ...(assignee?.username ? { name: assignee.username.slice(0, 255) } : {}),
            },
          }
        : {}),
      ...(concepts.length ? { concepts } : {}),
      ...(regions.length ? { regions } : {}),
      upstream: {
        system: "cvat",
        projectId: key.slice("cvat:".length).slice(0, 255),
        taskId: taskId.slice(0, 255),
        annotationId,
        ...(frame.name ? { assetRef: frame.name.slice(0, 2048) } : {}),
        revision: job.updated_date.slice(0, 64),
        timeSource: "upstream",
      },
      ...(skipped.length ? { metadata: { bridge_skipped: skipped } } : {}),
    };
    return [event];
  });
}

/** The frame's file name (without folders and extension) is the input id, unless the mapping says otherwise. */
const DEFAULT_INPUT_RULES = [{ from: "asset" } as const];

function imageSize(
  frame: { width?: number | null; height?: number | null },
  mapping: ProjectMapping,
): { width: number; height: number } | undefined {
  const { width, height } = frame;
  return width && height && width > 0 && height > 0 ? { width, height } : mapping.imageSize;
}

function regionOf(
  shape: Shape,
  index: number,
  size: { width: number; height: number } | undefined,
  mapping: ProjectMapping,
  skipped: Skipped,
  nameOf: (labelId: string | number, what: string) => string,
): Region[] {
  const id = text(shape.id) || `#${index}`;
  if (shape.outside) return []; // not in this frame (a track's end marker)
  const label = nameOf(shape.label_id, `shape ${id}`);
  if (!REGION_TYPES.has(shape.type)) {
    skipOrRefuse(
      mapping,
      skipped,
      `${shape.type.slice(0, 32)} "${label.slice(0, 64)}"`,
      `CVAT ${shape.type.slice(0, 32)} "${label.slice(0, 64)}" has no Clarifai region equivalent`,
    );
    return [];
  }
  if (!size)
    throw new AdapterError(
      "missing-image-size",
      `CVAT ${shape.type} ${id}: the frame's size is needed (the job's frame metadata had none; set imageSize in the mapping)`,
    );
  const concepts = conceptsFor([label], { ...mapping, negatives: [] });
  const points = shape.points ?? [];
  const xy: { x: number; y: number }[] = [];
  for (let i = 0; i + 1 < points.length; i += 2)
    xy.push({ x: (points[i] as number) / size.width, y: (points[i + 1] as number) / size.height });
  if (shape.type === "polygon") return [{ id, ...checkedPolygon(id, xy), concepts }];
  const [a, b] = xy;
  if (!a || !b) throw new AdapterError("invalid-upstream", `${WHAT}: rectangle ${id} needs 4 numbers`);
  const degrees = ((shape.rotation ?? 0) % 360) + 0;
  if (Math.abs(degrees) < 1e-9) return [{ id, ...checkedBox(id, a.y, a.x, b.y, b.x), concepts }];
  // Rotated around the centre, clockwise on screen, in pixels: fractions would skew a non-square image.
  const [xtl, ytl, xbr, ybr] = points as [number, number, number, number];
  const corners = rotatedBoxCorners(
    (xtl + xbr) / 2,
    (ytl + ybr) / 2,
    xbr - xtl,
    ybr - ytl,
    (degrees * Math.PI) / 180,
    size,
  );
  return [{ id, ...rotatedRegion(id, corners, mapping), concepts }];
}

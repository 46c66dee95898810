import * as z from "zod/mini";
import type { Adapter } from "../contract/adapter.js";
import {
  AdapterError,
  type AdapterResult,
  adapt,
  idLike,
  opt,
  projectMapping,
  readShape,
  resolveInputId,
  idText as text,
} from "../contract/adapter-result.js";
import type { MappingConfig, ProjectMapping } from "../contract/mapping-config.js";
import { type MaskFiles, NO_MASK_FILES } from "../contract/mask-files.js";
import { type Skipped, skipOrRefuse } from "../contract/skip.js";
import type { LabelingEvent, Region } from "../event-schema.js";
import { conceptsFor } from "../kinds/concepts.js";
import { checkedBox, checkedPolygon, rotatedBoxCorners, rotatedRegion } from "../kinds/geometry.js";
import { scaleSegmentRegions } from "./segmentation.js";

/**
 * Scale AI task callbacks (../shared/upstream-events.md section 5, 9.4) to canonical events. One callback per
 * completed task (`{"task": {...}, "response": {...}, "task_id": "..."}`), resent by Scale until it gets a 2xx,
 * and sent again after an audit fix: so every callback is the task's whole annotation set as it is now, applied as
 * a change (looked up, replaced, ordered by the task's time), never blindly created.
 *
 * `imageannotation` (and the older `annotation`/`polygonannotation`): boxes in pixels (rotated boxes by their
 * `vertices`, or by `rotation` radians clockwise around the centre), polygons by `vertices`, points by `x`, `y`
 * (a point region); lines, cuboids and ellipses have no Clarifai region (refused by name, or skipped per mapping). `categorization`:
 * `response.category` (or `categories`) as concepts. `segmentannotation`: a mask per label (scale/segmentation.ts). Image size from `task.metadata` (`width`/`height`,
 * `image_width`/`image_height`) or the mapping's `imageSize`; never guessed. A canceled task deletes the set.
 */
type Json = Record<string, unknown>;

const vertexSchema = z.looseObject({ x: z.number(), y: z.number() });
const annotationSchema = z.looseObject({
  uuid: opt(idLike),
  type: opt(z.string()),
  label: opt(idLike),
  left: opt(z.number()),
  top: opt(z.number()),
  width: opt(z.number()),
  height: opt(z.number()),
  rotation: opt(z.number()),
  vertices: opt(z.array(vertexSchema)),
  /** A `point` annotation's position, in pixels. */
  x: opt(z.number()),
  y: opt(z.number()),
});
type ScaleAnnotation = z.infer<typeof annotationSchema>;
const responseSchema = z.looseObject({
  annotations: opt(z.array(annotationSchema)),
  category: opt(idLike),
  categories: opt(z.array(idLike)),
});
const taskSchema = z.looseObject({
  task_id: opt(idLike),
  type: opt(z.string()),
  status: opt(z.string()),
  completed_at: opt(z.string()),
  updated_at: opt(z.string()),
  created_at: opt(z.string()),
  project: opt(idLike),
  batch: opt(idLike),
  metadata: opt(z.record(z.string(), z.unknown())),
  params: opt(z.looseObject({ attachment: opt(z.string()) })),
  response: opt(z.unknown()),
});
const callbackSchema = z.looseObject({
  task_id: opt(idLike),
  task: taskSchema,
  response: opt(z.unknown()),
});
const WHAT = "Scale callback";

/** Task types whose response is geometry; `categorization` is concepts. */
const GEOMETRY_TYPES = new Set(["imageannotation", "annotation", "polygonannotation"]);
/** Scale geometries without a Clarifai region. */
const NO_REGION = new Set(["line", "cuboid", "ellipse"]);

export function fromScale(
  payload: Json,
  config: MappingConfig,
  masks: MaskFiles = NO_MASK_FILES,
): AdapterResult {
  return adapt(() => {
    const body = readShape(callbackSchema, payload, WHAT);
    const task = body.task;
    const taskId = text(task.task_id ?? body.task_id);
    if (!taskId) throw new AdapterError("invalid-upstream", `${WHAT}: task.task_id is required`);
    const status = task.status ?? "completed";
    // Pending tasks and creation errors carry no annotations: acknowledged, nothing to send.
    if (status !== "completed" && status !== "canceled") return [];
    const projectKeys = [task.project, task.batch]
      .map((k) => text(k))
      .filter(Boolean)
      .map((k) => `scale:${k}`);
    const key = projectKeys.find((k) => config.projects[k]) ?? projectKeys[0] ?? "scale:";
    const mapping = projectMapping(config, key);
    const metadata: Json = task.metadata ?? {};
    const attachment = task.params?.attachment ?? undefined;
    const inputId = resolveInputId(mapping.inputId ?? DEFAULT_INPUT_RULES, {
      field: (name) => metadata[name],
      ...(attachment ? { assetUrl: attachment } : {}),
      vars: { taskId, annotationId: taskId, projectId: key.slice("scale:".length) },
    });
    if (!inputId)
      throw new AdapterError(
        "missing-input-id",
        `no Clarifai input id for Scale task ${taskId}: set task.metadata.clarifai_input_id, or an inputId rule in the mapping`,
      );
    const occurredAt = task.updated_at ?? task.completed_at ?? task.created_at;
    if (!occurredAt || Number.isNaN(Date.parse(occurredAt)))
      throw new AdapterError("invalid-upstream", `${WHAT}: task ${taskId} has no completed_at time`);
    const upstream = {
      system: "scale",
      projectId: key.slice("scale:".length).slice(0, 255),
      taskId: taskId.slice(0, 255),
      annotationId: taskId.slice(0, 255),
      ...(attachment ? { assetRef: attachment.slice(0, 2048) } : {}),
      revision: occurredAt.slice(0, 64),
      timeSource: "upstream" as const,
    };
    const base = {
      specVersion: "1" as const,
      occurredAt: new Date(occurredAt).toISOString(),
      source: "scale",
      taskId: mapping.taskId,
      inputId,
      ...(mapping.app ? { app: mapping.app } : {}),
      upstream,
    };
    if (status === "canceled")
      return [
        {
          ...base,
          eventId: `scale:${taskId}:canceled:${occurredAt}`.slice(0, 512),
          type: "annotation.deleted" as const,
        },
      ];

    const raw = body.response ?? task.response ?? {};
    const skipped: Skipped = [];
    let concepts: NonNullable<LabelingEvent["concepts"]> = [];
    let regions: Region[] = [];
    const response =
      task.type === "segmentannotation" ? {} : readShape(responseSchema, raw, WHAT, "response");
    const type = task.type ?? (response.annotations ? "imageannotation" : "categorization");
    if (type === "segmentannotation") {
      regions = scaleSegmentRegions(raw, mapping, key, masks, imageSize(metadata, mapping));
      if (mapping.negatives?.length) concepts = conceptsFor([], mapping);
    } else if (type === "categorization") {
      const chosen = [
        ...(response.categories ?? []),
        ...(response.category != null ? [response.category] : []),
      ];
      concepts = conceptsFor(chosen.map(String), mapping);
    } else if (GEOMETRY_TYPES.has(type)) {
      const size = imageSize(metadata, mapping);
      regions = (response.annotations ?? []).flatMap((a, i) => regionOf(a, i, size, mapping, skipped));
      if (mapping.negatives?.length) concepts = conceptsFor([], mapping);
    } else {
      throw new AdapterError(
        "unsupported-result-type",
        `Scale task type ${JSON.stringify(type.slice(0, 64))} is not supported (imageannotation, segmentannotation and categorization are)`,
      );
    }
    // Every callback is the whole set as it is now: an audit fix that removed everything empties it.
    return [
      {
        ...base,
        eventId: `scale:${taskId}:${occurredAt}`.slice(0, 512),
        type: "annotation.updated" as const,
        ...(concepts.length ? { concepts } : {}),
        ...(regions.length ? { regions } : {}),
        ...(skipped.length ? { metadata: { bridge_skipped: skipped } } : {}),
      },
    ];
  });
}

/** The task's metadata names the Clarifai input (recommended), else the attachment URL's file name. */
const DEFAULT_INPUT_RULES = [
  { from: "field", field: "clarifai_input_id" } as const,
  { from: "field", field: "clarifai-input-id" } as const,
  { from: "asset" } as const,
];

function imageSize(metadata: Json, mapping: ProjectMapping): { width: number; height: number } | undefined {
  const num = (v: unknown) =>
    typeof v === "number" && v > 0 ? v : typeof v === "string" && Number(v) > 0 ? Number(v) : undefined;
  const width = num(metadata.width) ?? num(metadata.image_width);
  const height = num(metadata.height) ?? num(metadata.image_height);
  return width && height ? { width, height } : mapping.imageSize;
}

function regionOf(
  a: ScaleAnnotation,
  index: number,
  size: { width: number; height: number } | undefined,
  mapping: ProjectMapping,
  skipped: Skipped,
): Region[] {
  const id = text(a.uuid) || `#${index}`;
  const label = text(a.label);
  // Older task types (`annotation`, `polygonannotation`) leave `type` out: the geometry says which it is.
  const kind = a.type ?? (a.left == null && (a.vertices?.length ?? 0) >= 3 ? "polygon" : "box");
  if (NO_REGION.has(kind) || (kind !== "box" && kind !== "polygon" && kind !== "point")) {
    skipOrRefuse(
      mapping,
      skipped,
      `${kind} "${label.slice(0, 64)}"`,
      `Scale ${kind} "${label.slice(0, 64)}" has no Clarifai region equivalent`,
    );
    return [];
  }
  if (!size)
    throw new AdapterError(
      "missing-image-size",
      `Scale ${kind} ${id}: the image size is needed (set width and height in task.metadata, or imageSize in the mapping)`,
    );
  const concepts = conceptsFor(label ? [label] : [], { ...mapping, negatives: [] });
  if (concepts.length === 0)
    throw new AdapterError("invalid-upstream", `${WHAT}: ${kind} ${id} has no label`);
  if (kind === "point") {
    if (a.x == null || a.y == null)
      throw new AdapterError("invalid-upstream", `${WHAT}: point ${id} has no x or y`);
    if (a.x < 0 || a.y < 0 || a.x > size.width || a.y > size.height)
      throw new AdapterError("degenerate-region", `region ${id}: the point is outside the image`);
    return [{ id, point: { x: a.x / size.width, y: a.y / size.height }, concepts }];
  }
  const points = (a.vertices ?? []).map((v) => ({ x: v.x / size.width, y: v.y / size.height }));
  if (kind === "polygon") return [{ id, ...checkedPolygon(id, points), concepts }];
  // A rotated box: its vertices (or the box rotated around its centre) as a polygon, or the box enclosing them.
  // An unrotated box is its left/top/width/height, even when Scale also lists its corners.
  const hasBox = a.left != null && a.top != null && a.width != null && a.height != null;
  const rotated = (a.rotation ?? 0) !== 0 || (!hasBox && points.length >= 3);
  if (rotated) {
    const corners = points.length >= 3 ? points : rotatedCorners(a, size);
    if (!corners) throw new AdapterError("invalid-upstream", `${WHAT}: rotated box ${id} has no geometry`);
    return [{ id, ...rotatedRegion(id, corners, mapping), concepts }];
  }
  const { left, top, width, height } = a;
  if (left == null || top == null || width == null || height == null)
    throw new AdapterError("invalid-upstream", `${WHAT}: box ${id} needs left, top, width and height`);
  return [
    {
      id,
      ...checkedBox(
        id,
        top / size.height,
        left / size.width,
        (top + height) / size.height,
        (left + width) / size.width,
      ),
      concepts,
    },
  ];
}

/** The corners of a box rotated `rotation` radians clockwise around its centre, in fractions of the image. */
function rotatedCorners(a: ScaleAnnotation, size: { width: number; height: number }) {
  const { left, top, width, height } = a;
  if (left == null || top == null || width == null || height == null) return undefined;
  return rotatedBoxCorners(left + width / 2, top + height / 2, width, height, a.rotation ?? 0, size);
}

/** This adapter as the registry calls it (registry.ts). */
export const scaleAdapter: Adapter = (payload, mapping, context) =>
  fromScale(payload, mapping, context.masks);

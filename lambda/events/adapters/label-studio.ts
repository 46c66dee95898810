import type { LabelingEvent, Region } from "../event-schema.js";
import {
  AdapterError,
  type AdapterResult,
  adapt,
  checkedBox,
  checkedPolygon,
  clamp01,
  conceptsFor,
  projectMapping,
  resolveInputId,
} from "./adapter-result.js";
import type { MappingConfig, ProjectMapping } from "./mapping-config.js";

/**
 * Label Studio webhooks (../shared/upstream-events.md section 1) to canonical events: choices become concepts,
 * rectangles and polygons become regions (percent of the image -> fractions; rotation applied in pixels).
 */
export const LABEL_STUDIO_ACTIONS = new Set([
  "ANNOTATION_CREATED",
  "ANNOTATIONS_CREATED",
  "ANNOTATION_UPDATED",
  "ANNOTATIONS_DELETED",
  "ANNOTATION_DELETED",
  "TASKS_CREATED",
  "TASKS_DELETED",
  "PROJECT_CREATED",
  "PROJECT_UPDATED",
  "PROJECT_DELETED",
  "LABEL_LINK_CREATED",
  "LABEL_LINK_UPDATED",
  "LABEL_LINK_DELETED",
]);

type Json = Record<string, unknown>;
interface ResultItem {
  id?: string;
  from_name?: string;
  type?: string;
  value?: Json;
  original_width?: number;
  original_height?: number;
  image_rotation?: number;
}

/** Annotation-level extras with no Clarifai equivalent: dropped, never a reason to dead-letter. */
const IGNORED_TYPES = new Set(["textarea", "rating", "number", "datetime", "relation", "taxonomy"]);
const DEFAULT_INPUT_RULES = [
  { from: "field", field: "clarifai_input_id" } as const,
  { from: "asset" } as const,
];

export function fromLabelStudio(payload: Json, config: MappingConfig, receivedAt: Date): AdapterResult {
  return adapt(() => labelStudioEvents(payload, config, receivedAt));
}

function labelStudioEvents(payload: Json, config: MappingConfig, receivedAt: Date): LabelingEvent[] {
  const action = String(payload.action ?? "");
  if (!LABEL_STUDIO_ACTIONS.has(action))
    throw new AdapterError("unsupported-format", `unknown Label Studio action ${JSON.stringify(action)}`);
  if (!action.startsWith("ANNOTATION")) return []; // tasks, projects, links: not labeling events
  if (action.endsWith("DELETED")) return deletes(payload, config, receivedAt);

  const annotations = Array.isArray(payload.annotation)
    ? (payload.annotation as Json[])
    : payload.annotation
      ? [payload.annotation as Json]
      : [];
  if (annotations.length === 0) {
    throw new AdapterError(
      "label-studio-no-payload",
      'the webhook carries no annotation: turn on "Send payload" in its Label Studio settings',
    );
  }
  const tasks = Array.isArray(payload.task) ? (payload.task as Json[]) : [payload.task as Json | undefined];
  const events: LabelingEvent[] = [];
  for (const [i, annotation] of annotations.entries()) {
    const made = toEvent(
      action,
      annotation,
      tasks[i] ?? (tasks.length === 1 ? tasks[0] : undefined),
      payload.project as Json | undefined,
      config,
      receivedAt,
    );
    if (made) events.push(made);
  }
  return events;
}

function toEvent(
  action: string,
  annotation: Json,
  task: Json | undefined,
  project: Json | undefined,
  config: MappingConfig,
  receivedAt: Date,
): LabelingEvent | undefined {
  const projectId = String(project?.id ?? annotation.project ?? task?.project ?? "");
  const mapping = projectMapping(config, `label-studio:${projectId}`);
  const updated = action === "ANNOTATION_UPDATED";
  if (annotation.was_cancelled === true && !updated) return undefined; // a skipped task: acknowledged, nothing to send
  const annotationId = String(annotation.id ?? "");
  const taskId = String(annotation.task ?? task?.id ?? "");
  const data = (task?.data ?? {}) as Json;
  const assetUrl = typeof data.image === "string" ? data.image : undefined;
  const inputId = resolveInputId(mapping.inputId ?? DEFAULT_INPUT_RULES, {
    field: (name) => data[name],
    ...(assetUrl ? { assetUrl } : {}),
    vars: { taskId, annotationId, projectId },
  });
  if (!inputId)
    throw new AdapterError(
      "missing-input-id",
      `no Clarifai input id for Label Studio task ${taskId}: set task.data.clarifai_input_id, or an inputId rule in the mapping`,
    );

  const revision = String(annotation.updated_at ?? annotation.created_at ?? "");
  const kind = updated ? (annotation.was_cancelled === true ? "deleted" : "updated") : "created";
  const result = (annotation.result ?? []) as ResultItem[];
  // An update whose result is empty means the labeler removed everything (upstream-events.md 7.6): no negatives.
  const content =
    kind === "deleted" || (kind === "updated" && result.length === 0)
      ? { concepts: [], regions: [] }
      : contentOf(result, mapping);
  if (kind === "created" && content.concepts.length + content.regions.length === 0) return undefined; // empty: nothing to send
  const event: LabelingEvent = {
    specVersion: "1",
    eventId: `label-studio:${projectId}:${annotationId}:${kind}:${revision || receivedAt.toISOString()}`,
    type: `annotation.${kind}`,
    occurredAt: revision || receivedAt.toISOString(),
    source: "label-studio",
    taskId: mapping.taskId,
    inputId,
    ...(mapping.app ? { app: mapping.app } : {}),
    ...(annotation.completed_by !== undefined ? { labeler: { id: String(annotation.completed_by) } } : {}),
    ...(kind === "deleted" ? {} : content.concepts.length ? { concepts: content.concepts } : {}),
    ...(kind === "deleted" ? {} : content.regions.length ? { regions: content.regions } : {}),
    upstream: {
      system: "label-studio",
      projectId,
      taskId,
      annotationId,
      ...(assetUrl ? { assetRef: assetUrl.slice(0, 2048) } : {}),
      ...(revision ? { revision: revision.slice(0, 64) } : {}),
      timeSource: revision ? "upstream" : "received",
    },
    ...(annotation.ground_truth !== undefined ? { metadata: { ground_truth: annotation.ground_truth } } : {}),
  };
  return event;
}

function deletes(payload: Json, config: MappingConfig, receivedAt: Date): LabelingEvent[] {
  const projectId = String((payload.project as Json | undefined)?.id ?? "");
  const mapping = projectMapping(config, `label-studio:${projectId}`);
  const ids = ((payload.annotations ?? []) as Json[]).map((a) => String(a.id ?? "")).filter(Boolean);
  return ids.map((annotationId) => ({
    specVersion: "1" as const,
    eventId: `label-studio:${projectId}:${annotationId}:deleted`,
    type: "annotation.deleted" as const,
    occurredAt: receivedAt.toISOString(),
    source: "label-studio",
    taskId: mapping.taskId,
    upstream: { system: "label-studio", projectId, annotationId, timeSource: "received" as const },
  }));
}

/** Image-level concepts and regions from a result list; per-region items share their region's `id`. */
function contentOf(
  result: readonly ResultItem[],
  mapping: ProjectMapping,
): { concepts: NonNullable<LabelingEvent["concepts"]>; regions: Region[] } {
  const geometry = new Map<string, ResultItem>();
  const labelsById = new Map<string, string[]>();
  const imageChoices: string[] = [];
  for (const item of result) {
    const type = item.type ?? "";
    const value = item.value ?? {};
    const key = item.id ?? `#${geometry.size}`;
    if (
      type === "rectanglelabels" ||
      type === "polygonlabels" ||
      type === "rectangle" ||
      type === "polygon"
    ) {
      geometry.set(key, item);
      const labels = (value.rectanglelabels ?? value.polygonlabels ?? []) as string[];
      labelsById.set(key, [...(labelsById.get(key) ?? []), ...labels]);
    } else if (type === "labels") {
      labelsById.set(key, [...(labelsById.get(key) ?? []), ...((value.labels ?? []) as string[])]);
    } else if (type === "choices") {
      // Choices that share a region's id classify that region; the others classify the image.
      if (item.id && result.some((r) => r.id === item.id && r !== item && r.type !== "choices")) {
        labelsById.set(key, [...(labelsById.get(key) ?? []), ...((value.choices ?? []) as string[])]);
      } else imageChoices.push(...((value.choices ?? []) as string[]));
    } else if (!IGNORED_TYPES.has(type)) {
      throw new AdapterError(
        "unsupported-result-type",
        `result type ${JSON.stringify(type)} of "${item.from_name ?? "?"}" has no Clarifai equivalent`,
      );
    }
  }
  const regions: Region[] = [];
  for (const [key, item] of geometry) {
    const labels = labelsById.get(key) ?? [];
    if (labels.length === 0) continue; // a shape with no label says nothing Clarifai can store
    const shape = item.type?.startsWith("rectangle") ? boxOf(item, mapping) : polygonOf(item);
    const concepts = conceptsFor(labels, { ...mapping, negatives: [] });
    regions.push({ ...(item.id ? { id: item.id } : {}), ...shape, concepts } as Region);
  }
  const concepts = imageChoices.length || mapping.negatives?.length ? conceptsFor(imageChoices, mapping) : [];
  return { concepts, regions };
}

function boxOf(item: ResultItem, mapping: ProjectMapping): Pick<Region, "boundingBox" | "polygon"> {
  const v = item.value as { x: number; y: number; width: number; height: number; rotation?: number };
  if ((item.image_rotation ?? 0) !== 0)
    throw new AdapterError(
      "image-rotation-unsupported",
      `region ${item.id}: the image itself is rotated (image_rotation ${item.image_rotation}), which is not supported yet`,
    );
  const rotation = (((v.rotation ?? 0) % 360) + 360) % 360;
  if (Math.abs(rotation) < 1e-9)
    return checkedBox(item.id, v.y / 100, v.x / 100, (v.y + v.height) / 100, (v.x + v.width) / 100);
  const W = item.original_width;
  const H = item.original_height;
  if (!W || !H)
    throw new AdapterError(
      "rotation-needs-image-size",
      `region ${item.id}: a rotated box needs original_width and original_height`,
    );
  // Label Studio rotates around the top-left corner, in pixels (its SDK's convert_annotation_to_yolo_obb).
  const t = (rotation * Math.PI) / 180;
  const x = (v.x / 100) * W;
  const y = (v.y / 100) * H;
  const w = (v.width / 100) * W;
  const h = (v.height / 100) * H;
  const corners = [
    [x, y],
    [x + w * Math.cos(t), y + w * Math.sin(t)],
    [x + w * Math.cos(t) - h * Math.sin(t), y + w * Math.sin(t) + h * Math.cos(t)],
    [x - h * Math.sin(t), y + h * Math.cos(t)],
  ].map(([px, py]) => ({ x: clamp01((px as number) / W), y: clamp01((py as number) / H) }));
  if (mapping.rotatedBoxes === "enclosing-box") {
    const xs = corners.map((c) => c.x);
    const ys = corners.map((c) => c.y);
    return checkedBox(item.id, Math.min(...ys), Math.min(...xs), Math.max(...ys), Math.max(...xs));
  }
  return { polygon: { points: corners } };
}

function polygonOf(item: ResultItem): Pick<Region, "polygon"> {
  const points = ((item.value?.points ?? []) as number[][]).map(([x, y]) => ({
    x: (x ?? 0) / 100,
    y: (y ?? 0) / 100,
  }));
  return checkedPolygon(item.id, points);
}

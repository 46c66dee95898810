// Over 300 lines: Label Studio's adapter: its webhook's actions and result types; the kinds, boxes and video are files of their own.
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
import { LABEL_STUDIO_ACTIONS } from "../contract/detect.js";
import type { MappingConfig, ProjectMapping } from "../contract/mapping-config.js";
import { recordDropped, type Skipped, skipOrRefuse } from "../contract/skip.js";
import type { LabelingEvent, Region } from "../event-schema.js";
import { conceptsFor } from "../kinds/concepts.js";
import { boxOf } from "./box.js";
import {
  isTextSpan,
  type LabeledPoint,
  maskOf,
  pointOf,
  polygonOf,
  skeletons,
  spanOf,
  videoOf,
} from "./kinds.js";
import { type ResultItem, resultItemSchema } from "./result.js";

/**
 * Label Studio webhooks (../shared/upstream-events.md section 1) to canonical events: choices (and taxonomy selections) become concepts,
 * rectangles and polygons become regions (percent of the image -> fractions; rotation applied in pixels);
 * keypoints become points (or skeletons, by the mapping's `keypoints`), brush masks PNG masks, Text spans spans,
 * and video tracks one region per frame (label-studio/kinds.ts, label-studio/video.ts).
 */

/**
 * The parts of a Label Studio webhook the adapter reads, as zod shapes: anything else in the body is ignored, and a
 * part of the wrong type is refused by name (`annotation.result[0]: ... expected object, received null`) rather
 * than trusted. Ids arrive as numbers or strings; optional parts may be null.
 */
type Json = Record<string, unknown>;
const annotationSchema = z.looseObject({
  id: opt(idLike),
  task: opt(idLike),
  project: opt(idLike),
  result: opt(z.array(resultItemSchema)),
  was_cancelled: opt(z.boolean()),
  completed_by: z.optional(z.unknown()),
  created_at: opt(z.string()),
  updated_at: opt(z.string()),
  ground_truth: z.optional(z.unknown()),
});
type Annotation = z.infer<typeof annotationSchema>;
const taskSchema = z.looseObject({
  id: opt(idLike),
  project: opt(idLike),
  data: opt(z.record(z.string(), z.unknown())),
});
type Task = z.infer<typeof taskSchema>;
const projectSchema = z.looseObject({ id: opt(idLike) });
const changedSchema = z.looseObject({
  action: z.string(),
  // One object, or a list (ANNOTATIONS_CREATED): each item is read on its own so an error names its index.
  annotation: z.optional(z.unknown()),
  task: z.optional(z.unknown()),
  project: opt(projectSchema),
});
const deletedSchema = z.looseObject({
  action: z.string(),
  annotations: opt(z.array(z.looseObject({ id: opt(idLike) }))),
  project: opt(projectSchema),
});
const WHAT = "Label Studio payload";

/** Annotation-level extras with no Clarifai equivalent: dropped, never a reason to dead-letter. */
const IGNORED_TYPES = new Set(["textarea", "rating", "number", "datetime", "relation"]);
const DEFAULT_INPUT_RULES = [
  { from: "field", field: "clarifai_input_id" } as const,
  { from: "asset" } as const,
];

export function fromLabelStudio(payload: Json, config: MappingConfig, receivedAt: Date): AdapterResult {
  return adapt(() => labelStudioEvents(payload, config, receivedAt));
}

function labelStudioEvents(payload: Json, config: MappingConfig, receivedAt: Date): LabelingEvent[] {
  const action = typeof payload.action === "string" ? payload.action : "";
  if (!LABEL_STUDIO_ACTIONS.has(action))
    throw new AdapterError(
      "unsupported-format",
      `unknown Label Studio action ${JSON.stringify(action || typeof payload.action)}`,
    );
  if (!action.startsWith("ANNOTATION")) return []; // tasks, projects, links: not labeling events
  if (action.endsWith("DELETED")) return deletes(readShape(deletedSchema, payload, WHAT), config, receivedAt);

  const body = readShape(changedSchema, payload, WHAT);
  const annotations = oneOrMany(body.annotation, "annotation", (v, at) =>
    readShape(annotationSchema, v, WHAT, at),
  );
  if (annotations.length === 0) {
    throw new AdapterError(
      "label-studio-no-payload",
      'the webhook carries no annotation: turn on "Send payload" in its Label Studio settings',
    );
  }
  const tasks = oneOrMany(body.task, "task", (v, at) =>
    v === null ? undefined : readShape(taskSchema, v, WHAT, at),
  );
  const events: LabelingEvent[] = [];
  for (const [i, annotation] of annotations.entries()) {
    const made = toEvent(
      action,
      annotation,
      tasks[i] ?? (tasks.length === 1 ? tasks[0] : undefined),
      body.project ?? undefined,
      config,
      receivedAt,
    );
    if (made) events.push(made);
  }
  return events;
}

function toEvent(
  action: string,
  annotation: Annotation,
  task: Task | undefined,
  project: { id?: string | number | null | undefined } | undefined,
  config: MappingConfig,
  receivedAt: Date,
): LabelingEvent | undefined {
  const projectId = text(project?.id ?? annotation.project ?? task?.project);
  const mapping = projectMapping(config, `label-studio:${projectId}`);
  const updated = action === "ANNOTATION_UPDATED";
  if (annotation.was_cancelled === true && !updated) return undefined; // a skipped task: acknowledged, nothing to send
  const annotationId = text(annotation.id);
  const taskId = text(annotation.task ?? task?.id);
  const data: Json = task?.data ?? {};
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

  const revision = annotation.updated_at ?? annotation.created_at ?? "";
  const kind = updated ? (annotation.was_cancelled === true ? "deleted" : "updated") : "created";
  const result = annotation.result ?? [];
  // An update whose result is empty means the labeler removed everything (upstream-events.md 7.6): no negatives.
  const skipped: Skipped = [];
  const content =
    kind === "deleted" || (kind === "updated" && result.length === 0)
      ? { concepts: [], regions: [] }
      : contentOf(result, mapping, skipped);
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
    ...labelerOf(annotation.completed_by),
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
    ...(annotation.ground_truth !== undefined || skipped.length
      ? {
          metadata: {
            ...(annotation.ground_truth !== undefined ? { ground_truth: annotation.ground_truth } : {}),
            ...(skipped.length ? { bridge_skipped: skipped } : {}),
          },
        }
      : {}),
  };
  return event;
}

/** A part that is one object or a list of them, each read by `read` with its path; absent or null is none. */
function oneOrMany<T>(value: unknown, name: string, read: (v: unknown, at: string) => T): T[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value.map((v, i) => read(v, `${name}[${i}]`));
  return [read(value, name)];
}

/** `completed_by` is a user id (an int) in the webhook; some versions nest the user: `{id, email}`. */
function labelerOf(completedBy: unknown): Pick<LabelingEvent, "labeler"> {
  const nested = completedBy !== null && typeof completedBy === "object" ? (completedBy as Json) : undefined;
  const user = nested ? nested.id : completedBy;
  const email =
    typeof nested?.email === "string" && nested.email !== "" ? nested.email.slice(0, 320) : undefined;
  if (typeof user === "number" || (typeof user === "string" && user !== ""))
    return { labeler: { id: String(user).slice(0, 255), ...(email ? { email } : {}) } };
  return {};
}

function deletes(
  payload: z.infer<typeof deletedSchema>,
  config: MappingConfig,
  receivedAt: Date,
): LabelingEvent[] {
  const projectId = text(payload.project?.id);
  const mapping = projectMapping(config, `label-studio:${projectId}`);
  const ids = (payload.annotations ?? []).map((a) => text(a.id)).filter(Boolean);
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

/** Image-level concepts and regions from a result list; per-region items share their region's `id`. Linear. */
function contentOf(
  result: readonly ResultItem[],
  mapping: ProjectMapping,
  skipped: Skipped,
): { concepts: NonNullable<LabelingEvent["concepts"]>; regions: Region[] } {
  const geometry = new Map<string, { item: ResultItem; index: number }>();
  const labelsById = new Map<string, string[]>();
  const imageChoices: string[] = [];
  const labelsOf = (key: string) => {
    const list = labelsById.get(key) ?? [];
    if (list.length === 0) labelsById.set(key, list);
    return list;
  };
  // Ids of items that are not choices: a choice sharing one of them classifies that region.
  const regionIds = new Set<string>();
  for (const item of result)
    if (item.id != null && item.type !== "choices" && item.type !== "taxonomy")
      regionIds.add(String(item.id));
  for (const [index, item] of result.entries()) {
    const type = item.type ?? "";
    const value = item.value ?? {};
    const key = item.id != null ? String(item.id) : `#${geometry.size}`;
    if (
      type === "rectanglelabels" ||
      type === "polygonlabels" ||
      type === "rectangle" ||
      type === "polygon" ||
      type === "keypointlabels" ||
      type === "keypoint" ||
      type === "brushlabels" ||
      type === "brush" ||
      type === "videorectangle"
    ) {
      geometry.set(key, { item, index });
      labelsOf(key).push(
        ...(value.rectanglelabels ?? value.polygonlabels ?? value.keypointlabels ?? value.brushlabels ?? []),
        ...(type === "videorectangle" ? (value.labels ?? []) : []),
      );
    } else if (type === "labels" && (value.start !== undefined || value.end !== undefined)) {
      // A span of a Text tag (character offsets), or of HyperText (XPaths) or audio (seconds): only the first is text.
      if (isTextSpan(value)) {
        geometry.set(key, { item, index });
        labelsOf(key).push(...(value.labels ?? []));
      } else {
        const from = (item.from_name ?? "?").slice(0, 64);
        skipOrRefuse(
          mapping,
          skipped,
          `labels "${from}" (not a text span)`,
          `labels "${from}" spans ${typeof value.start === "string" ? "HyperText by XPath" : "time (audio or time series)"}, which has no Clarifai region: only Text spans (character offsets) are carried`,
        );
      }
    } else if (type === "labels") {
      labelsOf(key).push(...(value.labels ?? []));
    } else if (type === "choices" || type === "taxonomy") {
      // Choices that share a region's id classify that region; the others classify the image. A taxonomy's
      // selection is its path's last node (`[["Animal", "Dog"]]` chooses Dog), as a choice is.
      const chosen =
        type === "taxonomy"
          ? (value.taxonomy ?? []).map((path) => path.at(-1)).filter((c): c is string => Boolean(c))
          : (value.choices ?? []);
      if (item.id != null && regionIds.has(String(item.id))) labelsOf(key).push(...chosen);
      else imageChoices.push(...chosen);
    } else if (IGNORED_TYPES.has(type)) {
      // Free text, ratings and the like have no Clarifai equivalent: dropped, and listed with what was skipped.
      recordDropped(skipped, `${type.slice(0, 32)} "${(item.from_name ?? "?").slice(0, 64)}"`);
    } else {
      const from = (item.from_name ?? "?").slice(0, 64);
      skipOrRefuse(
        mapping,
        skipped,
        `${type.slice(0, 32)} "${from}"`,
        `result type ${JSON.stringify(type.slice(0, 64))} of "${from}" has no Clarifai equivalent`,
      );
    }
  }
  const regions: Region[] = [];
  const keypoints: LabeledPoint[] = [];
  for (const [key, { item, index }] of geometry) {
    const labels = labelsById.get(key) ?? [];
    if (labels.length === 0) continue; // a shape with no label says nothing Clarifai can store
    const path = `annotation.result[${index}]`;
    const concepts = conceptsFor(labels, { ...mapping, negatives: [] });
    const id = item.id != null ? String(item.id) : undefined;
    const type = item.type ?? "";
    if (type === "videorectangle") {
      regions.push(...videoOf(item, id ?? key, concepts, mapping, path, regions.length));
      continue;
    }
    if (type.startsWith("keypoint")) {
      keypoints.push({ id, labels, concepts, point: pointOf(item, path) });
      continue;
    }
    const shape = type.startsWith("rectangle")
      ? boxOf(item, mapping, path)
      : type.startsWith("polygon")
        ? polygonOf(item, path)
        : type.startsWith("brush")
          ? maskOf(item, path)
          : spanOf(item, path);
    regions.push({ ...(id !== undefined ? { id } : {}), ...shape, concepts } as Region);
  }
  regions.push(...skeletons(keypoints, mapping));
  const concepts = imageChoices.length || mapping.negatives?.length ? conceptsFor(imageChoices, mapping) : [];
  return { concepts, regions };
}

/** This adapter as the registry calls it (registry.ts). */
export const labelStudioAdapter: Adapter = (payload, mapping, context) =>
  fromLabelStudio(payload, mapping, context.receivedAt);

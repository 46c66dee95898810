import { derivedId, regionMemberId, stableStringify } from "../events/annotation-id.js";
import type { StatusPolicy } from "../events/contract/mapping-config.js";
import type { ClarifaiNativeBody, Concept, LabelingEvent, Region } from "../events/event-schema.js";
import type { StatusName } from "./status-codes.js";

/** Where the task id goes on the annotation. Clarifai's current proto has `task_id`; older docs use `annotation_info.task_id`. */
export type TaskLinkMode = "both" | "task_id" | "annotation_info";

/** The Clarifai app an annotation is addressed to (PAT URL form). `null` means the key's own app (app-scoped key form). */
export interface AppRef {
  readonly userId: string;
  readonly appId: string;
}

/** An annotation in Clarifai's proto3 JSON shape. */
export interface ClarifaiAnnotation {
  readonly id: string;
  readonly input_id: string;
  readonly task_id?: string;
  readonly annotation_info?: Record<string, unknown>;
  readonly data: Record<string, unknown>;
  readonly input_level?: boolean;
  /** The Clarifai user whose work this is (only the app owner's key may name another user). */
  readonly worker?: { readonly user: { readonly id: string } };
  /** The state to store it in, e.g. ANNOTATION_AWAITING_REVIEW in a task with manual review. */
  readonly status?: { readonly code: StatusName };
}

/** Whose work an event's annotations are and which status they get: decided from the mapping while parsing. */
export interface WorkOptions {
  /** The Clarifai user id for `worker.user.id`; none: the key's owner. */
  readonly worker?: string;
  /** @default "from-task" */
  readonly statusPolicy?: StatusPolicy;
}

/** At most this much annotation JSON goes in one Clarifai request (with at most 128 annotations). */
export const MAX_REQUEST_BYTES = 8 * 1024 * 1024;

/** Serialised sizes measured while parsing, so requests can be sized without serialising twice. */
const measured = new WeakMap<object, number>();

/** Remembers a size measured elsewhere (the parser serialises every annotation to check its size). */
export function rememberBytes(annotation: ClarifaiAnnotation, bytes: number): void {
  measured.set(annotation, bytes);
}

/** The annotation's size as JSON: measured once, then remembered. Never throws (an unserialisable one is 0). */
export function annotationBytes(annotation: ClarifaiAnnotation): number {
  let bytes = measured.get(annotation);
  if (bytes === undefined) {
    try {
      bytes = Buffer.byteLength(JSON.stringify(annotation), "utf8");
    } catch {
      bytes = 0;
    }
    measured.set(annotation, bytes);
  }
  return bytes;
}

/** Where a member's upstream time is kept in `data.metadata` as well as in `annotation_info.occurred_at`. */
export const VERSION_KEY = "bridge_occurred_at";

/** One annotation to deliver, with what logs and routing need to know about it. */
export interface Delivery {
  readonly annotation: ClarifaiAnnotation;
  readonly app: AppRef | null;
  readonly taskId: string;
  readonly inputId: string;
  readonly eventId?: string;
  /** The base id of the annotation set this member belongs to (one upstream annotation). */
  readonly baseId?: string;
  /** How its status is chosen (the task's review strategy, or a fixed one); set before it is sent. */
  readonly statusPolicy?: StatusPolicy;
}

/**
 * An update or a delete of one upstream annotation's set of Clarifai annotations (all ids are the base id or start
 * with `<base>-r-`). What it does depends on what Clarifai holds, so it is planned after a lookup (plan-change.ts).
 */
export type Change =
  | (ChangeTarget & {
      readonly kind: "replace";
      readonly inputId: string;
      /** The set as it should be now; empty means "delete the whole set". */
      readonly annotations: readonly ClarifaiAnnotation[];
      /** How the annotations' status is chosen; set before they are sent. */
      readonly statusPolicy?: StatusPolicy;
    })
  | (ChangeTarget & { readonly kind: "delete"; readonly inputId?: string });

interface ChangeTarget {
  readonly app: AppRef | null;
  readonly taskId: string;
  readonly baseId: string;
  readonly eventId: string;
  /** When the change happened upstream (ISO 8601): a stored set that is newer is left alone. */
  readonly occurredAt: string;
}

export interface MappingOptions {
  readonly taskLink: TaskLinkMode;
  /** The configured target app, used when the event names none. */
  readonly defaultApp: AppRef | null;
}

/** `{ id, value }` with the value always explicit: Clarifai reads a missing value as 1, so a negative must say 0. */
const toConcept = (c: Concept) =>
  c.name ? { id: c.id, name: c.name, value: c.value } : { id: c.id, value: c.value };

/** The base annotation id of an event: given, or derived from the upstream annotation, or from the event. */
export function baseAnnotationId(event: LabelingEvent): string {
  if (event.annotationId) return event.annotationId;
  const upstreamId = event.upstream?.annotationId;
  if (upstreamId) return derivedId(event.source, event.upstream?.projectId ?? "", upstreamId);
  return derivedId(event.source, event.eventId);
}

function withTaskLink(
  annotation: Omit<ClarifaiAnnotation, "task_id">,
  taskId: string,
  mode: TaskLinkMode,
): ClarifaiAnnotation {
  const info: Record<string, unknown> = { ...(annotation.annotation_info ?? {}) };
  if (mode === "task_id") delete info.task_id;
  else info.task_id = taskId;
  const linked: ClarifaiAnnotation = { ...annotation, annotation_info: info };
  return mode === "annotation_info" ? linked : { ...linked, task_id: taskId };
}

const VISIBILITY = { visible: "VISIBLE", not_visible: "NOT_VISIBLE", not_present: "NOT_PRESENT" } as const;

/** A canonical point `{x, y}` as Clarifai's `{row: y, col: x}`, with its visibility where the tool gave one. */
function pointJson(p: { x: number; y: number; visibility?: keyof typeof VISIBILITY | undefined }) {
  return p.visibility ? { row: p.y, col: p.x, visibility: VISIBILITY[p.visibility] } : { row: p.y, col: p.x };
}

/** The region's geometry as Clarifai's `RegionInfo` (exactly one field: the schema checked it). */
function regionInfoJson(region: Region): Record<string, unknown> {
  if (region.boundingBox)
    return {
      bounding_box: {
        top_row: region.boundingBox.top,
        left_col: region.boundingBox.left,
        bottom_row: region.boundingBox.bottom,
        right_col: region.boundingBox.right,
      },
    };
  if (region.point) return { point: pointJson(region.point) };
  if (region.keypoints) return { keypoint_locations: region.keypoints.points.map(pointJson) };
  if (region.mask) return { mask: { image: { base64: region.mask.png } } };
  if (region.span) {
    const { start, end, text } = region.span;
    return {
      span:
        text === undefined
          ? { char_start: start, char_end: end }
          : { char_start: start, char_end: end, raw_text: text },
    };
  }
  // Canonical points are {x, y}; Clarifai wants {row: y, col: x}.
  return { polygon: { points: (region.polygon?.points ?? []).map((p) => ({ row: p.y, col: p.x })) } };
}

function regionJson(region: Region): Record<string, unknown> {
  // No region id: Clarifai's docs say a posted region id "should be a region id returned from list annotations
  // call", and its SDK never sets one. The member's annotation id already carries the region's identity.
  return {
    region_info: regionInfoJson(region),
    data: { concepts: region.concepts.map(toConcept) },
    ...(region.trackId ? { track_id: region.trackId } : {}),
  };
}

/**
 * A member's `data`: the region itself, or on a video input the one frame it is on (Clarifai keeps one region and
 * one frame per annotation), with the version in `metadata` either way.
 */
function regionData(region: Region, metadata: Record<string, unknown>): Record<string, unknown> {
  if (!region.frame) return { regions: [regionJson(region)], metadata };
  return {
    frames: [
      {
        frame_info: { number: region.frame.number, time: region.frame.timeMs },
        data: { regions: [regionJson(region)] },
      },
    ],
    metadata,
  };
}

/**
 * A created event becomes its set of Clarifai annotations: one input-level member for the image-level concepts
 * (id = the base id) and one member per region (Clarifai holds at most one region per annotation).
 */
export function eventToDeliveries(
  event: LabelingEvent,
  options: MappingOptions,
  work: WorkOptions = {},
): Delivery[] {
  const inputId = event.inputId ?? "";
  const baseId = baseAnnotationId(event);
  const info: Record<string, unknown> = {
    event_id: event.eventId,
    source: event.source,
    occurred_at: event.occurredAt,
    upstream_annotation_id: baseId,
  };
  if (event.labeler) info.labeler = event.labeler;
  if (event.upstream) info.upstream = event.upstream;
  if (event.metadata) info.metadata = event.metadata;
  // What the adapter left out (type and label), where a reader of the annotation looks first.
  const skipped = (event.metadata as { bridge_skipped?: unknown } | undefined)?.bridge_skipped;
  if (Array.isArray(skipped) && skipped.length) info.skipped = skipped;

  // The version again in `data`, which PatchAnnotations' overwrite certainly replaces: whether it replaces
  // annotation_info too is undocumented, and the ordering check must hold either way (plan-change.ts).
  const version = { [VERSION_KEY]: event.occurredAt };
  const worker = work.worker ? { worker: { user: { id: work.worker } } } : {};
  const members: Omit<ClarifaiAnnotation, "task_id">[] = [];
  if (event.concepts && event.concepts.length > 0) {
    members.push({
      id: baseId,
      input_id: inputId,
      annotation_info: info,
      data: { concepts: event.concepts.map(toConcept), metadata: version },
      ...worker,
    });
  }
  (event.regions ?? []).forEach((region, index) => {
    members.push({
      id: regionMemberId(baseId, region.id ?? `#${index}`),
      input_id: inputId,
      annotation_info: info,
      data: regionData(region, version),
      ...worker,
    });
  });

  const app = event.app ?? options.defaultApp;
  return members.map((member) => ({
    annotation: withTaskLink(member, event.taskId, options.taskLink),
    app,
    taskId: event.taskId,
    inputId,
    eventId: event.eventId,
    baseId,
    statusPolicy: work.statusPolicy ?? "from-task",
  }));
}

/**
 * A Clarifai-native body is sent as it came, each annotation on its own; the bridge only fills in what idempotency
 * and the task link need: an id derived from the content when none is given, and the other task-link field.
 */
export function nativeToDeliveries(
  body: ClarifaiNativeBody,
  options: MappingOptions,
  statusPolicyOf: (taskId: string) => StatusPolicy = () => "from-task",
): Delivery[] {
  const app = body.user_app_id
    ? { userId: body.user_app_id.user_id, appId: body.user_app_id.app_id }
    : options.defaultApp;
  return body.annotations.map((raw) => {
    const taskId = raw.task_id || String(raw.annotation_info?.task_id ?? "");
    const { task_id: _dropped, ...rest } = raw;
    const id = raw.id ?? derivedId("clarifai-native", stableStringify(rest));
    return {
      annotation: withTaskLink({ ...rest, id }, taskId, options.taskLink),
      app,
      taskId,
      inputId: raw.input_id,
      statusPolicy: statusPolicyOf(taskId),
    };
  });
}

/**
 * An event as the change it asks for: a delete, or the set as it should now be (an update, or a create applied
 * with the same care; plain creates usually go through `eventToDeliveries`).
 */
export function eventToChange(event: LabelingEvent, options: MappingOptions, work: WorkOptions = {}): Change {
  const target = {
    app: event.app ?? options.defaultApp,
    taskId: event.taskId,
    baseId: baseAnnotationId(event),
    eventId: event.eventId,
    occurredAt: event.occurredAt,
  };
  if (event.type === "annotation.deleted")
    return { kind: "delete", ...target, ...(event.inputId ? { inputId: event.inputId } : {}) };
  return {
    kind: "replace",
    ...target,
    inputId: event.inputId ?? "",
    annotations: eventToDeliveries(event, options, work).map((d) => d.annotation),
    statusPolicy: work.statusPolicy ?? "from-task",
  };
}

// Over 300 lines: every event's mapping to Clarifai's annotation JSON (made at once, or a member at a time for a long event), in one place so ids, task links and versions are written alike.
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
      /** The set as it should be now; empty means "delete the whole set" (unless `members` holds it). */
      readonly annotations: readonly ClarifaiAnnotation[];
      /**
       * The set of a long event (a video track), made a member at a time as it is sent instead of held as
       * objects: `annotations` is then empty, and only the long-change path (delivery/long-change.ts) applies it.
       */
      readonly members?: LazyMembers;
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

/** `annotation_info` with the task link the mode asks for there (a new object; the given one is not changed). */
function linkInfo(
  annotationInfo: Record<string, unknown> | undefined,
  taskId: string,
  mode: TaskLinkMode,
): Record<string, unknown> {
  const info: Record<string, unknown> = { ...(annotationInfo ?? {}) };
  if (mode === "task_id") delete info.task_id;
  else info.task_id = taskId;
  return info;
}

function withTaskLink(
  annotation: Omit<ClarifaiAnnotation, "task_id">,
  taskId: string,
  mode: TaskLinkMode,
  /** The linked `annotation_info` when it is already made (one object shared by an event's members). */
  info: Record<string, unknown> = linkInfo(annotation.annotation_info, taskId, mode),
): ClarifaiAnnotation {
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

/**
 * A region's concepts as Clarifai's, made once per list: the frames of a track share their track's list, so an
 * hour of video holds one copy, not 108,000 (nothing changes an annotation's concepts after it is made).
 */
const conceptLists = new WeakMap<readonly Concept[], ReturnType<typeof toConcept>[]>();
function conceptsJson(concepts: readonly Concept[]) {
  let made = conceptLists.get(concepts);
  if (!made) {
    made = concepts.map(toConcept);
    conceptLists.set(concepts, made);
  }
  return made;
}

function regionJson(region: Region): Record<string, unknown> {
  // No region id: Clarifai's docs say a posted region id "should be a region id returned from list annotations
  // call", and its SDK never sets one. The member's annotation id already carries the region's identity.
  return {
    region_info: regionInfoJson(region),
    data: { concepts: conceptsJson(region.concepts) },
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
 * An event's members, made one at a time: `count` of them, `id(i)` without making the member, `at(i)` the member
 * itself, with the task link. The input-level member for the image-level concepts comes first (id = the base id),
 * then one member per region (Clarifai holds at most one region per annotation).
 */
export interface EventMembers {
  readonly count: number;
  id(index: number): string;
  at(index: number): ClarifaiAnnotation;
}

export function eventMembers(
  event: LabelingEvent,
  options: MappingOptions,
  work: WorkOptions = {},
): EventMembers {
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
  // One annotation_info for all members (they carry the same one): a track of 108,000 frames holds one copy.
  const linkedInfo = linkInfo(info, event.taskId, options.taskLink);
  const regions = event.regions ?? [];
  const first = event.concepts && event.concepts.length > 0 ? 1 : 0;
  const regionId = (index: number) => {
    const region = regions[index] as Region;
    return regionMemberId(baseId, region.id ?? `#${index}`);
  };
  return {
    count: first + regions.length,
    id: (i) => (i < first ? baseId : regionId(i - first)),
    at: (i) => {
      const member: Omit<ClarifaiAnnotation, "task_id"> =
        i < first
          ? {
              id: baseId,
              input_id: inputId,
              annotation_info: info,
              data: { concepts: (event.concepts ?? []).map(toConcept), metadata: version },
              ...worker,
            }
          : {
              id: regionId(i - first),
              input_id: inputId,
              annotation_info: info,
              data: regionData(regions[i - first] as Region, version),
              ...worker,
            };
      return withTaskLink(member, event.taskId, options.taskLink, linkedInfo);
    },
  };
}

/** The members of a long replace: made on demand, each with the status it is sent with, and its measured size. */
export interface LazyMembers extends EventMembers {
  /** Serialised bytes of member `i`, measured when the record was read. */
  bytes(index: number): number;
  /** The status every member is sent with (the task's review), once it is known. */
  readonly status?: StatusName;
}

/** A long event as a change whose members are made as they are sent; `bytes` filled in when they are measured. */
export function eventToLongChange(
  event: LabelingEvent,
  options: MappingOptions,
  work: WorkOptions,
  bytes: Uint32Array,
): Extract<Change, { kind: "replace" }> {
  const members = eventMembers(event, options, work);
  return {
    kind: "replace",
    app: event.app ?? options.defaultApp,
    taskId: event.taskId,
    baseId: baseAnnotationId(event),
    eventId: event.eventId,
    occurredAt: event.occurredAt,
    inputId: event.inputId ?? "",
    annotations: [],
    members: { ...members, bytes: (i) => bytes[i] ?? 0 },
    statusPolicy: work.statusPolicy ?? "from-task",
  };
}

/** Lazy members sent with `status` (the members are made with it: nothing is copied). */
export function membersWithStatus(members: LazyMembers, status: StatusName): LazyMembers {
  const extra = STATUS_BYTES + status.length;
  return {
    count: members.count,
    id: members.id,
    at: (i) => ({ ...members.at(i), status: { code: status } }),
    bytes: (i) => members.bytes(i) + extra,
    status,
  };
}

/** What `,"status":{"code":""}` adds to an annotation's JSON, less the code itself. */
const STATUS_BYTES = ',"status":{"code":""}'.length;

/** A created event becomes its set of Clarifai annotations (`eventMembers`, all made now). */
export function eventToDeliveries(
  event: LabelingEvent,
  options: MappingOptions,
  work: WorkOptions = {},
): Delivery[] {
  const members = eventMembers(event, options, work);
  const app = event.app ?? options.defaultApp;
  const inputId = event.inputId ?? "";
  const baseId = baseAnnotationId(event);
  return Array.from({ length: members.count }, (_, i) => ({
    annotation: members.at(i),
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

// Over 300 lines: one record to its annotations for every format, with the size checks that follow; the adapters are files of their own.
import { attribute, statusPolicyOf } from "../clarifai/attribution.js";
import {
  type Change,
  type ClarifaiAnnotation,
  type Delivery,
  eventToChange,
  eventToDeliveries,
  eventToLongChange,
  type LazyMembers,
  type MappingOptions,
  nativeToDeliveries,
  rememberBytes,
} from "../clarifai/to-annotation.js";
import {
  MAX_ANNOTATION_BYTES,
  MAX_RECORD_ANNOTATION_BYTES,
  MAX_REGIONS_PER_EVENT,
  serialisedBytes,
} from "../events/bounds.js";
import { detect, type Format } from "../events/contract/detect.js";
import type { MappingConfig } from "../events/contract/mapping-config.js";
import { EMPTY_MAPPING } from "../events/contract/mapping-defaults.js";
import { type FetchedMask, MaskFiles, type MaskRef } from "../events/contract/mask-files.js";
import { loadedWords, type WordedSchema, WordsNotLoaded } from "../events/contract/refusal-words.js";
import type { ClarifaiNativeBody, LabelingEvent } from "../events/event-schema.js";
import { clarifaiNativeBodyProblem, labelingEventProblem } from "../events/generated/validate.js";
import { OverTime } from "../events/read-meter.js";
import { adapterFor } from "../events/registry.js";
import { type Failure, permanent, retryable } from "../failure.js";

export interface ParseOptions extends MappingOptions {
  /** Upstream project -> Clarifai task mapping, for the adapters. @default no projects */
  readonly upstream?: MappingConfig;
  /**
   * The message's string attributes: `format` wins over shape detection; the Labelbox topic and delivery id
   * (`labelbox-event`, `labelbox-id`) as the ingress sets them.
   */
  readonly attributes?: Readonly<Record<string, string>>;
  /** When the message arrived (for upstream payloads without a time). @default now */
  readonly receivedAt?: Date;
  /** Mask files the record points at, as the handler's edge fetched them (by URL). @default none fetched yet */
  readonly fetchedMasks?: ReadonlyMap<string, FetchedMask>;
  /**
   * The task holds nothing of these annotations yet (`clarifai-bridge import --fresh`): every created or updated
   * event is posted as a create, without looking up what Clarifai holds first; one that exists after all is left
   * as it is. The handler never sets it. @default false
   */
  readonly fresh?: boolean;
}

export type ParsedRecord =
  | {
      readonly ok: true;
      readonly format: Format;
      /** Annotations to create (created events, Clarifai-native bodies). */
      readonly deliveries: Delivery[];
      /** Updates and deletes, applied after a lookup of what Clarifai holds. */
      readonly changes: Change[];
      /** Upstream objects left out under the mapping's `unsupported: "skip"`. */
      readonly skipped: number;
      /** The annotations' serialised size in all, set once they are checked (its one writer: checkSizes). */
      bytes: number;
      /** What the record holds in memory once read, where that is not its annotations' JSON (a long event). */
      retained?: number;
    }
  | {
      readonly ok: false;
      readonly failure: Failure;
      /** Mask files to fetch before the record can be read (the failure is then `mask-not-fetched`, retryable). */
      readonly needs?: readonly MaskRef[];
      /** Refused before zod's words were loaded (the reason names only where): load them and read it again. */
      readonly needsWords?: true;
    };

/** The body size SQS allows at most (1 MiB); anything larger cannot have come through SQS intact. */
export const MAX_BODY_BYTES = 1_048_576;

/**
 * Turns one SQS message body into the Clarifai annotations it stands for, or into a permanent failure that names
 * the field and the rule. Pure: no I/O, never throws: whatever a body makes the readers below throw becomes the
 * permanent failure of this record alone (`adapter-error`), never of its batch.
 */
export function parseRecord(body: string, options: ParseOptions): ParsedRecord {
  return parseRead(readBody(body, options), options);
}

/**
 * A body read as far as its format (size, JSON, shape), without mapping it: the first half of `parseRecord`, so the
 * handler can load the adapters a batch needs (registry.ts) between the halves without reading a body twice.
 */
export type ReadBody =
  | { readonly ok: true; readonly format: Format | undefined; readonly payload: Record<string, unknown> }
  | { readonly ok: false; readonly failure: Failure };

export function readBody(body: string, options: Pick<ParseOptions, "attributes">): ReadBody {
  try {
    if (typeof body !== "string") return fail("invalid-event", "message body is not text");
    if (Buffer.byteLength(body, "utf8") > MAX_BODY_BYTES) {
      return fail("body-too-large", `message body is larger than ${MAX_BODY_BYTES} bytes`);
    }
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch (error) {
      return fail("invalid-json", `message body is not JSON: ${(error as Error).message}`);
    }
    if (json === null || typeof json !== "object" || Array.isArray(json)) {
      return fail(
        "invalid-event",
        "message body must be a JSON object (a labeling event or a Clarifai annotations body)",
      );
    }
    return { ok: true, ...detect(json as Record<string, unknown>, options.attributes?.format) };
  } catch (error) {
    return fail("adapter-error", `could not read this message: ${describeThrown(error)}`);
  }
}

/** The second half of `parseRecord`: a read body to the annotations it stands for. Pure; never throws. */
export function parseRead(read: ReadBody, options: ParseOptions): ParsedRecord {
  if (!read.ok) return read;
  try {
    const parsed = mapPayload(read.format, read.payload, options);
    return parsed.ok ? checkSizes(parsed) : parsed;
  } catch (error) {
    if (error instanceof OverTime) return { ok: false, failure: error.failure };
    if (error instanceof WordsNotLoaded)
      return { ok: false, failure: permanent("invalid-event", error.message), needsWords: true };
    return fail("adapter-error", `could not read this message: ${describeThrown(error)}`);
  }
}

/** What was thrown, in a few safe words: its class and the start of its message (no stack, no payload dump). */
function describeThrown(error: unknown): string {
  if (error instanceof Error) {
    const message = typeof error.message === "string" ? error.message.slice(0, 160) : "";
    return `${error.name || "Error"}${message ? `: ${message}` : ""}`;
  }
  return `a thrown ${error === null ? "null" : typeof error}`;
}

/**
 * Each annotation serialised once, here, so one that cannot be sent (too large, not serialisable) fails its own
 * record, not the Clarifai request it would share with 127 others.
 */
/** The serialised size of a read record's annotations in all (0 for a failure, or before they are checked). */
export const parsedBytes = (parsed: ParsedRecord): number => (parsed.ok ? parsed.bytes : 0);

function checkSizes(parsed: Extract<ParsedRecord, { ok: true }>): ParsedRecord {
  const long = parsed.changes.length === 1 ? parsed.changes[0] : undefined;
  if (long?.kind === "replace" && long.members) return checkLongSizes(parsed, long.members);
  let total = 0;
  const annotations = [
    ...parsed.deliveries.map((d) => d.annotation),
    ...parsed.changes.flatMap((c) => (c.kind === "replace" ? c.annotations : [])),
  ];
  if (annotations.length > MAX_REGIONS_PER_EVENT)
    return fail(
      "too-many-annotations",
      `this message makes ${annotations.length} annotations, more than the ${MAX_REGIONS_PER_EVENT} one message may carry`,
    );
  for (const annotation of annotations) {
    const bytes = measure(annotation);
    if (typeof bytes !== "number") return bytes;
    rememberBytes(annotation, bytes);
    total += bytes;
    if (total > MAX_RECORD_ANNOTATION_BYTES)
      return fail(
        "record-too-large",
        `this message makes ${annotations.length} annotations of more than ${MAX_RECORD_ANNOTATION_BYTES} bytes in all`,
      );
  }
  parsed.bytes = total;
  return parsed;
}

/** One annotation's serialised size, or the failure that keeps it from being sent. */
function measure(annotation: ClarifaiAnnotation): number | { readonly ok: false; readonly failure: Failure } {
  const bytes = serialisedBytes(annotation);
  if (bytes === undefined)
    return fail("annotation-not-serialisable", `annotation ${annotation.id} cannot be serialised as JSON`);
  if (bytes > MAX_ANNOTATION_BYTES)
    return fail(
      "annotation-too-large",
      `annotation ${annotation.id} is ${bytes} bytes as JSON, more than the ${MAX_ANNOTATION_BYTES} one annotation may be`,
    );
  return bytes;
}

/**
 * A long event's members measured one at a time (each made, serialised and dropped): each within the size one
 * annotation may be, the sizes kept (4 bytes a member) for the requests' byte budget. What the record holds is
 * its event, not its members' JSON: `retained` says how much (reading-budget.ts counts it).
 */
function checkLongSizes(parsed: Extract<ParsedRecord, { ok: true }>, members: LazyMembers): ParsedRecord {
  if (members.count > MAX_REGIONS_PER_EVENT)
    return fail(
      "too-many-annotations",
      `this message makes ${members.count} annotations, more than the ${MAX_REGIONS_PER_EVENT} one message may carry`,
    );
  const sizes = new Uint32Array(members.count);
  let total = 0;
  for (let i = 0; i < members.count; i++) {
    const bytes = measure(members.at(i));
    if (typeof bytes !== "number") return bytes;
    sizes[i] = bytes;
    total += bytes;
    // Each member is serialised again in every invocation that sends it: a body that makes far more JSON than
    // its members are many (shared metadata copied to each) is refused, as record-too-large is for short ones.
    if (total > longEventBytes(members.count))
      return fail(
        "record-too-large",
        `this message makes ${members.count} annotations of more than ${longEventBytes(members.count)} bytes in all (${LONG_MEMBER_BYTES} a member, at least ${MAX_RECORD_ANNOTATION_BYTES})`,
      );
  }
  parsed.bytes = total;
  parsed.retained = members.count * LONG_MEMBER_RETAINED_BYTES;
  return {
    ...parsed,
    changes: [
      { ...(parsed.changes[0] as Change), members: { ...members, bytes: (i) => sizes[i] ?? 0 } } as Change,
    ],
  };
}

/** What a long event's annotations may add up to as JSON: 2 KiB a member (a frame's box is about 920 bytes). */
const LONG_MEMBER_BYTES = 2_048;
const longEventBytes = (count: number) => Math.max(MAX_RECORD_ANNOTATION_BYTES, count * LONG_MEMBER_BYTES);

/**
 * What a long event holds per member while it is applied: its region as the adapter made it (33 MB of heap for
 * the 108,000 regions of an hour's Label Studio track, about 310 bytes each), its id in the index by id, its state
 * and what a hop leaves until the next collection: the heap after a hop of that track stood about 65 MB above an
 * idle instance's (600 bytes a member), and two such events in one batch took a 256 MB instance to 229 MB. Counted
 * at 700, two of them do not fit one 256 MB function's reading budget together: the second waits (held as
 * annotation objects they took 88 MB, 820 bytes each, before any of that).
 */
export const LONG_MEMBER_RETAINED_BYTES = 700;

function mapPayload(
  format: Format | undefined,
  payload: Record<string, unknown>,
  options: ParseOptions,
): ParsedRecord {
  const attribute = options.attributes?.format;
  switch (format) {
    case "canonical":
      return canonical(payload, options);
    case "clarifai-native": {
      // The generated validator decides; zod is asked only for a refusal's words (see `checked`).
      const body = checked<ClarifaiNativeBody>(payload, clarifaiNativeBodyProblem, "native");
      if (!body.ok) return fail("invalid-event", body.reason);
      const mapping = options.upstream ?? EMPTY_MAPPING;
      return ok(
        "clarifai-native",
        nativeToDeliveries(body.value, options, (taskId) => statusPolicyOf(mapping, taskId, undefined)),
        [],
      );
    }
    case "label-studio":
    case "labelbox":
    case "sagemaker-ground-truth":
    case "scale":
    case "cvat": {
      const mapping = options.upstream ?? EMPTY_MAPPING;
      const receivedAt = options.receivedAt ?? new Date();
      const topic = options.attributes?.["labelbox-event"];
      const deliveryId = options.attributes?.["labelbox-id"];
      const adapter = adapterFor(format);
      // The handler loads a batch's adapters before parsing it, and other callers load them all (all-adapters.ts).
      if (!adapter) throw new Error(`the ${format} adapter is not loaded`);
      const masks = new MaskFiles(options.fetchedMasks);
      const adapted = adapter(payload, mapping, {
        receivedAt,
        masks,
        ...(topic ? { topic } : {}),
        ...(deliveryId ? { deliveryId } : {}),
      });
      if (!adapted.ok) return { ok: false, failure: adapted.failure };
      if (masks.wanted.size > 0)
        return {
          ok: false,
          failure: retryable(
            "mask-not-fetched",
            `this event's ${masks.wanted.size} mask file(s) were not fetched (only the handler fetches them)`,
          ),
          needs: [...masks.wanted.values()],
        };
      return fromAdapted(format, adapted.events, options);
    }
    default: {
      if (attribute)
        return fail("unsupported-format", `format attribute ${JSON.stringify(attribute)} is not supported`);
      const keys = Object.keys(payload).slice(0, 10).join(", ") || "none";
      return fail(
        "unsupported-format",
        `not a labeling event this bridge reads (canonical, Clarifai-native, Label Studio, Labelbox, SageMaker Ground Truth, Scale, CVAT job frames); keys seen: ${keys}`,
      );
    }
  }
}

function canonical(payload: Record<string, unknown>, options: ParseOptions): ParsedRecord {
  if (payload.specVersion !== "1") {
    return fail(
      "unsupported-spec-version",
      `specVersion: ${JSON.stringify(payload.specVersion)} is not supported; this bridge reads "1"`,
    );
  }
  const event = checked<LabelingEvent>(payload, labelingEventProblem, "event");
  if (!event.ok) return fail("invalid-event", event.reason);
  return fromEvents("canonical", [event.value], options);
}

/**
 * A value checked by the validator generated from the schema (generated/validate.ts: plain code, no schema library
 * on the hot path); only a value it refuses goes to zod, for the refusal's words, loaded for the first refusal
 * (contract/refusal-words.ts: `WordsNotLoaded` until then, and the reader loads them and reads again). The two
 * agree on what they accept (test/unit/validators.test.ts); should they ever not, zod's acceptance wins, so a
 * valid record is never refused for a generator's slip.
 */
function checked<T>(
  value: unknown,
  problem: (value: unknown) => (string | number)[] | undefined,
  schema: WordedSchema,
): { ok: true; value: T } | { ok: false; reason: string } {
  const path = problem(value);
  if (path === undefined) return { ok: true, value: value as T };
  const words = loadedWords();
  if (!words) throw new WordsNotLoaded(path);
  const verdict = words.check(schema, value);
  return verdict.ok ? { ok: true, value: verdict.value as T } : verdict;
}

/** An adapter's events, checked against the same schema as a canonical event before they are mapped. */
function fromAdapted(format: Format, events: readonly LabelingEvent[], options: ParseOptions): ParsedRecord {
  const valid: LabelingEvent[] = [];
  for (const event of events) {
    const result = checked<LabelingEvent>(event, labelingEventProblem, "event");
    if (!result.ok)
      return fail("invalid-event", `${format} payload maps to an invalid event: ${result.reason}`);
    valid.push(result.value);
  }
  return fromEvents(format, valid, options);
}

/**
 * Tools whose annotations are later edited and deleted, with no order guarantee: their creates are applied as
 * changes too (looked up first), so a create that arrives after a newer update or after the update removed a box
 * cannot bring back old content. Other creates take the fast path: POST only, one lookup only on failure.
 */
const CREATES_AS_CHANGES: ReadonlySet<Format> = new Set(["label-studio", "labelbox"]);

/**
 * An event of more annotations than one request holds (a video track) is applied as a change: on a redelivery its
 * input is listed once, page by page, and what this event already wrote is skipped (plan-change.ts), where the
 * create path would look every id up, 50 to a request.
 */
const LARGE_EVENT_ANNOTATIONS = 128;
const countOf = (event: LabelingEvent) => (event.regions?.length ?? 0) + (event.concepts?.length ? 1 : 0);
const isLarge = (event: LabelingEvent) => countOf(event) > LARGE_EVENT_ANNOTATIONS;

/** Valid events to what they ask of Clarifai: annotations to create, and updates and deletes to apply. */
function fromEvents(format: Format, events: readonly LabelingEvent[], options: ParseOptions): ParsedRecord {
  const mapping = options.upstream ?? EMPTY_MAPPING;
  const deliveries: Delivery[] = [];
  const changes: Change[] = [];
  for (const event of events) {
    if (event.type === "annotation.deleted") {
      changes.push(eventToChange(event, options));
      continue;
    }
    // Whose work it is and the status it gets, from the mapping (clarifai/attribution.ts).
    const who = attribute(event, mapping);
    if (who.kind === "refused") return { ok: false, failure: who.failure };
    const projectId = event.upstream?.projectId;
    const work = {
      ...(who.kind === "worker" ? { worker: who.userId } : {}),
      statusPolicy: statusPolicyOf(
        mapping,
        event.taskId,
        projectId ? `${event.source}:${projectId}` : undefined,
      ),
    };
    if (events.length === 1 && isLarge(event))
      // One long event (a video track): its members are made as they are sent, never all held (long-change.ts).
      changes.push(eventToLongChange(event, options, work, new Uint32Array(countOf(event))));
    else if (
      !isLarge(event) &&
      (options.fresh || (event.type === "annotation.created" && !CREATES_AS_CHANGES.has(format)))
    )
      deliveries.push(...eventToDeliveries(event, options, work));
    else changes.push(eventToChange(event, options, work));
  }
  // A delete without an input id finds its annotations by ListAnnotations' task_id filter, which reads the
  // annotation's task_id field: with the task only in annotation_info it would find nothing and delete nothing.
  if (options.taskLink === "annotation_info" && changes.some((c) => c.kind === "delete" && !c.inputId))
    return fail(
      "delete-needs-task-id",
      "this delete names no input id, so its annotations are found by task, which needs CLARIFAI_TASK_LINK both or task_id (it is annotation_info)",
    );
  const skipped = events.reduce((n, e) => {
    const list = (e.metadata as { bridge_skipped?: unknown } | undefined)?.bridge_skipped;
    return n + (Array.isArray(list) ? list.length : 0);
  }, 0);
  return ok(format, deliveries, changes, skipped);
}

function ok(format: Format, deliveries: Delivery[], changes: Change[], skipped = 0): ParsedRecord {
  return { ok: true, format, deliveries, changes, skipped, bytes: 0 };
}

function fail(code: string, reason: string): { readonly ok: false; readonly failure: Failure } {
  return { ok: false, failure: permanent(code, reason) };
}

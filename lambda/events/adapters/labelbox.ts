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
  idText as text,
} from "./adapter-result.js";
import { isLabelboxMask, labelboxMaskRegion } from "./labelbox-masks.js";
import { isVideoLabel, labelboxVideoRegions } from "./labelbox-video.js";
import type { MappingConfig, ProjectMapping } from "./mapping-config.js";
import { type MaskFiles, NO_MASK_FILES } from "./mask-files.js";
import type { Adapter } from "./registry.js";
import { recordDropped, type Skipped, skipOrRefuse } from "./skip.js";

/**
 * Labelbox webhooks (../shared/upstream-events.md section 2) to canonical events. Two bodies: v1 (`id`, `label` as
 * a JSON string, `dataRow`, `project`) and v2 (one Export v2 row: `data_row`, `media_attributes`, `projects`).
 * The topic travels in the `X-Labelbox-Event` header, which the ingress copies into the `labelbox-event` message
 * attribute. Objects with a box, a polygon or a point become regions (pixels -> fractions), text entities
 * (`location`, v1 `data.location`) spans (Labelbox's inclusive `end` made exclusive; offsets passed as Labelbox
 * counts them); radio and checklist answers become concepts. Masks (`composite_mask` with its `color_rgb`, `mask.url`,
 * v1 `instanceURI`: PNGs behind Labelbox's API, fetched with the Labelbox key by the handler's edge) become masks;
 * polylines are refused by name, or skipped per mapping; video labels are one region per frame (labelbox-video.ts).
 */
type Json = Record<string, unknown>;

/**
 * The parts of the two bodies the adapter reads, as zod shapes: other fields are ignored, a part of the wrong
 * type is refused by name. Optional parts may be null.
 */
const answerSchema = z.looseObject({ title: opt(idLike), name: opt(idLike), value: opt(idLike) });
const classificationSchema = z.looseObject({
  answers: opt(z.array(z.nullable(answerSchema))),
  checklist_answers: opt(z.array(z.nullable(answerSchema))),
  // A free-text answer is a string (v1) or carries `text_answer` (v2): no concept.
  answer: z.optional(z.unknown()),
  radio_answer: z.optional(z.unknown()),
});
type Classification = z.infer<typeof classificationSchema>;
const offset = z.int().check(z.gte(0), z.lte(2 ** 32 - 2));
const locationSchema = z.looseObject({ start: offset, end: offset });
const boxSchema = z.looseObject({ top: z.number(), left: z.number(), height: z.number(), width: z.number() });
const objectSchema = z.looseObject({
  featureId: opt(idLike),
  feature_id: opt(idLike),
  title: opt(idLike),
  name: opt(idLike),
  value: opt(idLike),
  annotation_kind: opt(z.string()),
  bbox: opt(boxSchema),
  bounding_box: opt(boxSchema),
  polygon: opt(z.array(z.looseObject({ x: z.number(), y: z.number() }))),
  /** A point, in pixels (v1 and v2). */
  point: opt(z.looseObject({ x: z.number(), y: z.number() })),
  /** A mask: v2 `composite_mask` (the label's masks in one PNG, this one in `color_rgb`), v2 `mask`, v1 `instanceURI`. */
  composite_mask: opt(
    z.looseObject({
      url: z.string(),
      color_rgb: opt(z.array(z.int().check(z.gte(0), z.lte(255))).check(z.length(3))),
    }),
  ),
  mask: opt(z.looseObject({ url: opt(z.string()) })),
  instanceURI: opt(z.string()),
  /** A text entity: v2 `location`, v1 `data.location`; `end` is the last character's index (inclusive). */
  location: opt(locationSchema),
  data: opt(z.looseObject({ location: opt(locationSchema) })),
  classifications: opt(z.array(classificationSchema)),
});
type LabelObject = z.infer<typeof objectSchema>;
const contentSchema = z.looseObject({
  objects: opt(z.array(objectSchema)),
  classifications: opt(z.array(classificationSchema)),
  Skipped: opt(z.boolean()),
});
const v1Schema = z.looseObject({
  id: opt(idLike),
  label: opt(z.string()),
  skipped: opt(z.boolean()),
  project: opt(z.looseObject({ id: opt(idLike) })),
  dataRow: opt(
    z.looseObject({
      id: opt(idLike),
      externalId: opt(idLike),
      globalKey: opt(idLike),
      rowData: opt(z.string()),
    }),
  ),
});
const v2LabelSchema = z.looseObject({
  id: opt(idLike),
  label_details: opt(z.looseObject({ updated_at: opt(z.string()), created_by: opt(z.string()) })),
  annotations: opt(contentSchema),
  performance_details: opt(z.looseObject({ skipped: opt(z.boolean()) })),
});
const v2Schema = z.looseObject({
  data_row: opt(z.record(z.string(), z.unknown())),
  media_attributes: opt(
    z.looseObject({ width: opt(z.number()), height: opt(z.number()), frame_rate: opt(z.number()) }),
  ),
  projects: z.record(z.string(), z.looseObject({ labels: opt(z.array(v2LabelSchema)) })),
});
const WHAT = "Labelbox payload";

export interface LabelboxContext {
  /** `LABEL_CREATED`, `LABEL_UPDATED`, `LABEL_DELETED` (the `labelbox-event` attribute). */
  readonly topic?: string;
  /** `X-Labelbox-Id`, one per delivery (the `labelbox-id` attribute). */
  readonly deliveryId?: string;
  readonly receivedAt: Date;
  /** Mask files fetched by the handler's edge (mask-refs.ts). @default none: a mask is refused by name */
  readonly masks?: MaskFiles;
}

/** Topics that are labeling events; the others (reviews, workflow moves) are acknowledged and ignored. */
const LABEL_TOPICS = new Set(["LABEL_CREATED", "LABEL_UPDATED", "LABEL_DELETED"]);
/** The data row's global key (recommended: make it the Clarifai input id), else its external id, else its id. */
const DEFAULT_INPUT_RULES = [
  { from: "field", field: "global_key" } as const,
  { from: "field", field: "external_id" } as const,
  { from: "field", field: "id" } as const,
];

export function fromLabelbox(payload: Json, config: MappingConfig, context: LabelboxContext): AdapterResult {
  return adapt(() => {
    const topic = context.topic?.toUpperCase();
    if (topic && !LABEL_TOPICS.has(topic)) return []; // reviews, workflow moves: not labeling events
    const events =
      "projects" in payload ? fromV2(payload, config, context) : [fromV1(payload, config, context)];
    // A created label with nothing in it (and no configured negatives) is acknowledged: nothing to send.
    return events.filter(
      (e) => e.type !== "annotation.created" || (e.concepts?.length ?? 0) + (e.regions?.length ?? 0) > 0,
    );
  });
}

/** One label, whatever the body version: what the event builder needs. */
interface LabelView {
  readonly labelId: string;
  readonly projectId: string;
  readonly dataRow: Json;
  readonly size: { width: number; height: number } | undefined;
  readonly objects: readonly LabelObject[];
  readonly classifications: readonly Classification[];
  readonly skipped: boolean;
  readonly revision: string | undefined;
  readonly labeler: string | undefined;
  /** A video label's annotations (v2 `frames` and `segments`), read by labelbox-video.ts. */
  readonly video?: { readonly annotations: unknown; readonly media: Record<string, unknown> };
}

function fromV1(raw: Json, config: MappingConfig, context: LabelboxContext): LabelingEvent {
  const payload = readShape(v1Schema, raw, WHAT);
  let parsed: unknown = {};
  if (payload.label) {
    try {
      parsed = JSON.parse(payload.label);
    } catch (error) {
      throw new AdapterError("invalid-event", `Labelbox "label" is not JSON: ${(error as Error).message}`);
    }
  }
  const label = readShape(contentSchema, parsed, WHAT, "label");
  const row = payload.dataRow ?? {};
  return toEvent(
    {
      labelId: text(payload.id),
      projectId: text(payload.project?.id),
      // v1 names are camelCase; the input-id rules use the export v2 names.
      dataRow: { id: row.id, external_id: row.externalId, global_key: row.globalKey, row_data: row.rowData },
      size: undefined,
      objects: label.objects ?? [],
      classifications: label.classifications ?? [],
      skipped: label.Skipped === true || payload.skipped === true,
      revision: undefined,
      labeler: undefined, // not in the documented v1 body
    },
    config,
    context,
  );
}

function fromV2(raw: Json, config: MappingConfig, context: LabelboxContext): LabelingEvent[] {
  const payload = readShape(v2Schema, raw, WHAT);
  const media = payload.media_attributes ?? {};
  const size =
    typeof media.width === "number" && typeof media.height === "number"
      ? { width: media.width, height: media.height }
      : undefined;
  return Object.entries(payload.projects).flatMap(([projectId, project]) =>
    (project.labels ?? []).map((label) => {
      const details = label.label_details ?? {};
      const annotations = label.annotations ?? {};
      return toEvent(
        {
          labelId: text(label.id),
          projectId,
          dataRow: payload.data_row ?? {},
          size,
          objects: annotations.objects ?? [],
          classifications: annotations.classifications ?? [],
          skipped: label.performance_details?.skipped === true,
          revision: details.updated_at ?? undefined,
          labeler: details.created_by ?? undefined,
          ...(isVideoLabel(annotations) ? { video: { annotations, media } } : {}),
        },
        config,
        context,
      );
    }),
  );
}

function toEvent(view: LabelView, config: MappingConfig, context: LabelboxContext): LabelingEvent {
  if (!view.labelId) throw new AdapterError("invalid-event", "Labelbox payload has no label id");
  const mapping = projectMapping(config, `labelbox:${view.projectId}`);
  const topic = context.topic?.toUpperCase();
  const rowData = typeof view.dataRow.row_data === "string" ? view.dataRow.row_data : undefined;
  // A skipped label removes whatever the label had put in Clarifai, like a deleted one.
  const deleted = topic === "LABEL_DELETED" || view.skipped;
  // Delete bodies are not documented and may lack the field the input id came from at create time: a delete
  // finds the label's annotations through its task instead of trusting a possibly different input id.
  const inputId =
    topic === "LABEL_DELETED"
      ? undefined
      : resolveInputId(mapping.inputId ?? DEFAULT_INPUT_RULES, {
          field: (name) => view.dataRow[name],
          ...(rowData ? { assetUrl: rowData } : {}),
          vars: {
            taskId: plain(view.dataRow.id),
            annotationId: view.labelId,
            projectId: view.projectId,
          },
        });
  if (!inputId && !deleted)
    throw new AdapterError(
      "missing-input-id",
      `no Clarifai input id for Labelbox label ${view.labelId}: give the data row a global key, or an inputId rule`,
    );
  const when = view.revision ?? context.receivedAt.toISOString();
  const kind = deleted ? "deleted" : topic === "LABEL_CREATED" ? "created" : "updated";
  const skipped: Skipped = [];
  const content = deleted
    ? { concepts: [], regions: [] }
    : contentOf(view, mapping, skipped, context.masks ?? NO_MASK_FILES);
  return {
    specVersion: "1",
    eventId:
      `labelbox:${view.labelId}:${topic ?? "LABEL"}:${view.revision ?? context.deliveryId ?? when}`.slice(
        0,
        512,
      ),
    type: `annotation.${kind}`,
    occurredAt: when,
    source: "labelbox",
    taskId: mapping.taskId,
    ...(inputId ? { inputId } : {}),
    ...(mapping.app ? { app: mapping.app } : {}),
    ...(view.labeler ? { labeler: { id: view.labeler.slice(0, 255) } } : {}),
    ...(content.concepts.length ? { concepts: content.concepts } : {}),
    ...(content.regions.length ? { regions: content.regions } : {}),
    ...(skipped.length ? { metadata: { bridge_skipped: skipped } } : {}),
    upstream: {
      system: "labelbox",
      projectId: view.projectId,
      taskId: plain(view.dataRow.id).slice(0, 255),
      annotationId: view.labelId,
      ...(rowData ? { assetRef: rowData.slice(0, 2048) } : {}),
      ...(context.deliveryId ? { deliveryId: context.deliveryId.slice(0, 255) } : {}),
      ...(view.revision ? { revision: view.revision.slice(0, 64) } : {}),
      timeSource: view.revision ? "upstream" : "received",
    },
  };
}

/** Image-level answers as concepts (with the configured negatives), objects as regions. */
function contentOf(
  view: LabelView,
  mapping: ProjectMapping,
  skipped: Skipped,
  masks: MaskFiles,
): { concepts: NonNullable<LabelingEvent["concepts"]>; regions: Region[] } {
  const answers = view.classifications.flatMap(answerNames);
  // Free-text answers have no Clarifai concept: dropped, and listed with what was skipped.
  for (const c of view.classifications)
    if (answerNames(c).length === 0 && (typeof c.answer === "string" || isTextAnswer(c)))
      recordDropped(skipped, `text "${text(classificationName(c)).slice(0, 64)}"`);
  const concepts = answers.length || mapping.negatives?.length ? conceptsFor(answers, mapping) : [];
  const regions = view.objects.flatMap((object, index) =>
    regionOf(object, index, view, mapping, skipped, masks),
  );
  if (view.video)
    regions.push(
      ...labelboxVideoRegions(
        view.video.annotations,
        view.video.media,
        mapping,
        skipped,
        masks,
        `labelbox:${view.projectId}`,
      ),
    );
  return { concepts, regions };
}

const isTextAnswer = (c: Classification) =>
  typeof (c as Json).text_answer === "object" && (c as Json).text_answer !== null;
const classificationName = (c: Classification) => {
  const v = (c as Json).title ?? (c as Json).name ?? (c as Json).value;
  return typeof v === "string" || typeof v === "number" ? v : "?";
};

/** A scalar as text; anything else (an object, a list) as empty. */
function plain(value: unknown): string {
  return typeof value === "string" || typeof value === "number" ? String(value) : "";
}

/** The chosen answers of a radio or checklist classification (v1 `answer`/`answers`, v2 `radio_answer`/`checklist_answers`); text answers have none. */
function answerNames(classification: Classification): string[] {
  const name = (answer: z.infer<typeof answerSchema> | null) =>
    text(answer?.title ?? answer?.name ?? answer?.value);
  const many = classification.answers ?? classification.checklist_answers;
  if (Array.isArray(many)) return many.map(name).filter(Boolean);
  const one = classification.radio_answer ?? classification.answer;
  if (one !== null && typeof one === "object" && !Array.isArray(one))
    return [name(readShape(answerSchema, one, WHAT, "answer"))].filter(Boolean);
  return []; // a free-text answer: no concept
}

function regionOf(
  object: LabelObject,
  index: number,
  view: LabelView,
  mapping: ProjectMapping,
  skipped: Skipped,
  masks: MaskFiles,
): Region[] {
  const id = text(object.featureId ?? object.feature_id) || `#${index}`;
  const label = text(object.title ?? object.name ?? object.value);
  const box = object.bbox ?? object.bounding_box;
  const polygon = object.polygon;
  const location = object.location ?? object.data?.location;
  const nestedAnswers = () => (object.classifications ?? []).flatMap(answerNames);
  if (location && !box && !polygon) {
    // Labelbox's `end` is the index of the entity's last character (its docs: at most the text's length - 1);
    // Clarifai's `char_end` is exclusive, so one more.
    if (location.end < location.start)
      throw new AdapterError("degenerate-region", `Labelbox entity ${id.slice(0, 64)}: end is before start`);
    const concepts = conceptsFor([label, ...nestedAnswers()].filter(Boolean), { ...mapping, negatives: [] });
    if (concepts.length === 0)
      throw new AdapterError("invalid-event", `Labelbox object ${id.slice(0, 64)} has no name`);
    return [{ id: id.slice(0, 255), span: { start: location.start, end: location.end + 1 }, concepts }];
  }
  if (isLabelboxMask(object) && !box && !polygon && !object.point)
    return labelboxMaskRegion(
      object,
      id,
      [label, ...nestedAnswers()],
      masks,
      mapping,
      `labelbox:${view.projectId}`,
      view.size,
      skipped,
    );
  if (!box && !polygon && !object.point) {
    const kind = (object.annotation_kind ?? "no box or polygon").slice(0, 64);
    skipOrRefuse(
      mapping,
      skipped,
      `${kind} "${label.slice(0, 64)}"`,
      `Labelbox object "${label.slice(0, 64)}" (${kind}) has no Clarifai region equivalent`,
    );
    return [];
  }
  const size = view.size ?? mapping.imageSize;
  if (!size)
    throw new AdapterError(
      "missing-image-size",
      `Labelbox object ${id.slice(0, 64)}: pixel geometry needs the image size; set imageSize in the mapping for labelbox:${view.projectId.slice(0, 128)}`,
    );
  const { width: W, height: H } = size;
  const point = object.point;
  if (point && !box && !polygon && (point.x < 0 || point.y < 0 || point.x > W || point.y > H))
    throw new AdapterError("degenerate-region", `region ${id.slice(0, 64)}: the point is outside the image`);
  const shape: Pick<Region, "boundingBox" | "polygon" | "point"> = box
    ? checkedBox(id, box.top / H, box.left / W, (box.top + box.height) / H, (box.left + box.width) / W)
    : polygon
      ? checkedPolygon(
          id,
          polygon.map((p) => ({ x: p.x / W, y: p.y / H })),
        )
      : { point: { x: (point?.x ?? 0) / W, y: (point?.y ?? 0) / H } };
  const nested = nestedAnswers();
  const concepts = conceptsFor([label, ...nested].filter(Boolean), { ...mapping, negatives: [] });
  if (concepts.length === 0)
    throw new AdapterError("invalid-event", `Labelbox object ${id.slice(0, 64)} has no name`);
  return [{ id: id.slice(0, 255), ...shape, concepts }];
}

/** This adapter as the registry calls it (registry.ts). */
export const labelboxAdapter: Adapter = (payload, mapping, context) =>
  fromLabelbox(payload, mapping, context);

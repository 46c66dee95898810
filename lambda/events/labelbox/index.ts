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
import { recordDropped, type Skipped } from "../contract/skip.js";
import type { LabelingEvent, Region } from "../event-schema.js";
import { conceptsFor } from "../kinds/concepts.js";
import {
  answerNames,
  type Classification,
  classificationName,
  classificationSchema,
  isTextAnswer,
  type LabelObject,
  objectSchema,
  regionOf,
} from "./objects.js";
import { isVideoLabel, labelboxVideoRegions } from "./video.js";

/**
 * Labelbox webhooks (../shared/upstream-events.md section 2) to canonical events. Two bodies: v1 (`id`, `label` as
 * a JSON string, `dataRow`, `project`) and v2 (one Export v2 row: `data_row`, `media_attributes`, `projects`).
 * The topic travels in the `X-Labelbox-Event` header, which the ingress copies into the `labelbox-event` message
 * attribute. Objects with a box, a polygon or a point become regions (pixels -> fractions), text entities
 * (`location`, v1 `data.location`) spans (Labelbox's inclusive `end` made exclusive; offsets passed as Labelbox
 * counts them); radio and checklist answers become concepts. Masks (`composite_mask` with its `color_rgb`, `mask.url`,
 * v1 `instanceURI`: PNGs behind Labelbox's API, fetched with the Labelbox key by the handler's edge) become masks;
 * polylines are refused by name, or skipped per mapping; video labels are one region per frame (labelbox/video.ts).
 */
type Json = Record<string, unknown>;

/**
 * The parts of the two bodies the adapter reads, as zod shapes (an object's and a classification's in
 * labelbox/objects.ts): other fields are ignored, a part of the wrong type is refused by name. Optional parts may
 * be null.
 */
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
  /** A video label's annotations (v2 `frames` and `segments`), read by labelbox/video.ts. */
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

/** A scalar as text; anything else (an object, a list) as empty. */
function plain(value: unknown): string {
  return typeof value === "string" || typeof value === "number" ? String(value) : "";
}

/** This adapter as the registry calls it (registry.ts). */
export const labelboxAdapter: Adapter = (payload, mapping, context) =>
  fromLabelbox(payload, mapping, context);

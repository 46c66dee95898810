import type { LabelingEvent, Region } from "../event-schema.js";
import {
  AdapterError,
  type AdapterResult,
  adapt,
  checkedBox,
  checkedPolygon,
  conceptsFor,
  projectMapping,
  resolveInputId,
} from "./adapter-result.js";
import type { MappingConfig, ProjectMapping } from "./mapping-config.js";

/**
 * Labelbox webhooks (../shared/upstream-events.md section 2) to canonical events. Two bodies: v1 (`id`, `label` as
 * a JSON string, `dataRow`, `project`) and v2 (one Export v2 row: `data_row`, `media_attributes`, `projects`).
 * The topic travels in the `X-Labelbox-Event` header, which the ingress copies into the `labelbox-event` message
 * attribute. Objects with a box or polygon become regions (pixels -> fractions); radio and checklist answers
 * become concepts.
 */
type Json = Record<string, unknown>;

export interface LabelboxContext {
  /** `LABEL_CREATED`, `LABEL_UPDATED`, `LABEL_DELETED` (the `labelbox-event` attribute). */
  readonly topic?: string;
  /** `X-Labelbox-Id`, one per delivery (the `labelbox-id` attribute). */
  readonly deliveryId?: string;
  readonly receivedAt: Date;
}

/** Topics that are labeling events; the others (reviews, workflow moves) are acknowledged and ignored. */
const LABEL_TOPICS = new Set(["LABEL_CREATED", "LABEL_UPDATED", "LABEL_DELETED"]);
/** The data row's global key (recommended: make it the Clarifai input id), else its external id, else its id. */
const DEFAULT_INPUT_RULES = [
  { from: "field", field: "global_key" } as const,
  { from: "field", field: "external_id" } as const,
  { from: "field", field: "id" } as const,
];

/** Whether a body has one of Labelbox's shapes (detection without a `format` attribute). */
export const isLabelbox = (json: Json): boolean =>
  ("data_row" in json && "projects" in json) || (typeof json.label === "string" && "dataRow" in json);

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
  readonly objects: Json[];
  readonly classifications: Json[];
  readonly skipped: boolean;
  readonly revision: string | undefined;
  readonly labeler: string | undefined;
}

function fromV1(payload: Json, config: MappingConfig, context: LabelboxContext): LabelingEvent {
  const project = (payload.project ?? {}) as Json;
  let label: Json = {};
  if (typeof payload.label === "string" && payload.label) {
    try {
      label = JSON.parse(payload.label) as Json;
    } catch (error) {
      throw new AdapterError("invalid-event", `Labelbox "label" is not JSON: ${(error as Error).message}`);
    }
  }
  const row = (payload.dataRow ?? {}) as Json;
  return toEvent(
    {
      labelId: String(payload.id ?? ""),
      projectId: String(project.id ?? ""),
      // v1 names are camelCase; the input-id rules use the export v2 names.
      dataRow: { id: row.id, external_id: row.externalId, global_key: row.globalKey, row_data: row.rowData },
      size: undefined,
      objects: (label.objects ?? []) as Json[],
      classifications: (label.classifications ?? []) as Json[],
      skipped: label.Skipped === true || payload.skipped === true,
      revision: undefined,
      labeler: undefined, // not in the documented v1 body
    },
    config,
    context,
  );
}

function fromV2(payload: Json, config: MappingConfig, context: LabelboxContext): LabelingEvent[] {
  const media = (payload.media_attributes ?? {}) as Json;
  const size =
    typeof media.width === "number" && typeof media.height === "number"
      ? { width: media.width, height: media.height }
      : undefined;
  return Object.entries((payload.projects ?? {}) as Record<string, Json>).flatMap(([projectId, project]) =>
    ((project.labels ?? []) as Json[]).map((label) => {
      const details = (label.label_details ?? {}) as Json;
      const annotations = (label.annotations ?? {}) as Json;
      return toEvent(
        {
          labelId: String(label.id ?? ""),
          projectId,
          dataRow: (payload.data_row ?? {}) as Json,
          size,
          objects: (annotations.objects ?? []) as Json[],
          classifications: (annotations.classifications ?? []) as Json[],
          skipped: (label.performance_details as Json | undefined)?.skipped === true,
          revision: typeof details.updated_at === "string" ? details.updated_at : undefined,
          labeler: typeof details.created_by === "string" ? details.created_by : undefined,
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
            taskId: String(view.dataRow.id ?? ""),
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
  const content = deleted ? { concepts: [], regions: [] } : contentOf(view, mapping);
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
    upstream: {
      system: "labelbox",
      projectId: view.projectId,
      taskId: String(view.dataRow.id ?? ""),
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
): { concepts: NonNullable<LabelingEvent["concepts"]>; regions: Region[] } {
  const answers = view.classifications.flatMap(answerNames);
  const concepts = answers.length || mapping.negatives?.length ? conceptsFor(answers, mapping) : [];
  const regions = view.objects.map((object, index) => regionOf(object, index, view, mapping));
  return { concepts, regions };
}

/** The chosen answers of a radio or checklist classification (v1 `answer`/`answers`, v2 `radio_answer`/`checklist_answers`); text answers have none. */
function answerNames(classification: Json): string[] {
  const name = (a: unknown) => {
    const answer = (a ?? {}) as Json;
    return String(answer.title ?? answer.name ?? answer.value ?? "");
  };
  const many = (classification.answers ?? classification.checklist_answers) as unknown[] | undefined;
  if (Array.isArray(many)) return many.map(name).filter(Boolean);
  const one = classification.radio_answer ?? classification.answer;
  if (one && typeof one === "object") return [name(one)].filter(Boolean);
  return []; // a free-text answer: no concept
}

function regionOf(object: Json, index: number, view: LabelView, mapping: ProjectMapping): Region {
  const id = String(object.featureId ?? object.feature_id ?? `#${index}`);
  const label = String(object.title ?? object.name ?? object.value ?? "");
  const box = (object.bbox ?? object.bounding_box) as
    | { top: number; left: number; height: number; width: number }
    | undefined;
  const polygon = Array.isArray(object.polygon) ? (object.polygon as { x: number; y: number }[]) : undefined;
  if (!box && !polygon)
    throw new AdapterError(
      "unsupported-result-type",
      `Labelbox object "${label}" (${String(object.annotation_kind ?? "no box or polygon")}) has no Clarifai region equivalent`,
    );
  const size = view.size ?? mapping.imageSize;
  if (!size)
    throw new AdapterError(
      "missing-image-size",
      `Labelbox object ${id}: pixel geometry needs the image size; set imageSize in the mapping for labelbox:${view.projectId}`,
    );
  const { width: W, height: H } = size;
  const shape = box
    ? checkedBox(id, box.top / H, box.left / W, (box.top + box.height) / H, (box.left + box.width) / W)
    : checkedPolygon(
        id,
        (polygon ?? []).map((p) => ({ x: p.x / W, y: p.y / H })),
      );
  const nested = ((object.classifications ?? []) as Json[]).flatMap(answerNames);
  const concepts = conceptsFor([label, ...nested].filter(Boolean), { ...mapping, negatives: [] });
  if (concepts.length === 0) throw new AdapterError("invalid-event", `Labelbox object ${id} has no name`);
  return { id: id.slice(0, 255), ...shape, concepts };
}

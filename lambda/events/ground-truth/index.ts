// Over 300 lines: Ground Truth's output lines for each task type; video frames are a file of their own.
import * as z from "zod/mini";
import type { Adapter } from "../contract/adapter.js";
import {
  AdapterError,
  type AdapterResult,
  adapt,
  idLike,
  idText,
  opt,
  projectMapping,
  readShape,
  resolveInputId,
} from "../contract/adapter-result.js";
import { groundTruthLabelAttribute } from "../contract/detect.js";
import type { MappingConfig, ProjectMapping } from "../contract/mapping-config.js";
import { hexColor, type MaskFiles, maskOfFile, NO_MASK_FILES } from "../contract/mask-files.js";
import type { LabelingEvent, Region } from "../event-schema.js";
import { conceptsFor } from "../kinds/concepts.js";
import { checkedBox } from "../kinds/geometry.js";
import { maskRef } from "../kinds/mask-refs.js";
import { groundTruthSequenceEvents } from "./video.js";

/**
 * SageMaker Ground Truth output manifest lines (../shared/upstream-events.md section 3): image classification
 * (single and multi-label, images and text), bounding boxes (pixels, with `image_size`), named entities (spans),
 * semantic segmentation (a PNG in S3) and
 * video frame detection and tracking (a SeqLabel.json in S3, ground-truth/video.ts), labels through the metadata.
 */
type Json = Record<string, unknown>;
const DEFAULT_INPUT_RULES = [
  { from: "field", field: "clarifai-input-id" } as const,
  { from: "asset" } as const,
];

/** The parts of a line the adapter reads, as zod shapes; a part of the wrong type is refused by name. */
const metadataSchema = z.looseObject({
  type: z.string(),
  "job-name": opt(z.string()),
  "creation-date": opt(z.string()),
  "class-name": opt(idLike),
  "class-map": opt(z.record(z.string(), idLike)),
  /** Semantic segmentation: the PNG's colours, by class index (`class-name`, `hex-color`). */
  "internal-color-map": opt(
    z.record(z.string(), z.looseObject({ "class-name": opt(idLike), "hex-color": opt(z.string()) })),
  ),
  /** Not in the documented output; present in some custom and adjustment workflows. */
  "worker-id": opt(idLike),
  /** Adjustment jobs: `adjusted` when a worker changed the labels. */
  "adjustment-status": opt(z.string()),
});
const boxesSchema = z.looseObject({
  image_size: opt(z.array(z.looseObject({ width: opt(z.number()), height: opt(z.number()) }))),
  annotations: opt(
    z.array(
      z.looseObject({
        left: z.number(),
        top: z.number(),
        width: z.number(),
        height: z.number(),
        class_id: idLike,
      }),
    ),
  ),
});
const WHAT = "Ground Truth line";

export function fromGroundTruth(
  line: Json,
  config: MappingConfig,
  masks: MaskFiles = NO_MASK_FILES,
): AdapterResult {
  return adapt(() => {
    const attr = groundTruthLabelAttribute(line);
    if (!attr) return []; // not labeled yet: acknowledged, nothing to send
    const meta = readShape(metadataSchema, line[`${attr}-metadata`], WHAT, `${attr.slice(0, 64)}-metadata`);
    const job = (meta["job-name"] ?? "").replace(/^labeling-job\//, "");
    const mapping = projectMapping(config, `sagemaker-ground-truth:${job}`);
    const sourceRef = typeof line["source-ref"] === "string" ? (line["source-ref"] as string) : undefined;
    if (VIDEO_TYPES.has(meta.type)) return sequenceEvents(line, attr, meta, job, mapping, sourceRef, masks);
    const inputId = resolveInputId(mapping.inputId ?? DEFAULT_INPUT_RULES, {
      field: (name) => line[name],
      ...(sourceRef ? { assetUrl: sourceRef } : {}),
      vars: { taskId: sourceRef ?? "", annotationId: `${job}:${sourceRef ?? ""}`, projectId: job },
    });
    if (!inputId)
      throw new AdapterError(
        "missing-input-id",
        `no Clarifai input id for ${sourceRef ?? "this line"}: add "clarifai-input-id" to the input manifest, or an inputId rule`,
      );
    // An adjustment job keeps the original attribute and adds `adjusted-<attr>` (../shared/upstream-events.md 3.1),
    // with its own metadata: its creation date is the newer version's time, so the adjusted boxes replace the
    // original ones (the original's date would make them the same version, and the same version changes nothing).
    const adjustedMeta =
      line[`adjusted-${attr}`] !== undefined ? line[`adjusted-${attr}-metadata`] : undefined;
    const adjustedAt =
      adjustedMeta && typeof adjustedMeta === "object" && !Array.isArray(adjustedMeta)
        ? (adjustedMeta as Json)["creation-date"]
        : undefined;
    const created =
      typeof adjustedAt === "string" && adjustedAt.length <= 64 ? adjustedAt : (meta["creation-date"] ?? "");
    const occurredAt = created ? withZone(created) : new Date().toISOString();
    const className = classNames(meta);
    const value = line[attr];
    const type = meta.type;
    let concepts: NonNullable<LabelingEvent["concepts"]> = [];
    let regions: Region[] = [];
    if (type === "groundtruth/image-classification" || type === "groundtruth/text-classification") {
      const name = meta["class-name"] != null ? String(meta["class-name"]) : className(value);
      if (!name)
        throw new AdapterError("invalid-upstream", `${WHAT}: ${attr.slice(0, 64)}: is not a class id`);
      concepts = conceptsFor([name], mapping);
    } else if (
      type === "groundtruth/image-classification-multilabel" ||
      type === "groundtruth/text-classification-multilabel"
    ) {
      const names = (Array.isArray(value) ? value : []).map(className).filter(Boolean);
      concepts = conceptsFor(names, mapping);
    } else if (type === "groundtruth/object-detection") {
      const adjusted = line[`adjusted-${attr}`];
      const v = readShape(
        boxesSchema,
        adjusted ?? value,
        WHAT,
        (adjusted ? "adjusted-" : "") + attr.slice(0, 64),
      );
      const first = v.image_size?.[0];
      const size = first?.width && first.height ? { width: first.width, height: first.height } : undefined;
      if (!size)
        throw new AdapterError("missing-image-size", `${attr}: a bounding box line needs image_size`);
      regions = (v.annotations ?? []).map((box, i) => {
        const { left, top, width, height, class_id } = box;
        const name = className(class_id);
        return {
          id: `box-${i}`,
          ...checkedBox(
            `box-${i}`,
            top / size.height,
            left / size.width,
            (top + height) / size.height,
            (left + width) / size.width,
          ),
          concepts: conceptsFor([name], { ...mapping, negatives: [] }),
        } as Region;
      });
      if (mapping.negatives?.length) concepts = conceptsFor([], mapping);
    } else if (type === "groundtruth/text-span") {
      regions = textSpans(value, line.source, mapping, attr);
      if (mapping.negatives?.length) concepts = conceptsFor([], mapping);
    } else if (type === "groundtruth/semantic-segmentation") {
      regions = segmentationRegions(value, meta, mapping, `sagemaker-ground-truth:${job}`, masks, attr);
      if (mapping.negatives?.length) concepts = conceptsFor([], mapping);
    } else {
      throw new AdapterError(
        "unsupported-result-type",
        `Ground Truth job type ${type} is not supported (image and text classification, bounding boxes, named entities, semantic segmentation and video frame jobs are)`,
      );
    }
    if (concepts.length + regions.length === 0) return [];
    const objectId = line[`${attr}-object-id`] ?? line[`$${attr}-object-id`];
    const dedup =
      typeof objectId === "string" || typeof objectId === "number"
        ? String(objectId)
        : (sourceRef ?? inputId);
    return [
      {
        specVersion: "1",
        eventId: `gt:${job}:${dedup}:${created || occurredAt}`.slice(0, 512),
        type: line[`adjusted-${attr}`] ? "annotation.updated" : "annotation.created",
        occurredAt,
        source: "sagemaker-ground-truth",
        taskId: mapping.taskId,
        inputId,
        ...(idText(meta["worker-id"]) ? { labeler: { id: idText(meta["worker-id"]).slice(0, 255) } } : {}),
        ...(mapping.app ? { app: mapping.app } : {}),
        ...(concepts.length ? { concepts } : {}),
        ...(regions.length ? { regions } : {}),
        upstream: {
          system: "sagemaker-ground-truth",
          projectId: job,
          annotationId: `${job}:${sourceRef ?? inputId}`.slice(0, 255),
          ...(sourceRef ? { assetRef: sourceRef.slice(0, 2048), taskId: sourceRef.slice(0, 255) } : {}),
          timeSource: created ? "upstream" : "received",
        },
      },
    ];
  });
}

/**
 * Semantic segmentation: the label attribute (`<name>-ref`) is the S3 URI of a PNG the size of the image, each
 * pixel in its class's `hex-color` from the metadata's `internal-color-map` (AWS's sms-data-output.md). Each class
 * but `BACKGROUND` with at least one pixel becomes a mask region of its concept (`class-<index>`); the PNG is read
 * from S3 by the handler's edge (the bucket listed in the project's `maskOrigins`, which the stack grants).
 */
function segmentationRegions(
  value: unknown,
  meta: z.infer<typeof metadataSchema>,
  mapping: ProjectMapping,
  mappingKey: string,
  masks: MaskFiles,
  attr: string,
): Region[] {
  const what = `${WHAT}: ${attr.slice(0, 64)}`;
  if (typeof value !== "string")
    throw new AdapterError(
      "invalid-upstream",
      `${what}: a semantic segmentation label is the S3 URI of its PNG`,
    );
  const ref = maskRef(value, "sagemaker-ground-truth", mapping, mappingKey, what);
  const colours = Object.entries(meta["internal-color-map"] ?? {})
    .filter(([, c]) => idText(c["class-name"]).toUpperCase() !== "BACKGROUND")
    .sort(([a], [b]) => Number(a) - Number(b));
  if (colours.length === 0)
    throw new AdapterError("invalid-upstream", `${what}: the metadata has no internal-color-map classes`);
  const regions: Region[] = [];
  for (const [index, c] of colours) {
    const name = idText(c["class-name"]);
    const rgb = hexColor(c["hex-color"]);
    if (!name || !rgb)
      throw new AdapterError(
        "invalid-upstream",
        `${what}: internal-color-map["${index.slice(0, 16)}"] needs a class-name and a #rrggbb hex-color`,
      );
    const mask = maskOfFile(masks, ref, { by: "color", rgb }, `${what} class ${name.slice(0, 64)}`);
    if (mask === undefined) return []; // not fetched yet: the record comes back needing it
    if (mask)
      regions.push({
        id: `class-${index.slice(0, 16)}`,
        ...mask,
        concepts: conceptsFor([name], { ...mapping, negatives: [] }),
      } as Region);
  }
  return regions;
}

/**
 * Named entity recognition (`groundtruth/text-span`): `annotations.entities[]` of `{label, startOffset, endOffset}`,
 * "Unicode" offsets into the line's `source` text (AWS's example: "cloud machine-learning platform" is 22 to 53 of
 * its sentence, so the end is exclusive and the unit is the code point, Python's), each a span region with the text
 * it covers.
 */
const entitiesSchema = z.looseObject({
  annotations: z.looseObject({
    entities: z
      .array(
        z.looseObject({
          label: idLike,
          startOffset: z.int().check(z.gte(0), z.lte(2 ** 32 - 2)),
          endOffset: z.int().check(z.gte(0), z.lte(2 ** 32 - 1)),
        }),
      )
      .check(z.maxLength(20_000)),
  }),
});

function textSpans(value: unknown, source: unknown, mapping: ProjectMapping, attr: string): Region[] {
  const v = readShape(entitiesSchema, value, WHAT, attr.slice(0, 64));
  const chars = typeof source === "string" ? Array.from(source) : undefined;
  return v.annotations.entities.map((e, i) => {
    if (e.endOffset <= e.startOffset)
      throw new AdapterError("degenerate-region", `${WHAT}: entity ${i} ends before it starts`);
    if (chars && e.endOffset > chars.length)
      throw new AdapterError("degenerate-region", `${WHAT}: entity ${i} ends after the text`);
    const text = chars?.slice(e.startOffset, e.endOffset).join("");
    return {
      id: `span-${i}`,
      span: {
        start: e.startOffset,
        end: e.endOffset,
        ...(text !== undefined && text.length <= 65_536 ? { text } : {}),
      },
      concepts: conceptsFor([idText(e.label)], { ...mapping, negatives: [] }),
    } as Region;
  });
}

/** Video frame jobs: their labels are in a SeqLabel.json in S3 (ground-truth/video.ts). */
const VIDEO_TYPES = new Set(["groundtruth/video-object-tracking", "groundtruth/video-object-detection"]);

function sequenceEvents(
  line: Json,
  attr: string,
  meta: z.infer<typeof metadataSchema>,
  job: string,
  mapping: ProjectMapping,
  sourceRef: string | undefined,
  masks: MaskFiles,
): LabelingEvent[] {
  const created = meta["creation-date"] ?? "";
  return groundTruthSequenceEvents(
    line[attr],
    {
      attr,
      job,
      mapping,
      mappingKey: `sagemaker-ground-truth:${job}`,
      sourceRef,
      created,
      occurredAt: created ? utcTime(created) : new Date().toISOString(),
      className: classNames(meta),
      labeler: idText(meta["worker-id"]),
      adjusted: meta["adjustment-status"] === "adjusted",
    },
    masks,
  );
}

/** Ground Truth writes creation-date without a zone: it is UTC. */
const withZone = (created: string) => (/[zZ]|[+-]\d\d:?\d\d$/.test(created) ? created : `${created}Z`);

/** The creation date as an ISO time in UTC (video jobs write it with `+0000`). */
function utcTime(created: string): string {
  const zoned = withZone(created);
  const t = Date.parse(zoned.replace(/([+-]\d\d)(\d\d)$/, "$1:$2"));
  return Number.isNaN(t) ? zoned : new Date(t).toISOString();
}

/** A class id (or index) named through the metadata's `class-map`; an id it does not list as itself. */
function classNames(meta: z.infer<typeof metadataSchema>): (key: unknown) => string {
  const classMap = meta["class-map"] ?? {};
  return (key) => {
    const k = typeof key === "string" || typeof key === "number" ? String(key) : "";
    return Object.hasOwn(classMap, k) ? String(classMap[k]) : k;
  };
}

/** This adapter as the registry calls it (registry.ts). */
export const groundTruthAdapter: Adapter = (payload, mapping, context) =>
  fromGroundTruth(payload, mapping, context.masks);

import type { LabelingEvent, Region } from "../event-schema.js";
import {
  AdapterError,
  type AdapterResult,
  adapt,
  checkedBox,
  conceptsFor,
  projectMapping,
  resolveInputId,
} from "./adapter-result.js";
import type { MappingConfig } from "./mapping-config.js";

/**
 * SageMaker Ground Truth output manifest lines (../shared/upstream-events.md section 3): image classification
 * (single and multi-label) and bounding boxes (pixels, with `image_size`), labels through the metadata.
 */
type Json = Record<string, unknown>;
const DEFAULT_INPUT_RULES = [
  { from: "field", field: "clarifai-input-id" } as const,
  { from: "asset" } as const,
];

/** The label attribute of a line: the key K whose `K-metadata.type` is a Ground Truth job type. */
export function groundTruthLabelAttribute(line: Json): string | undefined {
  return Object.keys(line).find((k) => {
    const meta = line[`${k}-metadata`] as Json | undefined;
    return typeof meta?.type === "string" && meta.type.startsWith("groundtruth/");
  });
}

export function fromGroundTruth(line: Json, config: MappingConfig): AdapterResult {
  return adapt(() => {
    const attr = groundTruthLabelAttribute(line);
    if (!attr) return []; // not labeled yet: acknowledged, nothing to send
    const meta = line[`${attr}-metadata`] as Json;
    const job = String(meta["job-name"] ?? "").replace(/^labeling-job\//, "");
    const mapping = projectMapping(config, `sagemaker-ground-truth:${job}`);
    const sourceRef = typeof line["source-ref"] === "string" ? (line["source-ref"] as string) : undefined;
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
    const created = String(meta["creation-date"] ?? "");
    // Ground Truth writes creation-date without a zone: it is UTC.
    const occurredAt = created
      ? /[zZ]|[+-]\d\d:?\d\d$/.test(created)
        ? created
        : `${created}Z`
      : new Date().toISOString();
    const classMap = (meta["class-map"] ?? {}) as Record<string, string>;
    const value = line[attr];
    const type = String(meta.type);
    let concepts: NonNullable<LabelingEvent["concepts"]> = [];
    let regions: Region[] = [];
    if (type === "groundtruth/image-classification") {
      concepts = conceptsFor([String(meta["class-name"] ?? classMap[String(value)] ?? value)], mapping);
    } else if (type === "groundtruth/image-classification-multilabel") {
      const names = (Array.isArray(value) ? value : []).map((i) => classMap[String(i)] ?? String(i));
      concepts = conceptsFor(names, mapping);
    } else if (type === "groundtruth/object-detection") {
      const v = (line[`adjusted-${attr}`] ?? value) as {
        image_size?: { width: number; height: number }[];
        annotations?: Json[];
      };
      const size = v.image_size?.[0];
      if (!size?.width || !size.height)
        throw new AdapterError("missing-image-size", `${attr}: a bounding box line needs image_size`);
      regions = (v.annotations ?? []).map((box, i) => {
        const { left, top, width, height, class_id } = box as {
          left: number;
          top: number;
          width: number;
          height: number;
          class_id: number;
        };
        const name = classMap[String(class_id)] ?? String(class_id);
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
    } else {
      throw new AdapterError(
        "unsupported-result-type",
        `Ground Truth job type ${type} is not supported (classification and bounding boxes are)`,
      );
    }
    if (concepts.length + regions.length === 0) return [];
    const dedup = String(line[`${attr}-object-id`] ?? line[`$${attr}-object-id`] ?? sourceRef ?? inputId);
    return [
      {
        specVersion: "1",
        eventId: `gt:${job}:${dedup}:${created || occurredAt}`.slice(0, 512),
        type: line[`adjusted-${attr}`] ? "annotation.updated" : "annotation.created",
        occurredAt,
        source: "sagemaker-ground-truth",
        taskId: mapping.taskId,
        inputId,
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

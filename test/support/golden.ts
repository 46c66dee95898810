import type { ParseOptions } from "../../lambda/delivery/parse-record.js";
import type { MappingConfig } from "../../lambda/events/adapters/mapping-config.js";
import { lsMapping } from "./label-studio.js";

/**
 * The upstream fixtures whose Clarifai bodies are pinned in test/fixtures/upstream/clarifai/ (reviewed by hand:
 * fractions, rotation, class maps, negatives), with the mapping and message attributes each is read with.
 */
export const GOLDEN_MAPPING: MappingConfig = {
  projects: {
    ...lsMapping.projects,
    "sagemaker-ground-truth:shelf-audit": { taskId: "shelf-q4", negatives: ["planogram-ok"] },
    "sagemaker-ground-truth:street-boxes": { taskId: "street-audit" },
    "labelbox:clx0pr0000street": {
      taskId: "street-audit",
      labels: { Car: "car", Cyclist: "cyclist", Street: "street" },
      imageSize: { width: 960, height: 540 },
    },
    "scale:street-boxes": {
      taskId: "street-audit",
      labels: { traffic_sign: "traffic-sign" },
    },
    "scale:road-surface": { taskId: "road-surface-q4", negatives: ["snow"] },
    "cvat:5": { taskId: "street-audit", negatives: ["night"], unsupported: "skip" },
    "label-studio:14": { taskId: "face-landmarks", keypoints: { face: ["nose", "left_eye", "right_eye"] } },
    "label-studio:15": { taskId: "traffic-video", labels: { Car: "car" } },
    "label-studio:16": { taskId: "reviews-ner", labels: { ORG: "organisation", LOC: "location" } },
  },
};

export const GOLDEN_CASES: readonly { fixture: string; attributes?: Record<string, string> }[] = [
  { fixture: "label-studio-created.json" },
  { fixture: "label-studio-rotated.json" },
  { fixture: "ground-truth-boxes.json" },
  { fixture: "ground-truth-multilabel.json" },
  { fixture: "labelbox-v2-row.json", attributes: { "labelbox-event": "LABEL_UPDATED" } },
  {
    fixture: "labelbox-v1-created.json",
    attributes: { "labelbox-event": "LABEL_CREATED", "labelbox-id": "dlv-1" },
  },
  {
    fixture: "labelbox-v1-deleted.json",
    attributes: { format: "labelbox", "labelbox-event": "LABEL_DELETED" },
  },
  { fixture: "scale-imageannotation.json" },
  { fixture: "scale-categorization.json" },
  { fixture: "scale-canceled.json" },
  { fixture: "cvat-frame-0.json" },
  { fixture: "cvat-frame-1.json" },
  { fixture: "cvat-frame-2.json" },
  { fixture: "label-studio-brush.json" },
  { fixture: "label-studio-keypoints.json" },
  { fixture: "label-studio-ner.json" },
  { fixture: "label-studio-video.json" },
];

export function goldenOptions(c: (typeof GOLDEN_CASES)[number]): ParseOptions {
  return {
    taskLink: "both",
    defaultApp: { userId: "acme", appId: "street-scenes" },
    upstream: GOLDEN_MAPPING,
    receivedAt: new Date("2026-11-28T00:00:00Z"),
    attributes: c.attributes ?? {},
  };
}

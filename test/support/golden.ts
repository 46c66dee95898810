import { readFileSync } from "node:fs";
import type { ParseOptions } from "../../lambda/delivery/parse-record.js";
import type { MappingConfig } from "../../lambda/events/contract/mapping-config.js";
import { lsMapping } from "./label-studio.js";
import { groundTruthSegmentation, labelboxComposite, scaleIndexed } from "./mask-files.js";

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
    "scale:street-seg": { taskId: "street-seg", maskOrigins: ["https://scale-segmentation.example.com"] },
    "sagemaker-ground-truth:street-seg": {
      taskId: "street-seg",
      maskOrigins: ["s3://acme-gt-output/street-seg/"],
    },
    "sagemaker-ground-truth:street-tracking": {
      taskId: "street-tracking",
      maskOrigins: ["s3://acme-gt-output/street-tracking/"],
      imageSize: { width: 640, height: 480 },
    },
    "sagemaker-ground-truth:example-ner-labeling-job": { taskId: "docs-ner" },
  },
};

/** Files a golden case's masks or labels are in (mask-files.ts), by URL, as the handler would fetch them. */
const FILES: Record<string, () => Uint8Array> = {
  "labelbox-v2-masks.json": labelboxComposite,
  "scale-segmentannotation.json": scaleIndexed,
  "ground-truth-segmentation.json": groundTruthSegmentation,
  "ground-truth-video-tracking.json": () =>
    new Uint8Array(readFileSync("test/fixtures/upstream/ground-truth-SeqLabel.json")),
};
const FILE_URLS: Record<string, string> = {
  "labelbox-v2-masks.json": "https://api.labelbox.com/api/v1/tasks/clx0tk0000001/masks/clx0cm0000001/index/1",
  "scale-segmentannotation.json":
    "https://scale-segmentation.example.com/results/6512a7c4e1b8f9001f3c2d77/combined-indexed.png",
  "ground-truth-segmentation.json":
    "s3://acme-gt-output/street-seg/annotations/consolidated-annotation/output/0_2026-11-22T09:12:44.png",
  "ground-truth-video-tracking.json":
    "s3://acme-gt-output/street-tracking/annotations/consolidated-annotation/output/0/SeqLabel.json",
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
  { fixture: "labelbox-v2-masks.json", attributes: { "labelbox-event": "LABEL_CREATED" } },
  { fixture: "scale-segmentannotation.json" },
  { fixture: "ground-truth-segmentation.json" },
  { fixture: "ground-truth-video-tracking.json" },
  { fixture: "ground-truth-ner.json" },
];

export function goldenOptions(c: (typeof GOLDEN_CASES)[number]): ParseOptions {
  return {
    taskLink: "both",
    defaultApp: { userId: "acme", appId: "street-scenes" },
    upstream: GOLDEN_MAPPING,
    receivedAt: new Date("2026-11-28T00:00:00Z"),
    attributes: c.attributes ?? {},
    ...(FILES[c.fixture] && FILE_URLS[c.fixture]
      ? {
          fetchedMasks: new Map([
            [
              FILE_URLS[c.fixture] as string,
              { ok: true as const, bytes: (FILES[c.fixture] as () => Uint8Array)() },
            ],
          ]),
        }
      : {}),
  };
}

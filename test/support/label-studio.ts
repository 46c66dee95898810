import { readFileSync } from "node:fs";
import type { MappingConfig } from "../../lambda/events/contract/mapping-config.js";

/**
 * Label Studio webhook bodies for one annotation's life (project 12, annotation 4521, input sku-street-0307),
 * built from the documented fixture: created, updated with a new result, deleted by id.
 */
export const LS_INPUT = "sku-street-0307";
export const LS_TASK = "street-audit";

export const lsMapping: MappingConfig = {
  projects: {
    "label-studio:12": {
      taskId: LS_TASK,
      labels: { Car: "car", Street: "street", Cyclist: "cyclist", Water: "water" },
      negatives: ["water"],
    },
  },
};

type Json = Record<string, unknown>;
const fixture = (): Json & { annotation: Json & { result: Json[] } } =>
  JSON.parse(readFileSync("test/fixtures/upstream/label-studio-created.json", "utf8"));

export function lsCreated(annotationId = 4521): string {
  const payload = fixture();
  payload.annotation.id = annotationId;
  return JSON.stringify(payload);
}

/**
 * The update a labeler makes at `updatedAt`: the car box moved right (x 30%), the polygon removed, and the scene
 * changed from Street to Water.
 */
export function lsUpdated(updatedAt: string, annotationId = 4521): string {
  const payload = fixture();
  const result = payload.annotation.result
    .filter((item) => item.type !== "polygonlabels")
    .map((item) => {
      if (item.type === "rectanglelabels") return { ...item, value: { ...(item.value as Json), x: 30 } };
      if (item.type === "choices") return { ...item, value: { choices: ["Water"] } };
      return item;
    });
  return JSON.stringify({
    ...payload,
    action: "ANNOTATION_UPDATED",
    annotation: { ...payload.annotation, id: annotationId, updated_at: updatedAt, result },
  });
}

export function lsDeleted(...annotationIds: number[]): string {
  return JSON.stringify({
    action: "ANNOTATIONS_DELETED",
    annotations: annotationIds.map((id) => ({ id })),
    project: { id: 12, title: "Street scenes" },
  });
}

/**
 * A Label Studio JSON export of project 12 (what "Export > JSON" writes): `n` tasks, each with one annotation of
 * the fixture's result (a box, a polygon, a choice), on inputs `${inputPrefix}${i}`.
 */
export function labelStudioExportTasks(n: number, inputPrefix = "export-in-", firstTask = 50_000): Json[] {
  const hook = fixture();
  const task = hook.task as Json;
  return Array.from({ length: n }, (_, i) => ({
    ...task,
    id: firstTask + i,
    project: 12,
    data: { ...(task.data as Json), clarifai_input_id: `${inputPrefix}${i}` },
    annotations: [{ ...hook.annotation, id: firstTask * 2 + i, task: firstTask + i }],
  }));
}

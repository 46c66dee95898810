/**
 * Which format a body is in, from its shape: small predicates with no dependencies, so detection (in every
 * function's cold start) never loads an adapter; each adapter is loaded only when a record of its format arrives
 * (registry.ts).
 */
type Json = Record<string, unknown>;

/** Label Studio's webhook actions (its `webhooks/models.py` `WebhookAction`). */
export const LABEL_STUDIO_ACTIONS: ReadonlySet<string> = new Set([
  "ANNOTATION_CREATED",
  "ANNOTATIONS_CREATED",
  "ANNOTATION_UPDATED",
  "ANNOTATIONS_DELETED",
  "ANNOTATION_DELETED",
  "TASKS_CREATED",
  "TASKS_DELETED",
  "PROJECT_CREATED",
  "PROJECT_UPDATED",
  "PROJECT_DELETED",
  "LABEL_LINK_CREATED",
  "LABEL_LINK_UPDATED",
  "LABEL_LINK_DELETED",
]);

/** Whether a body has one of Labelbox's shapes (detection without a `format` attribute). */
export const isLabelbox = (json: Json): boolean =>
  ("data_row" in json && "projects" in json) || (typeof json.label === "string" && "dataRow" in json);

/** A Scale callback: a task with its id, and the callback's task_id or response. */
export function isScale(json: Json): boolean {
  const task = json.task as Json | null | undefined;
  return (
    task !== null &&
    typeof task === "object" &&
    task.task_id !== undefined &&
    ("task_id" in json || "response" in json)
  );
}

/** A CVAT video job's body, as the puller queues it. */
export const isCvatVideo = (json: Json): boolean => json.cvat === "job-video";

/** A CVAT body the puller queues: one frame of an image job, or a video job. */
export const isCvatFrame = (json: Json): boolean => json.cvat === "job-frame" || isCvatVideo(json);

/** The label attribute of a Ground Truth output line: the key whose `-metadata` has a `groundtruth/` type. */
export function groundTruthLabelAttribute(line: Json): string | undefined {
  return Object.keys(line).find((k) => {
    const meta = line[`${k}-metadata`] as Json | undefined;
    return typeof meta?.type === "string" && meta.type.startsWith("groundtruth/");
  });
}

export const FORMATS = [
  "canonical",
  "clarifai-native",
  "label-studio",
  "labelbox",
  "sagemaker-ground-truth",
  "scale",
  "cvat",
] as const;
export type Format = (typeof FORMATS)[number];

/**
 * Which format a parsed body is in: an explicit `format` message attribute wins; otherwise its shape decides
 * (../shared/upstream-events.md 7.9). An SNS envelope (Ground Truth streaming jobs without raw delivery) is
 * unwrapped first. Returns the (possibly unwrapped) payload.
 */
export function detect(
  json: Record<string, unknown>,
  attribute?: string,
): { format: Format | undefined; payload: Record<string, unknown> } {
  if (json.Type === "Notification" && typeof json.Message === "string") {
    try {
      const inner = JSON.parse(json.Message) as unknown;
      if (inner && typeof inner === "object" && !Array.isArray(inner))
        return detect(inner as Record<string, unknown>, attribute);
    } catch {
      // not JSON inside: fall through and report the envelope's own keys
    }
  }
  if (attribute)
    return {
      format: (FORMATS as readonly string[]).includes(attribute) ? (attribute as Format) : undefined,
      payload: json,
    };
  if ("specVersion" in json) return { format: "canonical", payload: json };
  if (typeof json.action === "string" && LABEL_STUDIO_ACTIONS.has(json.action))
    return { format: "label-studio", payload: json };
  if (isLabelbox(json)) return { format: "labelbox", payload: json };
  if (isScale(json)) return { format: "scale", payload: json };
  if (isCvatFrame(json)) return { format: "cvat", payload: json };
  if ("annotations" in json) return { format: "clarifai-native", payload: json };
  if (groundTruthLabelAttribute(json) || ("source-ref" in json && Object.keys(json).length <= 3)) {
    return { format: "sagemaker-ground-truth", payload: json };
  }
  return { format: undefined, payload: json };
}

import { z } from "zod";

/**
 * The canonical labeling event, spec version "1" (see ../shared/labeling-event.v1.schema.json for the JSON Schema
 * of the same contract), and the Clarifai-native body accepted unchanged. Types are derived from these schemas.
 */

const id = (max: number) => z.string().min(1).max(max);
const fraction = z.number().min(0).max(1);

export const conceptSchema = z.strictObject({
  id: id(255),
  name: z.string().max(255).optional(),
  /** 1 = present, 0 = explicitly absent (a negative). */
  value: z.number().min(0).max(1),
});

export const regionSchema = z
  .strictObject({
    id: id(255).optional(),
    boundingBox: z
      .strictObject({ top: fraction, left: fraction, bottom: fraction, right: fraction })
      .refine((b) => b.top < b.bottom, { message: "top must be less than bottom" })
      .refine((b) => b.left < b.right, { message: "left must be less than right" })
      .optional(),
    polygon: z
      .strictObject({
        points: z
          .array(z.strictObject({ x: fraction, y: fraction }))
          .min(3)
          .max(10_000),
      })
      .optional(),
    concepts: z.array(conceptSchema).min(1).max(100),
  })
  .refine((r) => (r.boundingBox === undefined) !== (r.polygon === undefined), {
    message: "a region needs exactly one of boundingBox or polygon",
  });

export const EVENT_TYPES = ["annotation.created", "annotation.updated", "annotation.deleted"] as const;

export const labelingEventSchema = z
  .strictObject({
    specVersion: z.literal("1"),
    eventId: id(512),
    type: z.enum(EVENT_TYPES),
    occurredAt: z.iso.datetime({ offset: true }),
    source: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[a-z0-9][a-z0-9._-]*$/, "must be lower-case letters, digits, '.', '_' or '-'"),
    taskId: id(128),
    inputId: id(255).optional(),
    annotationId: id(255).optional(),
    app: z.strictObject({ userId: id(255), appId: id(255) }).optional(),
    labeler: z
      .strictObject({
        id: id(255),
        email: z.string().max(320).optional(),
        name: z.string().max(255).optional(),
      })
      .optional(),
    concepts: z.array(conceptSchema).max(1000).optional(),
    regions: z.array(regionSchema).max(1000).optional(),
    upstream: z
      .strictObject({
        system: z.string().max(64).optional(),
        projectId: z.string().max(255).optional(),
        taskId: z.string().max(255).optional(),
        annotationId: z.string().max(255).optional(),
        assetRef: z.string().max(2048).optional(),
        deliveryId: z.string().max(255).optional(),
        revision: z.string().max(64).optional(),
        timeSource: z.enum(["upstream", "received"]).optional(),
      })
      .optional(),
    metadata: z
      .record(z.string(), z.unknown())
      .refine((m) => Object.keys(m).length <= 32, { message: "must have at most 32 keys" })
      .optional(),
  })
  .superRefine((event, ctx) => {
    if (event.type !== "annotation.created") return;
    if (event.inputId === undefined) {
      ctx.addIssue({ code: "custom", path: ["inputId"], message: "is required for annotation.created" });
    }
    if ((event.concepts?.length ?? 0) + (event.regions?.length ?? 0) === 0) {
      ctx.addIssue({
        code: "custom",
        path: ["concepts"],
        message: "annotation.created needs at least one concept or region",
      });
    }
  });

export type LabelingEvent = z.infer<typeof labelingEventSchema>;
export type Concept = z.infer<typeof conceptSchema>;
export type Region = z.infer<typeof regionSchema>;

const nativeAnnotationSchema = z
  .strictObject({
    id: id(255).optional(),
    input_id: id(255),
    task_id: z.string().max(128).optional(),
    annotation_info: z.record(z.string(), z.unknown()).optional(),
    data: z.record(z.string(), z.unknown()),
    input_level: z.boolean().optional(),
  })
  .refine((a) => Boolean(a.task_id) || typeof a.annotation_info?.task_id === "string", {
    message: "needs a task id in task_id or annotation_info.task_id",
    path: ["task_id"],
  });

/** The body Clarifai's docs show for PostAnnotations, as an upstream that already speaks Clarifai sends it. */
export const clarifaiNativeBodySchema = z.strictObject({
  user_app_id: z.strictObject({ user_id: id(255), app_id: id(255) }).optional(),
  annotations: z.array(nativeAnnotationSchema).min(1).max(1000),
});

export type ClarifaiNativeBody = z.infer<typeof clarifaiNativeBodySchema>;

/** Per-parse error map: a missing field says "is required" rather than "expected string, received undefined". */
export const requiredFieldMessages: z.core.$ZodErrorMap = (issue) =>
  issue.code === "invalid_type" && issue.input === undefined ? "is required" : undefined;

/** `concepts[1].value: Too big: expected number to be <=1` — the field, then the rule, for every issue. */
export function describeIssues(error: z.ZodError, max = 5): string {
  const lines = error.issues.slice(0, max).map((issue) => `${formatPath(issue.path)}: ${issue.message}`);
  const more = error.issues.length > max ? `; and ${error.issues.length - max} more` : "";
  return lines.join("; ") + more;
}

function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return "(body)";
  return path
    .map((part, i) => (typeof part === "number" ? `[${part}]` : `${i === 0 ? "" : "."}${String(part)}`))
    .join("");
}

import { en } from "zod/locales";
import * as z from "zod/mini";
import {
  freeFormProblem,
  idProblem,
  MAX_ANNOTATION_BYTES,
  MAX_FREE_FORM_BYTES,
  MAX_REGIONS_PER_EVENT,
  USER_APP_ID_PATTERN,
} from "./bounds.js";
import { eventIssues, GEOMETRY_KEYS, nativeInfoTaskProblem, RULES, type RuleName } from "./event-rules.js";
import { formatPath } from "./field-path.js";

export { GEOMETRY_KEYS } from "./event-rules.js";

/**
 * The canonical labeling event, spec version "1" (schema/labeling-event.v1.schema.json is the JSON Schema
 * of the same contract), and the Clarifai-native body accepted unchanged. Types are derived from these schemas.
 * zod/mini keeps the Lambda bundle small (the classic API adds ~400 KB); English messages are loaded explicitly.
 */
z.config(en());

/**
 * Each refinement's rule (event-rules.ts) by the check that applies it, so the validator generator
 * (bin/validator-gen.ts) calls the same function where zod calls the refinement; `freeForm` with its byte bound.
 */
export const RULE_OF_CHECK = new WeakMap<object, { readonly name: RuleName; readonly arg?: number }>();
const rule = <C extends object>(name: RuleName, check: C, arg?: number): C => {
  RULE_OF_CHECK.set(check, arg === undefined ? { name } : { name, arg });
  return check;
};

/** A problem found by a plain function (`idProblem`, `freeFormProblem`) as a zod issue with its words. */
const problemCheck = <T>(name: RuleName, problem: (value: T) => string | undefined, arg?: number) =>
  rule(
    name,
    z.superRefine<T>((value, ctx) => {
      const found = problem(value);
      if (found) ctx.addIssue({ code: "custom", message: found, input: value });
    }),
    arg,
  );
/** Annotation, input and task ids: they may become URL path segments at Clarifai (see `idProblem`). */
export const id = (max: number) =>
  z.string().check(z.minLength(1), z.maxLength(max), problemCheck("id", idProblem));
/** Keys that never enter a URL path (event ids, region and concept ids, labeler ids): no control characters. */
export const key = (max: number) =>
  z
    .string()
    .check(
      z.minLength(1),
      z.maxLength(max),
      rule("noControl", z.refine(RULES.noControl, { message: "must not contain control characters" })),
    );
/** Clarifai user and app ids: URL path segments, so letters, digits, `_` and `-` only. */
export const userOrAppId = z
  .string()
  .check(
    z.minLength(1),
    z.maxLength(255),
    z.regex(USER_APP_ID_PATTERN, "must be letters, digits, '_' or '-' (a Clarifai user or app id)"),
  );
/** Free-form JSON, bounded in depth and serialised size. */
const freeForm = (maxBytes: number) =>
  z
    .record(z.string(), z.unknown())
    .check(problemCheck("freeForm", (v: unknown) => freeFormProblem(v, maxBytes), maxBytes));
const text = (max: number) => z.string().check(z.maxLength(max));
const fraction = z.number().check(z.gte(0), z.lte(1));

export const conceptSchema = z.strictObject({
  id: key(255),
  name: z.optional(text(255)),
  /** 1 = present, 0 = explicitly absent (a negative). */
  value: fraction,
});

const boundingBoxSchema = z
  .strictObject({ top: fraction, left: fraction, bottom: fraction, right: fraction })
  .check(
    rule("boxTopBottom", z.refine(RULES.boxTopBottom, { message: "top must be less than bottom" })),
    rule("boxLeftRight", z.refine(RULES.boxLeftRight, { message: "left must be less than right" })),
  );

/** Whether a point is seen: Clarifai's `Point.Visibility` (NOT_SET when absent). */
const visibility = z.optional(z.enum(["visible", "not_visible", "not_present"]));
const pointSchema = z.strictObject({ x: fraction, y: fraction, visibility });

/** A PNG's bytes in base64: the signature checked, the size bounded by the annotation bound. */
const PNG_BASE64 = /^iVBORw0KGgo[A-Za-z0-9+/]*={0,2}$/;
const maskSchema = z.strictObject({
  /** The mask as a PNG of the whole input (same width and height), non-zero pixels inside, base64. */
  png: z.string().check(z.maxLength(1_048_576), z.regex(PNG_BASE64, "must be a PNG's bytes in base64")),
});

/**
 * A text span: characters `start` (inclusive) to `end` (exclusive), counted in Unicode code points, as Label Studio
 * stores them (label-studio/kinds.ts); Clarifai's unit is unconfirmed (its services are Python, which counts the same).
 */
const spanSchema = z
  .strictObject({
    start: z.int().check(z.gte(0), z.lte(2 ** 32 - 1)),
    end: z.int().check(z.gte(0), z.lte(2 ** 32 - 1)),
    text: z.optional(text(65_536)),
  })
  .check(rule("spanOrder", z.refine(RULES.spanOrder, { message: "start must be less than end" })));

/** Where a region sits in a video: the frame's absolute number (from 0) and its time in milliseconds. */
const frameSchema = z.strictObject({
  number: z.int().check(z.gte(0), z.lte(2 ** 32 - 1)),
  timeMs: z.int().check(z.gte(0), z.lte(2 ** 32 - 1)),
});

export const regionSchema = z
  .strictObject({
    id: z.optional(key(255)),
    boundingBox: z.optional(boundingBoxSchema),
    polygon: z.optional(
      z.strictObject({
        points: z
          .array(z.strictObject({ x: fraction, y: fraction }))
          .check(z.minLength(3), z.maxLength(10_000)),
      }),
    ),
    /** One point (a keypoint without a skeleton). */
    point: z.optional(pointSchema),
    /** A skeleton's points, in the order of the concept's keypoint names. */
    keypoints: z.optional(
      z.strictObject({ points: z.array(pointSchema).check(z.minLength(1), z.maxLength(1_000)) }),
    ),
    mask: z.optional(maskSchema),
    span: z.optional(spanSchema),
    /** On a video input: the frame this region is on. */
    frame: z.optional(frameSchema),
    /** Regions of one object across frames share it. */
    trackId: z.optional(key(255)),
    concepts: z.array(conceptSchema).check(z.minLength(1), z.maxLength(100)),
  })
  .check(
    rule(
      "oneGeometry",
      z.refine(RULES.oneGeometry, { message: `a region needs exactly one of ${GEOMETRY_KEYS.join(", ")}` }),
    ),
  );

export { MAX_REGIONS_PER_EVENT } from "./bounds.js";

export const EVENT_TYPES = ["annotation.created", "annotation.updated", "annotation.deleted"] as const;

export const labelingEventSchema = z
  .strictObject({
    specVersion: z.literal("1"),
    eventId: key(512),
    type: z.enum(EVENT_TYPES),
    occurredAt: z.iso.datetime({ offset: true }),
    source: z
      .string()
      .check(
        z.minLength(1),
        z.maxLength(64),
        z.regex(/^[a-z0-9][a-z0-9._-]*$/, "must be lower-case letters, digits, '.', '_' or '-'"),
      ),
    taskId: id(128),
    inputId: z.optional(id(255)),
    annotationId: z.optional(id(255)),
    app: z.optional(z.strictObject({ userId: userOrAppId, appId: userOrAppId })),
    labeler: z.optional(
      z.strictObject({
        id: key(255),
        email: z.optional(text(320)),
        name: z.optional(text(255)),
        /** The Clarifai user who did this work, named by the producer (wins over the mapping's `labelers`). */
        clarifaiUserId: z.optional(userOrAppId),
      }),
    ),
    concepts: z.optional(z.array(conceptSchema).check(z.maxLength(1000))),
    regions: z.optional(z.array(regionSchema).check(z.maxLength(MAX_REGIONS_PER_EVENT))),
    upstream: z.optional(
      z.strictObject({
        system: z.optional(text(64)),
        projectId: z.optional(text(255)),
        taskId: z.optional(text(255)),
        annotationId: z.optional(text(255)),
        assetRef: z.optional(text(2048)),
        deliveryId: z.optional(text(255)),
        revision: z.optional(text(64)),
        timeSource: z.optional(z.enum(["upstream", "received"])),
      }),
    ),
    metadata: z.optional(
      freeForm(MAX_FREE_FORM_BYTES).check(
        rule("metadataKeys", z.refine(RULES.metadataKeys, { message: "must have at most 32 keys" })),
      ),
    ),
  })
  .check(
    rule(
      "eventRules",
      z.superRefine((event, ctx) => {
        for (const issue of eventIssues(event))
          ctx.addIssue({ code: "custom", path: [...issue.path], message: issue.message, input: event });
      }),
    ),
  );

export type LabelingEvent = z.infer<typeof labelingEventSchema>;
export type Concept = z.infer<typeof conceptSchema>;
export type Region = z.infer<typeof regionSchema>;

const nativeAnnotationSchema = z
  .strictObject({
    id: z.optional(id(255)),
    input_id: id(255),
    task_id: z.optional(z.union([z.literal(""), id(128)])),
    annotation_info: z.optional(freeForm(MAX_FREE_FORM_BYTES)),
    data: freeForm(MAX_ANNOTATION_BYTES),
    input_level: z.optional(z.boolean()),
  })
  .check(
    rule(
      "nativeTaskLinked",
      z.refine(RULES.nativeTaskLinked, {
        message: "needs a task id in task_id or annotation_info.task_id",
        path: ["task_id"],
      }),
    ),
    rule(
      "nativeInfoTask",
      z.superRefine((a, ctx) => {
        const problem = nativeInfoTaskProblem(a);
        if (problem)
          ctx.addIssue({
            code: "custom",
            path: ["annotation_info", "task_id"],
            message: problem,
            input: a.annotation_info?.task_id,
          });
      }),
    ),
  );

/** The body Clarifai's docs show for PostAnnotations, as an upstream that already speaks Clarifai sends it. */
export const clarifaiNativeBodySchema = z.strictObject({
  user_app_id: z.optional(z.strictObject({ user_id: userOrAppId, app_id: userOrAppId })),
  annotations: z.array(nativeAnnotationSchema).check(z.minLength(1), z.maxLength(1000)),
});

export type ClarifaiNativeBody = z.infer<typeof clarifaiNativeBodySchema>;

/** Per-parse error map: a missing field says "is required" rather than "expected string, received undefined". */
export const requiredFieldMessages: z.core.$ZodErrorMap = (issue) =>
  issue.code === "invalid_type" && issue.input === undefined ? "is required" : undefined;

/** `concepts[1].value: Too big: expected number to be <=1` — the field, then the rule, for every issue. */
export function describeIssues(error: z.core.$ZodError, max = 5, root?: string): string {
  const lines = error.issues
    .slice(0, max)
    .map((issue) => `${formatPath(issue.path, root)}: ${issue.message}`);
  const more = error.issues.length > max ? `; and ${error.issues.length - max} more` : "";
  return lines.join("; ") + more;
}

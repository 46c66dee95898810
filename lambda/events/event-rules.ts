import { freeFormProblem, idProblem } from "./bounds.js";

/**
 * The rules of the event contract that are not shapes (an id is not ".", a box's top is above its bottom, a region
 * has exactly one geometry, a delete carries no concepts, ...), as plain functions with no schema library. The zod
 * schemas (event-schema.ts) call them for their refinements, with the words a refusal is reported in; the
 * validators generated from those schemas (generated/validate.ts, `npm run docs`) call the same functions, so the
 * two cannot disagree on a rule.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the point of the pattern is to find control characters
const CONTROL = /[\u0000-\u001f\u007f-\u009f\ufffe\uffff]/;

/** The geometry keys of a region: exactly one is set. */
export const GEOMETRY_KEYS = ["boundingBox", "polygon", "point", "keypoints", "mask", "span"] as const;

type Json = Record<string, unknown>;

/** An issue of the event-level rules, at its path. */
export interface RuleIssue {
  readonly path: readonly string[];
  readonly message: string;
}

/**
 * What a whole event breaks beyond its shape: a delete names the annotation and carries nothing; a create or an
 * update names its input; a create carries something. An update with nothing left means "the labeler removed
 * everything": the set is deleted.
 */
export function eventIssues(event: {
  readonly type: string;
  readonly annotationId?: string | undefined;
  readonly inputId?: string | undefined;
  readonly upstream?: { readonly annotationId?: string | undefined } | undefined;
  readonly concepts?: readonly unknown[] | undefined;
  readonly regions?: readonly unknown[] | undefined;
}): RuleIssue[] {
  const carried = (event.concepts?.length ?? 0) + (event.regions?.length ?? 0);
  if (event.type === "annotation.deleted") {
    const issues: RuleIssue[] = [];
    if (!event.annotationId && !event.upstream?.annotationId)
      issues.push({
        path: ["annotationId"],
        message: "annotation.deleted needs annotationId or upstream.annotationId",
      });
    if (carried > 0)
      issues.push({ path: ["concepts"], message: "annotation.deleted carries no concepts or regions" });
    return issues;
  }
  const issues: RuleIssue[] = [];
  if (event.inputId === undefined)
    issues.push({ path: ["inputId"], message: `is required for ${event.type}` });
  if (event.type === "annotation.created" && carried === 0)
    issues.push({ path: ["concepts"], message: "annotation.created needs at least one concept or region" });
  return issues;
}

/** A Clarifai-native annotation's task id in `annotation_info` (where `task_id` is empty): what is wrong with it. */
export function nativeInfoTaskProblem(annotation: {
  readonly task_id?: string | undefined;
  readonly annotation_info?: Json | undefined;
}): string | undefined {
  const infoTask = annotation.annotation_info?.task_id;
  if (annotation.task_id || typeof infoTask !== "string") return undefined;
  return (
    idProblem(infoTask) ??
    (infoTask.length > 128 ? "must be at most 128 characters" : infoTask ? undefined : "must not be empty")
  );
}

/**
 * Each rule as a predicate (true: the value keeps it), by the name the zod schema registers its refinement under
 * (event-schema.ts `rule`); `freeForm` takes the byte bound as its second argument.
 */
export const RULES = {
  id: (v: string) => idProblem(v) === undefined,
  noControl: (v: string) => !CONTROL.test(v),
  freeForm: (v: unknown, maxBytes: number) => freeFormProblem(v, maxBytes) === undefined,
  boxTopBottom: (b: { top: number; bottom: number }) => b.top < b.bottom,
  boxLeftRight: (b: { left: number; right: number }) => b.left < b.right,
  spanOrder: (s: { start: number; end: number }) => s.start < s.end,
  oneGeometry: (r: Json) => GEOMETRY_KEYS.filter((k) => r[k] !== undefined).length === 1,
  metadataKeys: (m: Json) => Object.keys(m).length <= 32,
  eventRules: (e: Parameters<typeof eventIssues>[0]) => eventIssues(e).length === 0,
  nativeTaskLinked: (a: { task_id?: string | undefined; annotation_info?: Json | undefined }) =>
    Boolean(a.task_id) || typeof a.annotation_info?.task_id === "string",
  nativeInfoTask: (a: Parameters<typeof nativeInfoTaskProblem>[0]) => nativeInfoTaskProblem(a) === undefined,
} as const;

export type RuleName = keyof typeof RULES;

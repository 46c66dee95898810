import * as z from "zod/mini";
import { type Failure, permanent } from "../../failure.js";
import { describeIssues, type LabelingEvent, requiredFieldMessages } from "../event-schema.js";
import { OverTime } from "../read-meter.js";
import type { InputIdRule, MappingConfig, ProjectMapping } from "./mapping-config.js";
import { MaskFetchFailed } from "./mask-files.js";

/** What an adapter makes of one upstream payload: canonical events (maybe none: a skip), or a clear failure. */
export type AdapterResult =
  | { readonly ok: true; readonly events: LabelingEvent[] }
  | { readonly ok: false; readonly failure: Failure };

/** Thrown inside an adapter for a payload it cannot map; `adapt` turns it into a permanent failure. */
export class AdapterError extends Error {
  constructor(
    readonly code: string,
    reason: string,
  ) {
    super(reason);
  }
}

/** Runs an adapter: its events, or its AdapterError as a permanent failure naming the problem. */
export function adapt(run: () => LabelingEvent[]): AdapterResult {
  try {
    return { ok: true, events: run() };
  } catch (error) {
    if (error instanceof AdapterError) return { ok: false, failure: permanent(error.code, error.message) };
    // A mask file that could not be fetched: its failure as it is (a 5xx is retried, a 403 is not).
    if (error instanceof MaskFetchFailed) return { ok: false, failure: error.failure };
    // Reading that ran out of the invocation's time (read-meter.ts): retried, or refused when it had it all.
    if (error instanceof OverTime) return { ok: false, failure: error.failure };
    throw error;
  }
}

/** The project's mapping; an AdapterError naming the missing key when there is none. */
export function projectMapping(config: MappingConfig, key: string): ProjectMapping {
  const found = config.projects[key];
  if (found) return found;
  throw new AdapterError(
    "missing-mapping",
    `no mapping for "${key}": add projects["${key}"] with a taskId to BRIDGE_MAPPING`,
  );
}

/** The Clarifai input id by the project's rules, tried in order; undefined when none applies. */
export function resolveInputId(
  rules: readonly InputIdRule[],
  source: { field: (name: string) => unknown; assetUrl?: string; vars: Record<string, string> },
): string | undefined {
  for (const rule of rules) {
    if (rule.from === "field") {
      const v = source.field(rule.field);
      if ((typeof v === "string" && v) || typeof v === "number") return String(v);
    } else if (rule.from === "asset" && source.assetUrl) {
      const last = source.assetUrl.split("?")[0]?.split("/").filter(Boolean).pop() ?? "";
      const name = decodePathSegment(last).replace(/\.[A-Za-z0-9]{1,5}$/, "");
      if (name) return name;
    } else if (rule.from === "template") {
      return rule.template.replace(/\{(\w+)\}/g, (_, k: string) => source.vars[k] ?? `{${k}}`);
    }
  }
  return undefined;
}

/** A URL path segment decoded; as it is when it is not valid percent-encoding (`50%_crop.jpg`). */
function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** An optional part of an upstream payload, which may also be null. */
export const opt = <T extends z.core.$ZodType>(schema: T) => z.optional(z.nullable(schema));
/** Upstream ids arrive as numbers or strings (Label Studio's are ints). */
export const idLike = z.union([z.string(), z.number()], { error: "must be a string or a number" });
/** An optional id as text ("" when absent). */
export const idText = (v: string | number | null | undefined) =>
  v === null || v === undefined ? "" : String(v);

/**
 * An upstream payload (or a part of it) checked against the shape the adapter reads, or an AdapterError naming
 * the field and the rule (`annotation.result[0]: Invalid input: expected object, received null`).
 */
export function readShape<S extends z.core.$ZodType>(
  schema: S,
  value: unknown,
  what: string,
  root?: string,
): z.infer<S> {
  const parsed = z.safeParse(schema, value, { error: requiredFieldMessages });
  if (parsed.success) return parsed.data;
  throw new AdapterError("invalid-upstream", `${what}: ${describeIssues(parsed.error, 3, root)}`);
}

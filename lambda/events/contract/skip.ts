import { AdapterError } from "./adapter-result.js";
import type { ProjectMapping } from "./mapping-config.js";

/**
 * What an adapter left out (under `unsupported: "skip"`, and free-text answers, which are always dropped), recorded
 * in `annotation_info.skipped` (and, as before, `annotation_info.metadata.bridge_skipped`).
 */
export type Skipped = string[];

/** At most this many skipped objects are named; the rest are counted. */
const MAX_NAMED = 50;

/**
 * An upstream object without a Clarifai equivalent (a polyline, an ellipse, a cuboid): refused with
 * `unsupported-result-type` naming it (the default: nothing of the annotation is sent), or, with the project's
 * `unsupported: "skip"`, left out and recorded so the rest of the annotation still reaches Clarifai.
 */
export function skipOrRefuse(mapping: ProjectMapping, skipped: Skipped, what: string, refusal: string): void {
  if (mapping.unsupported !== "skip") throw new AdapterError("unsupported-result-type", refusal);
  recordDropped(skipped, what);
}

/** Records an object left out (type and label), naming at most 50. */
export function recordDropped(skipped: Skipped, what: string): void {
  if (skipped.length < MAX_NAMED) skipped.push(what.slice(0, 100));
  else if (skipped.length === MAX_NAMED) skipped.push("and more");
}

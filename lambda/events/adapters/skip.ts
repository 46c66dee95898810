import { AdapterError } from "./adapter-result.js";
import type { ProjectMapping } from "./mapping-config.js";

/** What an adapter left out under `unsupported: "skip"`, recorded in `annotation_info.metadata.bridge_skipped`. */
export type Skipped = string[];

/** At most this many skipped objects are named; the rest are counted. */
const MAX_NAMED = 50;

/**
 * An upstream object without a Clarifai equivalent (a polyline, a keypoint, a mask): refused with
 * `unsupported-result-type` naming it (the default: nothing of the annotation is sent), or, with the project's
 * `unsupported: "skip"`, left out and recorded so the rest of the annotation still reaches Clarifai.
 */
export function skipOrRefuse(mapping: ProjectMapping, skipped: Skipped, what: string, refusal: string): void {
  if (mapping.unsupported !== "skip") throw new AdapterError("unsupported-result-type", refusal);
  if (skipped.length < MAX_NAMED) skipped.push(what.slice(0, 100));
  else if (skipped.length === MAX_NAMED) skipped.push("and more");
}

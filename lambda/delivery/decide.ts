import { type Failure, type Outcome, permanent } from "../failure.js";
import { type BackoffOptions, backoffSeconds } from "./backoff.js";

/** What becomes of one SQS record. Exactly one of these, for every record in every batch. */
export type Fate =
  | { readonly kind: "delivered" }
  | { readonly kind: "retry"; readonly failure: Failure; readonly visibilityTimeoutSeconds: number }
  | { readonly kind: "dead-letter"; readonly failure: Failure };

export interface FateContext {
  /** `ApproximateReceiveCount` of the record (1 on the first receive). */
  readonly receiveCount: number;
  /** The source queue's `maxReceiveCount`; on that last receive the bridge dead-letters with the reason itself. */
  readonly maxReceiveCount?: number;
  readonly backoff: BackoffOptions;
  readonly random?: () => number;
}

/**
 * Decides a record's fate from the outcomes of all its annotations: any permanent failure dead-letters it (a retry
 * cannot fix it); otherwise any retryable failure retries it with backoff, or dead-letters it on the queue's last
 * receive; otherwise it is delivered.
 */
export function decideFate(outcomes: readonly Outcome[], context: FateContext): Fate {
  const failures = outcomes.filter((o): o is Failure => o.kind !== "delivered");
  if (failures.length === 0) return { kind: "delivered" };

  const permanents = failures.filter((f) => f.kind === "permanent");
  if (permanents.length > 0) return { kind: "dead-letter", failure: summarise(permanents, outcomes.length) };

  const failure = summarise(failures, outcomes.length);
  if (context.maxReceiveCount !== undefined && context.receiveCount >= context.maxReceiveCount) {
    return {
      kind: "dead-letter",
      failure: permanent(
        "retries-exhausted",
        `gave up after ${context.receiveCount} receives; last error ${failure.code}: ${failure.reason}`,
      ),
    };
  }
  const retryAfter = Math.max(0, ...failures.map((f) => f.retryAfterSeconds ?? 0));
  return {
    kind: "retry",
    failure,
    visibilityTimeoutSeconds: backoffSeconds(
      context.receiveCount,
      context.backoff,
      retryAfter,
      context.random,
    ),
  };
}

/** One failure standing for several: the first one's code, with a count when more than one annotation failed. */
function summarise(failures: readonly Failure[], total: number): Failure {
  const first = failures[0] as Failure;
  if (failures.length === 1 && total === 1) return first;
  return { ...first, reason: `${failures.length} of ${total} annotations failed; first: ${first.reason}` };
}

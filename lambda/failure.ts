/**
 * The one vocabulary for what happened to an annotation or a record. Retry-or-dead-letter is decided from
 * `kind` only, never from message text.
 */
export type FailureKind = "retryable" | "permanent";

export interface Failure {
  readonly kind: FailureKind;
  /** Stable, machine-readable code (metrics dimension, DLQ `errorCode` attribute), e.g. `clarifai-throttled`. */
  readonly code: string;
  /** Words a user can act on. Never contains the Clarifai key. */
  readonly reason: string;
  /** A server-sent hint (Retry-After) for when to try again. */
  readonly retryAfterSeconds?: number;
  /** The failure may mean "this id already exists": confirm with a GET before acting on it. */
  readonly checkExisting?: boolean;
  /** The Clarifai status code behind it, when Clarifai named one (e.g. 24156 for a refused worker). */
  readonly statusCode?: number;
}

/**
 * Delivered, with the state Clarifai reports for the stored annotation when it names one (for example
 * `ANNOTATION_AWAITING_REVIEW` in a reviewed task): a state, not a failure.
 */
export type Outcome = { readonly kind: "delivered"; readonly state?: string } | Failure;

export const DELIVERED: Outcome = Object.freeze({ kind: "delivered" });

export const permanent = (code: string, reason: string): Failure => ({ kind: "permanent", code, reason });
export const retryable = (code: string, reason: string, extra: Partial<Failure> = {}): Failure => ({
  kind: "retryable",
  code,
  reason,
  ...extra,
});

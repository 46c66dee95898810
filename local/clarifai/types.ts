/** The stand-in's shared types, in a file of their own so its modules do not import each other in a circle. */

/** Fault switches; change them at any time through `standIn.faults`. */
export interface Faults {
  /** Added to every answer, plus up to `jitterMs` more. */
  latencyMs: number;
  jitterMs: number;
  /** Answer CONN_THROTTLED (HTTP 429) above this many requests per second per key. */
  throttleAboveRps: number | undefined;
  /** Sent with throttled answers when set. */
  retryAfterSeconds: number | undefined;
  /** Shares (0..1) of requests answered 503, cut off without an answer, or with some annotations ANNOTATION_FAILED. */
  serverErrorRate: number;
  dropConnectionRate: number;
  /** Share (0..1) of requests answered only after `slowMs` more (past a client's timeout, say). */
  slowRate: number;
  slowMs: number;
  mixedTransientRate: number;
  /**
   * Answers for the next requests, used before anything else: a status to send, "drop" (cut the connection
   * unanswered), "throttle", or "lose-answer" (store the annotations, then cut the connection: a lost success).
   * An entry `{ on: method, answer }` waits at the head of the script for the next request of that method.
   */
  script: Array<ScriptedAnswer | { on: string; answer: ScriptedAnswer }>;
  /** Send status codes as enum names ("CONN_THROTTLED") instead of numbers, as proto3 JSON allows. */
  codesAsNames: boolean;
}

/** One scripted answer: a status and body, or a fault. */
export type ScriptedAnswer = { httpStatus: number; body?: unknown } | "drop" | "throttle" | "lose-answer";

export interface RequestRecord {
  readonly method: string;
  readonly path: string;
  readonly annotations: number;
  readonly httpStatus: number;
  readonly code: number | undefined;
  readonly at: number;
  /** Milliseconds from the request's arrival to its answer (what a real Clarifai's latency would be). */
  readonly ms: number;
}

/** An annotation the stand-in holds, with the app (`user/app`) it belongs to. */
export interface StoredAnnotation {
  readonly app: string;
  readonly id: string;
  readonly input_id: string;
  readonly annotation: Record<string, unknown>;
}

/** A request being answered: what the request log will hold, less what the answer decides. */
export type PendingRecord = Omit<RequestRecord, "httpStatus" | "code" | "at" | "ms"> & {
  annotations: number;
  startedAt: number;
};

/** A task as the stand-in knows it: what GetTask answers and what `from-task` statuses follow. */
export interface TaskSpec {
  /** @default "NONE" */
  readonly review?: "NONE" | "MANUAL" | "CONSENSUS";
  /** The Clarifai user ids of its workers. @default none */
  readonly workers?: readonly string[];
  /** Its concept ids. @default none */
  readonly concepts?: readonly string[];
}

/** Annotations the stand-in holds, counted by task, worker (the Clarifai user credited) and status. */
export interface WorkRow {
  readonly app: string;
  readonly taskId: string;
  readonly worker: string;
  readonly status: string;
  readonly count: number;
  /** The same annotations by kind (local/clarifai/kinds.ts): `box`, `mask`, `video box`, ... */
  readonly kinds: Readonly<Record<string, number>>;
}

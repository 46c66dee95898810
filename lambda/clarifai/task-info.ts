import { type Failure, retryable } from "../failure.js";
import type { ReviewStrategy } from "./attribution.js";
import { classifyWhole, type HttpResult } from "./classify.js";
import { STATUS_CODES as S, statusCodeOf, statusLabel } from "./status-codes.js";

/** What the bridge needs of a Clarifai task: its review strategy and its workers' user ids. */
export interface TaskInfo {
  readonly id: string;
  readonly review: ReviewStrategy;
  /** Worker user ids: `worker.workers[].user.id`, and the deprecated `worker.users[].id` and `worker.user_ids`. */
  readonly workers: ReadonlySet<string>;
}

/** What a GetTask answer says about a task. */
export type TaskLookup =
  | { readonly kind: "found"; readonly task: TaskInfo }
  /** The task does not exist: its annotations are dead-lettered as `unknown-task`. */
  | { readonly kind: "missing"; readonly answer: string }
  /** The key may not read it (scopes, task permissions): annotations go out with the fallback status. */
  | { readonly kind: "unreadable"; readonly answer: string }
  /** No answer to act on (network, throttling, a server error): the records are retried. Never cached. */
  | { readonly kind: "failed"; readonly failure: Failure };

const REVIEW_BY_NUMBER: Readonly<Record<number, ReviewStrategy>> = {
  0: "NOT_SET",
  1: "NONE",
  2: "MANUAL",
  3: "CONSENSUS",
};

/** `review.strategy` in proto3 JSON: the enum name or its number. */
function reviewOf(review: unknown): ReviewStrategy {
  const strategy = (review as { strategy?: unknown } | null | undefined)?.strategy;
  if (typeof strategy === "number") return REVIEW_BY_NUMBER[strategy] ?? "NOT_SET";
  if (strategy === "NONE" || strategy === "MANUAL" || strategy === "CONSENSUS") return strategy;
  return "NOT_SET";
}

const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const idOf = (v: unknown): string | undefined => {
  const id = (v as { id?: unknown } | null | undefined)?.id;
  return typeof id === "string" && id !== "" ? id : undefined;
};

function workersOf(worker: unknown): Set<string> {
  const w = (worker ?? {}) as { workers?: unknown; users?: unknown; user_ids?: unknown };
  const ids = [
    ...list(w.workers).map((x) => idOf((x as { user?: unknown } | null)?.user)),
    ...list(w.users).map(idOf),
    ...list(w.user_ids).map((x) => (typeof x === "string" && x !== "" ? x : undefined)),
  ];
  return new Set(ids.filter((x): x is string => x !== undefined));
}

/** Codes that say the key may not read the task, though it may still post annotations. */
const UNREADABLE_CODES: ReadonlySet<number> = new Set([S.TASK_PERMISSION_DENIED, S.CONN_INSUFFICIENT_SCOPES]);

/**
 * Reads a GetTask answer. Clarifai's answer for a task that does not exist is not documented: `TASK_MISSING`
 * (54102, "Task was not found") under any HTTP status is read as missing, and so is HTTP 404 with any other
 * Clarifai status except a bad path (CONN_DOES_NOT_EXIST, 11101: a wrong user or app id, an operator's mistake that
 * is retried and alarmed, never a reason to dead-letter).
 */
export function readTaskAnswer(result: HttpResult, taskId: string): TaskLookup {
  const body = result.kind === "response" ? (result.body as Record<string, unknown> | undefined) : undefined;
  const status = body?.status as { code?: unknown; description?: unknown } | undefined;
  const code = statusCodeOf(status?.code);
  const answer = () =>
    `${result.kind === "response" ? `HTTP ${result.httpStatus}, ` : ""}${statusLabel(code, status?.code)}${
      typeof status?.description === "string" && status.description
        ? `: ${status.description.slice(0, 200)}`
        : ""
    }`;
  if (result.kind === "response" && result.httpStatus === 200 && code === S.SUCCESS) {
    const task = body?.task as { id?: unknown; review?: unknown; worker?: unknown } | undefined;
    if (task && typeof task === "object")
      return {
        kind: "found",
        task: {
          id: typeof task.id === "string" && task.id ? task.id : taskId,
          review: reviewOf(task.review),
          workers: workersOf(task.worker),
        },
      };
    return {
      kind: "failed",
      failure: retryable("task-lookup-failed", `GetTask for ${taskId} answered SUCCESS without a task`),
    };
  }
  if (code === S.TASK_MISSING) return { kind: "missing", answer: answer() };
  if (code !== undefined && UNREADABLE_CODES.has(code)) return { kind: "unreadable", answer: answer() };
  if (
    result.kind === "response" &&
    (result.httpStatus === 401 || result.httpStatus === 403) &&
    code === undefined
  )
    return { kind: "unreadable", answer: answer() };
  if (
    result.kind === "response" &&
    result.httpStatus === 404 &&
    code !== undefined &&
    code !== S.CONN_DOES_NOT_EXIST
  ) {
    const whole = classifyWhole(result);
    // A 404 carrying a key or throttling code is about the request, not the task.
    if (whole.kind === "delivered" || (whole.code !== "clarifai-auth" && whole.code !== "clarifai-throttled"))
      return { kind: "missing", answer: answer() };
  }
  const whole = classifyWhole(result);
  if (whole.kind !== "delivered" && whole.code === "clarifai-auth")
    return { kind: "unreadable", answer: answer() };
  return {
    kind: "failed",
    failure:
      whole.kind === "delivered"
        ? retryable("task-lookup-failed", `GetTask for ${taskId} answered ${answer()}`)
        : // Whatever Clarifai says, a task read that fails is retried, never a reason to dead-letter its records.
          { ...whole, kind: "retryable", reason: `could not read task ${taskId}: ${whole.reason}` },
  };
}

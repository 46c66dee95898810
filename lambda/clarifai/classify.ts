import { DELIVERED, type Failure, type Outcome, permanent, retryable } from "../failure.js";
import { STATUS_CODES as S, statusCodeOf, statusLabel } from "./status-codes.js";

/** What came back from one HTTP exchange with Clarifai, before any interpretation. */
export type HttpResult =
  | {
      readonly kind: "response";
      readonly httpStatus: number;
      /** Parsed JSON, or `undefined` when the body was not JSON. */
      readonly body: unknown;
      readonly retryAfterSeconds?: number;
    }
  | { readonly kind: "transport"; readonly timedOut: boolean; readonly message: string };

/** How one PostAnnotations answer applies to the annotations it carried. */
export type BatchVerdict =
  | { readonly kind: "per-annotation"; readonly outcomes: ReadonlyMap<string, Outcome> }
  /** The whole request was rejected as invalid: send the halves separately so one bad annotation cannot fail the rest. */
  | { readonly kind: "split"; readonly failure: Failure };

/** The operation succeeded, or the code is a state of a stored annotation (which exists, so it was delivered). */
export const DELIVERED_CODES: ReadonlySet<number> = new Set([
  S.SUCCESS,
  S.ANNOTATION_SUCCESS,
  S.ANNOTATION_PENDING,
  S.ANNOTATION_UNKNOWN_STATUS,
  S.ANNOTATION_AWAITING_REVIEW,
  S.ANNOTATION_REVIEW_DENIED,
  S.ANNOTATION_AWAITING_CONSENSUS_REVIEW,
  S.ANNOTATION_MODIFY_SUCCESS,
  S.ANNOTATION_MODIFY_PENDING,
]);
/**
 * Codes about one annotation (its input or task missing, its id taken, a patch target missing): when a whole
 * request is refused with one of these and no item statuses, it is bisected like a permanent refusal, or one such
 * annotation would hold back every other in its request until they are all retried out.
 */
const ANNOTATION_LEVEL_CODES: ReadonlySet<number> = new Set([
  S.INPUT_DOES_NOT_EXIST,
  S.TASK_MISSING,
  S.DATABASE_DUPLICATE_KEY,
  S.ANNOTATION_MODIFY_FAILED,
]);
const THROTTLE_CODES: ReadonlySet<number> = new Set([
  S.CONN_EXCEED_HOURLY_LIMIT,
  S.CONN_EXCEED_MONTHLY_LIMIT,
  S.CONN_THROTTLED,
  S.CONN_EXCEEDS_LIMITS,
]);
/**
 * Key, header or account problems an operator fixes (a new secret, a plan): retry, never dead-letter on these
 * alone. CONN_INVALID_REQUEST (11102) is "something wrong with a header" in the proto, so it is one of them.
 */
const AUTH_CODES: ReadonlySet<number> = new Set([
  S.CONN_INVALID_REQUEST,
  S.CONN_ACCOUNT_ISSUES,
  S.CONN_TOKEN_INVALID,
  S.CONN_CREDENTIALS_INVALID,
  S.CONN_INSUFFICIENT_SCOPES,
  S.CONN_KEY_INVALID,
  S.CONN_KEY_NOT_FOUND,
  S.ANNOTATION_PERMISSION_DENIED,
]);

/**
 * The fate of one Clarifai status, per the table in clarifai-api.md. Unknown codes are retried (never dropped),
 * so only the permanent codes listed here can send a record to the dead-letter queue.
 */
export function classifyStatus(
  rawCode: unknown,
  description?: unknown,
  retryAfterSeconds?: number,
  details?: unknown,
): Outcome {
  const outcome = classifyCode(rawCode, description, retryAfterSeconds, details);
  const code = statusCodeOf(rawCode);
  return outcome.kind === "delivered" || code === undefined ? outcome : { ...outcome, statusCode: code };
}

function classifyCode(
  rawCode: unknown,
  description?: unknown,
  retryAfterSeconds?: number,
  details?: unknown,
): Outcome {
  const code = statusCodeOf(rawCode);
  const label = statusLabel(code, rawCode);
  const text = [description, details]
    .filter((t): t is string => typeof t === "string" && t.length > 0)
    .join(": ");
  const detail = text ? `${label}: ${text}` : label;
  if (code === undefined) return retryable("clarifai-unknown-status", `Clarifai answered ${detail}`);
  if (DELIVERED_CODES.has(code)) return DELIVERED;
  if (THROTTLE_CODES.has(code)) return retryable("clarifai-throttled", detail, { retryAfterSeconds });
  if (AUTH_CODES.has(code))
    return retryable("clarifai-auth", `${detail} (check the Clarifai key and its scopes)`);
  switch (code) {
    case S.DATABASE_DUPLICATE_KEY:
      return retryable("clarifai-duplicate-id", detail, { checkExisting: true });
    // Clarifai does not document its answer to a duplicate id; it may be this one, so check before dead-lettering.
    case S.ANNOTATION_INVALID_ARGUMENT:
      return { ...permanent("clarifai-invalid-argument", detail), checkExisting: true };
    case S.INPUT_INVALID_ARGUMENT:
      return permanent("clarifai-invalid-input", detail);
    case S.CONN_BAD_REQUEST_FORMAT:
    case S.BAD_REQUEST:
      return permanent("clarifai-invalid-request", detail);
    case S.INPUT_DOES_NOT_EXIST:
      return retryable("clarifai-input-missing", `${detail} (the input may still be uploading)`);
    case S.TASK_MISSING:
      return retryable("clarifai-task-missing", `${detail} (the task may not be created yet)`);
    case S.CONN_DOES_NOT_EXIST:
      return retryable("clarifai-path-not-found", `${detail} (check CLARIFAI_USER_ID and CLARIFAI_APP_ID)`);
    case S.ANNOTATION_FAILED:
    case S.ANNOTATION_MODIFY_FAILED:
      return retryable("clarifai-annotation-failed", detail);
    default:
      return retryable("clarifai-server-error", detail);
  }
}

/** The body is a Clarifai answer when it carries `status.code`. */
function clarifaiStatus(
  body: unknown,
): { code: unknown; description: unknown; details: unknown } | undefined {
  if (body === null || typeof body !== "object") return undefined;
  const status = (body as { status?: unknown }).status;
  if (status === null || typeof status !== "object" || !("code" in status)) return undefined;
  const { code, description, details } = status as {
    code: unknown;
    description?: unknown;
    details?: unknown;
  };
  return { code, description, details };
}

/** Failure for an answer that is not a Clarifai status (a proxy, a load balancer, a cut connection). */
function classifyBareHttp(result: HttpResult): Failure {
  if (result.kind === "transport") {
    return result.timedOut
      ? retryable("clarifai-timeout", `no answer from Clarifai in time: ${result.message}`)
      : retryable("network-error", `could not reach Clarifai: ${result.message}`);
  }
  const { httpStatus, retryAfterSeconds } = result;
  if (httpStatus === 429) return retryable("clarifai-throttled", "HTTP 429", { retryAfterSeconds });
  if (httpStatus === 401 || httpStatus === 403) return retryable("clarifai-auth", `HTTP ${httpStatus}`);
  if (httpStatus === 413) return permanent("clarifai-invalid-request", "HTTP 413 request too large");
  if (httpStatus >= 500) return retryable("clarifai-server-error", `HTTP ${httpStatus}`);
  return retryable("clarifai-unreadable-answer", `HTTP ${httpStatus} without a Clarifai status`);
}

/**
 * The outcome of a request answered by one status for all it asked (ListAnnotations, DeleteAnnotations): the
 * top-level Clarifai status, or the HTTP status when the body is not a Clarifai answer.
 */
export function classifyWhole(result: HttpResult): Outcome {
  const status = result.kind === "response" ? clarifaiStatus(result.body) : undefined;
  if (result.kind === "transport" || status === undefined) return classifyBareHttp(result);
  return classifyStatus(status.code, status.description, result.retryAfterSeconds, status.details);
}

interface ItemResult {
  readonly id?: unknown;
  readonly status?: { readonly code?: unknown; readonly description?: unknown; readonly details?: unknown };
}

/**
 * Reads a PostAnnotations answer for the annotation ids that were sent (in order). An annotation counts as
 * delivered only when Clarifai said so: by its own status, or by a top-level SUCCESS.
 */
export function classifyBatch(result: HttpResult, sentIds: readonly string[]): BatchVerdict {
  const status = result.kind === "response" ? clarifaiStatus(result.body) : undefined;
  if (result.kind === "transport" || status === undefined) {
    const failure = classifyBareHttp(result);
    return failure.kind === "permanent" && sentIds.length > 1
      ? { kind: "split", failure }
      : all(sentIds, failure);
  }
  const retryAfter = result.retryAfterSeconds;
  const topCode = statusCodeOf(status.code);
  const top = classifyStatus(status.code, status.description, retryAfter, status.details);
  const items = ((result.body as { annotations?: unknown }).annotations ?? []) as unknown;
  const results: ItemResult[] = Array.isArray(items)
    ? (items as ItemResult[]).filter((i) => i && typeof i === "object")
    : [];

  // A top-level SUCCESS accepted every annotation sent. Item statuses under it describe the stored annotation's
  // state (ANNOTATION_PENDING, ANNOTATION_AWAITING_REVIEW, ANNOTATION_REVIEW_DENIED, ...), not the operation's
  // result: Clarifai's own Python SDK reads items only when the top level is not SUCCESS. The state is kept.
  if (topCode === S.SUCCESS) {
    const states = new Map<string, string>();
    results.forEach((r, index) => {
      const code = statusCodeOf(r.status?.code);
      const id =
        typeof r.id === "string" ? r.id : results.length === sentIds.length ? sentIds[index] : undefined;
      if (id !== undefined && code !== undefined && code !== S.SUCCESS)
        states.set(id, statusLabel(code, r.status?.code));
    });
    return {
      kind: "per-annotation",
      outcomes: new Map(
        sentIds.map((id) => {
          const state = states.get(id);
          return [id, state ? { kind: "delivered", state } : DELIVERED];
        }),
      ),
    };
  }

  if (!results.some((r) => r.status && typeof r.status === "object")) {
    if (top.kind === "delivered") return all(sentIds, top);
    // Refused as a whole, naming no annotation: one bad annotation may have sunk the rest, so the request is
    // halved until the bad one stands alone (about log2(n) extra requests per bad annotation), whatever the code.
    const aboutOne =
      top.kind === "permanent" || (topCode !== undefined && ANNOTATION_LEVEL_CODES.has(topCode));
    if (aboutOne && sentIds.length > 1) return { kind: "split", failure: top as Failure };
    return all(sentIds, top);
  }

  const byId = new Map<string, ItemResult>();
  for (const r of results) if (typeof r.id === "string") byId.set(r.id, r);
  // Position is only a fallback, for answers whose items carry no id at all.
  const byPosition = byId.size === 0 && results.length === sentIds.length;

  const outcomes = new Map<string, Outcome>();
  sentIds.forEach((id, index) => {
    const item = byId.get(id) ?? (byPosition ? results[index] : undefined);
    if (!item) {
      outcomes.set(
        id,
        retryable(
          "clarifai-missing-result",
          `Clarifai's answer (${statusLabel(topCode, status.code)}) did not mention annotation ${id}`,
        ),
      );
    } else if (!item.status || typeof item.status !== "object") {
      outcomes.set(
        id,
        topCode === S.SUCCESS
          ? DELIVERED
          : retryable("clarifai-missing-result", `no status for annotation ${id}`),
      );
    } else {
      outcomes.set(
        id,
        classifyStatus(item.status.code, item.status.description, retryAfter, item.status.details),
      );
    }
  });
  return { kind: "per-annotation", outcomes };
}

function all(ids: readonly string[], outcome: Outcome): BatchVerdict {
  return { kind: "per-annotation", outcomes: new Map(ids.map((id) => [id, outcome])) };
}

import { classifyWhole, type HttpResult } from "../clarifai/classify.js";
import type { AppRef } from "../clarifai/to-annotation.js";
import { retryable } from "../failure.js";

/**
 * What every Clarifai request of a batch shares: the instance's pace and the Lambda's clock (`paced`), slicing by
 * count and bytes, the app key requests are grouped by, and bounded concurrency.
 */
export interface DeliverOptions {
  readonly maxAnnotationsPerRequest: number;
  readonly maxConcurrentRequests: number;
  /** Milliseconds a request may take now; at most the configured timeout, less as the Lambda runs out of time. */
  readonly requestTimeoutMs: () => number;
  /**
   * Waits for the rate limiter's next slot; called before every Clarifai request. False: no slot before
   * `latestStart`, so the request is not sent. @default no limit
   */
  readonly acquire?: (latestStart?: number) => Promise<boolean>;
  /**
   * The `performance.now()` time after which no request may start (the invocation's deadline, less its reserve
   * and the shortest useful request): nothing waits past it. @default none
   */
  readonly latestStart?: () => number;
  /** Told when Clarifai throttles, with how long it asked to wait. @default ignored */
  readonly throttled?: (retryAfterMs: number) => void;
  /** Called after every Clarifai request, for metrics. */
  readonly onRequest?: (info: {
    readonly kind: "post" | "patch" | "delete" | "get";
    readonly annotations: number;
    readonly ms: number;
    readonly result: HttpResult;
  }) => void;
}

/** Below this many milliseconds left, a request is not started: it would only time out. */
export const MIN_REQUEST_MS = 250;

export const TIME_EXHAUSTED = retryable(
  "lambda-time-exhausted",
  "too little Lambda time left to call Clarifai",
);

/**
 * One Clarifai request under the instance's pace and the Lambda's clock: waits for a slot, gives up (undefined)
 * when too little time is left, and reports the request for metrics.
 */
export async function paced(
  kind: "post" | "patch" | "delete" | "get",
  annotations: number,
  options: DeliverOptions,
  call: (timeoutMs: number) => Promise<HttpResult>,
): Promise<HttpResult | undefined> {
  const latestStart = options.latestStart?.();
  if (latestStart !== undefined && performance.now() > latestStart) return undefined;
  if (options.acquire && !(await options.acquire(latestStart))) return undefined;
  const timeoutMs = options.requestTimeoutMs();
  if (timeoutMs < MIN_REQUEST_MS) return undefined;
  const started = performance.now();
  const result = await call(timeoutMs);
  options.onRequest?.({ kind, annotations, ms: performance.now() - started, result });
  // Throttling is said for the whole request; the instance's pace backs off for as long as Clarifai asked.
  const outcome = classifyWhole(result);
  if (outcome.kind !== "delivered" && outcome.code === "clarifai-throttled")
    options.throttled?.((outcome.retryAfterSeconds ?? 1) * 1000);
  return result;
}

/** `items` in slices of at most `size`, in order. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Items in slices of at most `maxCount`, and at most `budget` by `cost` (a single item over the budget still goes
 * alone), in order.
 */
export function budgetChunks<T>(
  items: readonly T[],
  maxCount: number,
  cost: (item: T) => number,
  budget: number,
): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let used = 0;
  for (const item of items) {
    const c = cost(item);
    if (current.length > 0 && (current.length >= maxCount || used + c > budget)) {
      out.push(current);
      current = [];
      used = 0;
    }
    current.push(item);
    used += c;
  }
  if (current.length > 0) out.push(current);
  return out;
}
/**
 * Query-string bytes one lookup may use for its ids: URLs beyond about 8 KB are refused by many servers and
 * gateways (414), and 50 ids of 255 characters each, with their input ids, would be far more.
 */
export const MAX_QUERY_BYTES = 6_000;
/** What one id adds to a ListAnnotations query (`&ids=` or `&input_ids=` and the encoded id). */
export const queryBytes = (id: string) => encodeURIComponent(id).length + 11;

export const appKey = (app: AppRef | null) => (app ? `${app.userId}/${app.appId}` : "");

/** Runs `fn` over `items` with at most `limit` calls in flight. */
export async function mapWithConcurrency<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

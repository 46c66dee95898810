import { classifyBatch, classifyStatus, classifyWhole, type HttpResult } from "../clarifai/classify.js";
import type { ClarifaiClient } from "../clarifai/client.js";
import { STATUS_CODES } from "../clarifai/status-codes.js";
import {
  type AppRef,
  annotationBytes,
  type ClarifaiAnnotation,
  type Delivery,
  MAX_REQUEST_BYTES,
} from "../clarifai/to-annotation.js";
import { DELIVERED, type Outcome, permanent, retryable } from "../failure.js";

/** One annotation to deliver, keyed so its outcome can be found again. */
export interface DeliveryItem {
  readonly key: string;
  readonly delivery: Delivery;
  /** The record was received before (`ApproximateReceiveCount > 1`): an earlier attempt may have landed. */
  readonly redelivered: boolean;
  /** This is the record's last receive: a failure now dead-letters it, so first make sure it did not land. */
  readonly finalAttempt?: boolean;
}

export interface DeliverOptions {
  readonly maxAnnotationsPerRequest: number;
  readonly maxConcurrentRequests: number;
  /** Milliseconds a request may take now; at most the configured timeout, less as the Lambda runs out of time. */
  readonly requestTimeoutMs: () => number;
  /** Waits for the rate limiter's next slot; called before every Clarifai request. @default no limit */
  readonly acquire?: () => Promise<void>;
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
const MIN_REQUEST_MS = 250;

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
  await options.acquire?.();
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
 * Annotations in request-sized slices: at most `size` each, and at most MAX_REQUEST_BYTES of JSON (Clarifai's
 * body limit is not documented for annotations; a record's annotations may be up to 4 MiB, so 128 large ones
 * must not share one request). A single annotation larger than the budget still goes alone.
 */
export function requestChunks(
  annotations: readonly ClarifaiAnnotation[],
  size: number,
  maxBytes: number = MAX_REQUEST_BYTES,
): ClarifaiAnnotation[][] {
  return budgetChunks(annotations, size, annotationBytes, maxBytes);
}

/**
 * Sends every annotation in as few PostAnnotations requests as Clarifai allows (grouped by app, chunked at the
 * per-request limit, requests run concurrently up to a cap) and returns each item's outcome. Never throws.
 */
export async function deliverAll(
  items: readonly DeliveryItem[],
  client: ClarifaiClient,
  options: DeliverOptions,
): Promise<Map<string, Outcome>> {
  // Same app and same annotation id in one batch (a producer sent an event twice): send it once, share the outcome.
  const unique = new Map<
    string,
    { annotation: ClarifaiAnnotation; app: AppRef | null; items: DeliveryItem[] }
  >();
  for (const item of items) {
    const k = `${appKey(item.delivery.app)}\u0000${item.delivery.annotation.id}`;
    const entry = unique.get(k);
    if (entry) entry.items.push(item);
    else unique.set(k, { annotation: item.delivery.annotation, app: item.delivery.app, items: [item] });
  }

  const byAnnotation = new Map<string, Outcome>(); // key: app + annotation id

  // A redelivered record's create may have landed on an earlier receive (its answer lost, its invocation timed
  // out): look those up first, many per request, and post only what is not there. Without this, a whole batch of
  // such records can cost a halving cascade of refused requests on every receive (where Clarifai refuses a
  // request whole for one duplicate id), which uses up the invocation's time and comes back the same next time.
  const redelivered = [...unique.entries()].filter(([, e]) => e.items.some((i) => i.redelivered));
  const preChecked = new Set<string>();
  for (const [k, found] of await lookUp(redelivered, client, options)) {
    if (found !== undefined) preChecked.add(k);
    if (found) byAnnotation.set(k, DELIVERED);
  }

  const byApp = new Map<string, { app: AppRef | null; annotations: ClarifaiAnnotation[] }>();
  for (const [k, { annotation, app }] of unique) {
    if (byAnnotation.has(k)) continue;
    const group = byApp.get(appKey(app)) ?? { app, annotations: [] };
    group.annotations.push(annotation);
    byApp.set(appKey(app), group);
  }
  const requests = [...byApp.values()].flatMap(({ app, annotations }) =>
    requestChunks(annotations, options.maxAnnotationsPerRequest).map((chunk) => ({
      app,
      annotations: chunk,
    })),
  );

  await mapWithConcurrency(requests, options.maxConcurrentRequests, async ({ app, annotations }) => {
    const outcomes = await sendWithSplit("post", app, annotations, client, options);
    for (const [id, outcome] of outcomes) byAnnotation.set(`${appKey(app)}\u0000${id}`, outcome);
  });

  // A failed create may still be an annotation that exists (an earlier attempt made it, or a concurrent
  // invocation of the same message just did): look those up before acting on the failure.
  const toCheck = [...unique.entries()].filter(([k, entry]) => {
    const outcome = byAnnotation.get(k);
    const redelivered = entry.items.some((i) => i.redelivered);
    const finalAttempt = entry.items.some((i) => i.finalAttempt);
    return (
      outcome !== undefined && needsExistenceCheck(outcome, redelivered, preChecked.has(k), finalAttempt)
    );
  });
  for (const [k, found] of await lookUp(toCheck, client, options)) {
    if (found) byAnnotation.set(k, DELIVERED);
    else if (found === undefined) {
      // The lookup failed, so "does it exist?" has no answer: a refusal that may mean "already exists"
      // (24155 for a duplicate id, say) must not dead-letter an annotation that may well be there. Retry.
      const outcome = byAnnotation.get(k);
      if (outcome?.kind === "permanent" && outcome.checkExisting)
        byAnnotation.set(
          k,
          retryable("clarifai-unconfirmed", `${outcome.reason} (could not check whether it already exists)`),
        );
    }
  }

  const result = new Map<string, Outcome>();
  for (const [k, entry] of unique) {
    const outcome = byAnnotation.get(k) ?? retryable("not-attempted", "the annotation was not sent");
    for (const item of entry.items) result.set(item.key, outcome);
  }
  return result;
}

/**
 * Whether a failed create must be looked up before its failure counts: a refusal that may mean "already exists"
 * always; on the record's last receive, any failure; otherwise only a redelivered record not looked up before its
 * POST (throttling says nothing about the annotation).
 */
function needsExistenceCheck(
  outcome: Outcome,
  redelivered: boolean,
  preChecked: boolean,
  finalAttempt: boolean,
): boolean {
  if (outcome.kind === "delivered") return false;
  if (outcome.checkExisting) return true;
  if (preChecked) return false;
  return finalAttempt || (redelivered && outcome.code !== "clarifai-throttled");
}

type Entry = { annotation: ClarifaiAnnotation; app: AppRef | null; items: readonly DeliveryItem[] };

/**
 * Whether Clarifai holds each entry's annotation: true, false, or undefined when the lookup failed. Lookups hold
 * up to 50 ids of one app within a URL budget and run concurrently; where an entry is on its record's last
 * receive, a failed lookup is asked again (a wrong "no" there would dead-letter an annotation that exists).
 */
async function lookUp(
  entries: readonly (readonly [string, Entry])[],
  client: ClarifaiClient,
  options: DeliverOptions,
): Promise<Map<string, boolean | undefined>> {
  const lookups: {
    app: AppRef | null;
    keys: string[];
    annotations: ClarifaiAnnotation[];
    final: boolean;
    urlBytes: number;
  }[] = [];
  for (const [k, { annotation, app, items }] of entries) {
    const cost = queryBytes(annotation.id) + queryBytes(annotation.input_id);
    let lookup = lookups.find(
      (l) =>
        appKey(l.app) === appKey(app) &&
        l.annotations.length < LOOKUP_IDS_PER_REQUEST &&
        l.urlBytes + cost <= MAX_QUERY_BYTES,
    );
    if (!lookup) {
      lookup = { app, keys: [], annotations: [], final: false, urlBytes: 0 };
      lookups.push(lookup);
    }
    lookup.keys.push(k);
    lookup.annotations.push(annotation);
    lookup.urlBytes += cost;
    lookup.final ||= items.some((i) => i.finalAttempt);
  }
  const answers = new Map<string, boolean | undefined>();
  await mapWithConcurrency(
    lookups,
    options.maxConcurrentRequests,
    async ({ app, keys, annotations, final }) => {
      let found: Set<string> | undefined;
      for (let attempt = 0; attempt < (final ? FINAL_LOOKUP_ATTEMPTS : 1) && !found; attempt++)
        found = await existing(app, annotations, client, options);
      keys.forEach((k, i) => {
        answers.set(k, found?.has(annotations[i]?.id as string));
      });
    },
  );
  return answers;
}

/**
 * One PostAnnotations (or, with `kind: "patch"`, PatchAnnotations overwrite) request and each annotation's outcome;
 * a request refused as invalid as a whole is halved until the bad annotation stands alone.
 */
export async function sendWithSplit(
  kind: "post" | "patch",
  app: AppRef | null,
  annotations: readonly ClarifaiAnnotation[],
  client: ClarifaiClient,
  options: DeliverOptions,
): Promise<Map<string, Outcome>> {
  const ids = annotations.map((a) => a.id);
  const result = await paced(kind, annotations.length, options, (timeoutMs) =>
    kind === "post"
      ? client.postAnnotations(app, annotations, timeoutMs)
      : client.patchAnnotations(app, annotations, timeoutMs),
  );
  if (!result) return new Map(ids.map((id) => [id, TIME_EXHAUSTED]));
  const verdict = classifyBatch(result, ids);
  if (verdict.kind === "per-annotation") {
    const workerRefused = annotations.some((a) => a.worker && refusedWorker(verdict.outcomes.get(a.id)));
    if (!workerRefused) return new Map(verdict.outcomes);
    // ANNOTATION_PERMISSION_DENIED for the whole request (one outcome shared by all): find the annotations whose
    // worker Clarifai refused by halving, as for an invalid request.
    const shared = new Set(verdict.outcomes.values()).size === 1;
    if (shared && annotations.length > 1) return split(kind, app, annotations, client, options);
    return new Map(
      annotations.map((a) => {
        const outcome = verdict.outcomes.get(a.id) as Outcome;
        return [
          a.id,
          a.worker && refusedWorker(outcome) ? workerNotAllowed(a.worker.user.id, outcome) : outcome,
        ];
      }),
    );
  }
  if (annotations.length === 1) return new Map([[ids[0] as string, verdict.failure]]);
  // The whole request was refused as invalid: halve it until the bad annotation stands alone.
  return split(kind, app, annotations, client, options);
}

async function split(
  kind: "post" | "patch",
  app: AppRef | null,
  annotations: readonly ClarifaiAnnotation[],
  client: ClarifaiClient,
  options: DeliverOptions,
): Promise<Map<string, Outcome>> {
  const middle = Math.ceil(annotations.length / 2);
  const [left, right] = await Promise.all([
    sendWithSplit(kind, app, annotations.slice(0, middle), client, options),
    sendWithSplit(kind, app, annotations.slice(middle), client, options),
  ]);
  return new Map([...left, ...right]);
}

/** Clarifai refused the annotation with ANNOTATION_PERMISSION_DENIED (24156). */
const refusedWorker = (outcome: Outcome | undefined): boolean =>
  outcome !== undefined &&
  outcome.kind !== "delivered" &&
  outcome.statusCode === STATUS_CODES.ANNOTATION_PERMISSION_DENIED;

/**
 * 24156 on an annotation that names a worker: Clarifai lets only the app owner post annotations as another user.
 * Retrying cannot help until the key changes, so it is dead-lettered with the rule (without a worker, 24156 is a
 * key problem like any other: retried and alarmed).
 */
function workerNotAllowed(userId: string, outcome: Outcome): Outcome {
  const answered = outcome.kind === "delivered" ? "" : ` (Clarifai: ${outcome.reason})`;
  return permanent(
    "worker-not-allowed",
    `Clarifai refused to record this annotation as user ${JSON.stringify(userId)}${answered}: only the app owner's key may post annotations for another user (a collaborator's key gets ANNOTATION_PERMISSION_DENIED). Use a key of the app owner, or remove this labeler from the mapping's labelers to post as the key's owner, then redrive`,
  );
}

/** Ids per ListAnnotations lookup: with their input ids they keep the URL to a few kilobytes. */
const LOOKUP_IDS_PER_REQUEST = 50;

/**
 * Query-string bytes one lookup may use for its ids: URLs beyond about 8 KB are refused by many servers and
 * gateways (414), and 50 ids of 255 characters each, with their input ids, would be far more.
 */
export const MAX_QUERY_BYTES = 6_000;
/** What one id adds to a ListAnnotations query (`&ids=` or `&input_ids=` and the encoded id). */
export const queryBytes = (id: string) => encodeURIComponent(id).length + 11;

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
/** Tries of a lookup on a record's last receive (each paced like any request, within the Lambda's time). */
const FINAL_LOOKUP_ATTEMPTS = 3;

/**
 * Which of these annotations Clarifai already holds (ListAnnotations filtered by id and input id); undefined
 * when Clarifai could not say (no time left, an error, an unreadable answer).
 */
async function existing(
  app: AppRef | null,
  annotations: readonly ClarifaiAnnotation[],
  client: ClarifaiClient,
  options: DeliverOptions,
): Promise<Set<string> | undefined> {
  const result = await paced("get", annotations.length, options, (timeoutMs) =>
    client.listAnnotations(
      app,
      { ids: annotations.map((a) => a.id), inputIds: annotations.map((a) => a.input_id) },
      timeoutMs,
    ),
  );
  if (!result) return undefined;
  if (result.kind !== "response" || result.httpStatus !== 200) return undefined;
  const body = result.body as { status?: { code?: unknown }; annotations?: { id?: unknown }[] } | undefined;
  if (classifyStatus(body?.status?.code).kind !== "delivered" || !Array.isArray(body?.annotations))
    return undefined;
  const asked = new Set(annotations.map((a) => a.id));
  return new Set(
    body.annotations.map((a) => a?.id).filter((id): id is string => typeof id === "string" && asked.has(id)),
  );
}

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

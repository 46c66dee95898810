import { classifyBatch } from "../clarifai/classify.js";
import type { ClarifaiClient } from "../clarifai/client.js";
import { STATUS_CODES } from "../clarifai/status-codes.js";
import {
  type AppRef,
  annotationBytes,
  type ClarifaiAnnotation,
  MAX_REQUEST_BYTES,
} from "../clarifai/to-annotation.js";
import { DELIVERED, type Outcome, permanent, retryable } from "../failure.js";
import type { DeliveryItem } from "./delivery-item.js";
import { lookUp } from "./lookup.js";
import {
  appKey,
  budgetChunks,
  type DeliverOptions,
  mapWithConcurrency,
  paced,
  TIME_EXHAUSTED,
} from "./requests.js";

/**
 * Annotations in request-sized slices: at most `size` each, and at most MAX_REQUEST_BYTES of JSON (Clarifai's
 * body limit is not documented for annotations; a record's annotations may be up to 32 MiB, so 128 large ones
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

/**
 * One PostAnnotations (or, with `kind: "patch"`, PatchAnnotations overwrite) request and each annotation's outcome;
 * a request refused as invalid as a whole is halved until the bad annotation stands alone. With `splitExisting`
 * false, a whole refusal that may mean "already exists" is each annotation's outcome instead: a caller that looks
 * the ids up first spares the halving (a chunk of 128 that exists would take 255 requests to find it).
 */
export async function sendWithSplit(
  kind: "post" | "patch",
  app: AppRef | null,
  annotations: readonly ClarifaiAnnotation[],
  client: ClarifaiClient,
  options: DeliverOptions,
  { splitExisting = true }: { splitExisting?: boolean } = {},
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
  if (annotations.length === 1 || (!splitExisting && verdict.failure.checkExisting))
    return new Map(ids.map((id) => [id, verdict.failure]));
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

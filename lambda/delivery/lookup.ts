import { classifyStatus } from "../clarifai/classify.js";
import type { ClarifaiClient } from "../clarifai/client.js";
import type { HeldAnnotation } from "../clarifai/plan-change.js";
import type { AppRef, ClarifaiAnnotation } from "../clarifai/to-annotation.js";
import type { DeliveryItem } from "./delivery-item.js";
import {
  appKey,
  budgetChunks,
  type DeliverOptions,
  MAX_QUERY_BYTES,
  mapWithConcurrency,
  paced,
  queryBytes,
} from "./requests.js";

/**
 * Whether Clarifai already holds annotations (ListAnnotations by id and input id): the check that keeps a retried
 * create from being posted twice, or from being dead-lettered when it did land.
 */

/** Ids per ListAnnotations lookup: with their input ids they keep the URL to a few kilobytes. */
const LOOKUP_IDS_PER_REQUEST = 50;

export type LookupEntry = {
  annotation: ClarifaiAnnotation;
  app: AppRef | null;
  items: readonly DeliveryItem[];
};

/**
 * Whether Clarifai holds each entry's annotation: true, false, or undefined when the lookup failed. Lookups hold
 * up to 50 ids of one app within a URL budget and run concurrently; where an entry is on its record's last
 * receive, a failed lookup is asked again (a wrong "no" there would dead-letter an annotation that exists).
 */
export async function lookUp(
  entries: readonly (readonly [string, LookupEntry])[],
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
  const held = await heldByIds(app, annotations, client, options);
  return held && new Set(held.keys());
}

/**
 * What Clarifai holds of these annotations, by id, in one ListAnnotations filtered by id and input id (paired, as
 * ListAnnotationsRequest requires; `lookupParts` keeps a request's URL within its budget); undefined when Clarifai
 * could not say (no time left, an error, an unreadable answer).
 */
export async function heldByIds(
  app: AppRef | null,
  annotations: readonly ClarifaiAnnotation[],
  client: ClarifaiClient,
  options: DeliverOptions,
): Promise<Map<string, HeldAnnotation> | undefined> {
  const result = await paced("get", annotations.length, options, (timeoutMs) =>
    client.listAnnotations(
      app,
      { ids: annotations.map((a) => a.id), inputIds: annotations.map((a) => a.input_id) },
      timeoutMs,
    ),
  );
  if (!result) return undefined;
  if (result.kind !== "response" || result.httpStatus !== 200) return undefined;
  const body = result.body as
    | { status?: { code?: unknown }; annotations?: Partial<HeldAnnotation>[] }
    | undefined;
  if (classifyStatus(body?.status?.code).kind !== "delivered" || !Array.isArray(body?.annotations))
    return undefined;
  // Matched by id alone: the input id was asked with it.
  const asked = new Map(annotations.map((a) => [a.id, a.input_id]));
  const held = new Map<string, HeldAnnotation>();
  for (const a of body.annotations) {
    const inputId = typeof a?.id === "string" ? asked.get(a.id) : undefined;
    if (inputId !== undefined) held.set(a.id as string, { ...a, id: a.id as string, input_id: inputId });
  }
  return held;
}

/** Annotations in parts of one lookup each: at most 50 ids, with their input ids within the URL budget. */
export const lookupParts = (annotations: readonly ClarifaiAnnotation[]): ClarifaiAnnotation[][] =>
  budgetChunks(
    annotations,
    LOOKUP_IDS_PER_REQUEST,
    (a) => queryBytes(a.id) + queryBytes(a.input_id),
    MAX_QUERY_BYTES,
  );

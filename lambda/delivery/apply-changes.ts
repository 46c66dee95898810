import { classifyBatch, classifyWhole } from "../clarifai/classify.js";
import type { ClarifaiClient } from "../clarifai/client.js";
import { type HeldAnnotation, planChange } from "../clarifai/plan-change.js";
import type { AppRef, Change, ClarifaiAnnotation } from "../clarifai/to-annotation.js";
import { DELIVERED, type Failure, type Outcome, retryable } from "../failure.js";
import { requestChunks, sendWithSplit } from "./deliver.js";
import {
  appKey,
  budgetChunks,
  chunks,
  type DeliverOptions,
  MAX_QUERY_BYTES,
  mapWithConcurrency,
  paced,
  queryBytes,
  TIME_EXHAUSTED,
} from "./requests.js";

/** One update or delete to apply, keyed so its outcome can be found again. */
export interface ChangeItem {
  readonly key: string;
  readonly change: Change;
}

/** Input ids per ListAnnotations lookup, and annotations per lookup page. */
const INPUTS_PER_LOOKUP = 50;
const LOOKUP_PAGE_SIZE = 500;
/**
 * Pages one lookup may take here (5,000 annotations): an input or task that holds more (a video's frames) is
 * listed by the long-change path instead, a page at a time across invocations (long-change.ts), so a lookup that
 * cannot finish in one invocation never keeps a record from progressing.
 */
export const MAX_LOOKUP_PAGES = 10;
/** The failure code of a change whose lookup passed MAX_LOOKUP_PAGES. */
export const LOOKUP_TOO_LONG = "lookup-too-long";

/**
 * Applies updates and deletes: looks up what Clarifai holds for each change's input (or, for a delete that names
 * no input, its task), plans each change against it (plan-change.ts), then sends the patches, creates and deletes
 * in as few requests as the API allows. Returns each item's outcome; never throws.
 *
 * Within one batch, several changes to one upstream annotation are applied once, as the latest of them says; the
 * others share its outcome (so they are retried or dead-lettered with it, never dropped).
 */
export async function applyChanges(
  items: readonly ChangeItem[],
  client: ClarifaiClient,
  options: DeliverOptions & {
    /**
     * Told of a delete whose lookup found none of its annotations. It counts as done ("already gone"): Clarifai
     * cannot tell that apart from a lookup filter that matched nothing, so the caller makes it visible instead
     * (a metric), and `clarifai-bridge doctor` checks the filter before going live.
     */
    readonly onDeleteFoundNothing?: (change: Change) => void;
  },
): Promise<Map<string, Outcome>> {
  // A long event's set is applied by long-change.ts only: here its empty `annotations` would read as "delete all".
  const long = items.filter((item) => item.change.kind === "replace" && item.change.members !== undefined);
  if (long.length > 0) {
    const rest = await applyChanges(
      items.filter((item) => !long.includes(item)),
      client,
      options,
    );
    for (const item of long)
      rest.set(item.key, retryable("not-attempted", "a long event is applied on its own, not with a batch"));
    return rest;
  }
  const latest = new Map<string, ChangeItem>();
  for (const item of items) {
    const k = targetKey(item.change);
    const current = latest.get(k);
    if (!current || Date.parse(item.change.occurredAt) >= Date.parse(current.change.occurredAt))
      latest.set(k, item);
  }
  const chosen = [...latest.values()];

  const held = await lookUp(chosen, client, options);
  const planned = chosen.map((item) => {
    const found = held.get(lookupKey(item.change));
    if (!found || !Array.isArray(found))
      return { item, failure: found ?? retryable("not-attempted", "the lookup was not made") };
    const plan = planChange(item.change, found);
    if (item.change.kind === "delete" && plan.remove.length === 0)
      options.onDeleteFoundNothing?.(item.change);
    return { item, plan };
  });

  // Every request the plans need, grouped by app and kind so each is sent in as few requests as allowed.
  const outcomes = new Map<string, Outcome>(); // app + annotation id -> outcome
  const work: (() => Promise<void>)[] = [];
  const byApp = new Map<
    string,
    {
      app: AppRef | null;
      post: ClarifaiAnnotation[];
      patch: ClarifaiAnnotation[];
      remove: { id: string; inputId: string }[];
    }
  >();
  // Smallest plans first, so the requests of a record of thousands of annotations (a video track) come after its
  // neighbours': if the invocation's time runs out, it is the large one that is left to its next receive.
  const bySize = [...planned].sort(
    (a, b) =>
      (a.plan ? a.plan.post.length + a.plan.patch.length + a.plan.remove.length : 0) -
      (b.plan ? b.plan.post.length + b.plan.patch.length + b.plan.remove.length : 0),
  );
  for (const { item, plan } of bySize) {
    if (!plan) continue;
    const k = appKey(item.change.app);
    const group = byApp.get(k) ?? { app: item.change.app, post: [], patch: [], remove: [] };
    group.post.push(...plan.post);
    group.patch.push(...plan.patch);
    group.remove.push(...plan.remove);
    byApp.set(k, group);
  }
  for (const [k, { app, post, patch, remove }] of byApp) {
    const record = (found: Map<string, Outcome>) => {
      for (const [id, outcome] of found) outcomes.set(`${k}\u0000${id}`, outcome);
    };
    for (const chunk of requestChunks(post, options.maxAnnotationsPerRequest))
      work.push(async () => record(await sendWithSplit("post", app, chunk, client, options)));
    for (const chunk of requestChunks(patch, options.maxAnnotationsPerRequest))
      work.push(async () => record(await sendWithSplit("patch", app, chunk, client, options)));
    for (const chunk of chunks(remove, options.maxAnnotationsPerRequest))
      work.push(async () => record(await deleteMany(app, chunk, client, options)));
  }
  await mapWithConcurrency(work, options.maxConcurrentRequests, (run) => run());

  const byTarget = new Map<string, Outcome>();
  for (const { item, plan, failure } of planned) {
    if (failure) {
      byTarget.set(targetKey(item.change), failure);
      continue;
    }
    const k = appKey(item.change.app);
    const ids = [...plan.post, ...plan.patch].map((a) => a.id).concat(plan.remove.map((r) => r.id));
    const failed = ids
      .map((id) => outcomes.get(`${k}\u0000${id}`) ?? retryable("not-attempted", `${id} was not sent`))
      .find((o): o is Failure => o.kind !== "delivered");
    byTarget.set(targetKey(item.change), failed ?? DELIVERED);
  }
  return new Map(
    items.map((item) => [
      item.key,
      byTarget.get(targetKey(item.change)) ?? retryable("not-attempted", "change was not applied"),
    ]),
  );
}

const targetKey = (change: Change) => `${appKey(change.app)}\u0000${change.baseId}`;
const lookupKey = (change: Change) =>
  `${appKey(change.app)}\u0000${change.inputId !== undefined ? `input:${change.inputId}` : `task:${change.taskId}`}`;

/**
 * What Clarifai holds for each change: its input's annotations (inputs batched per request), or its task's for a
 * delete that names no input (Label Studio deletes carry only the annotation id). Keyed by `lookupKey`; a failed
 * lookup maps to its failure.
 */
async function lookUp(
  items: readonly ChangeItem[],
  client: ClarifaiClient,
  options: DeliverOptions,
): Promise<Map<string, HeldAnnotation[] | Failure>> {
  const result = new Map<string, HeldAnnotation[] | Failure>();
  const inputsByApp = new Map<string, { app: AppRef | null; inputIds: Set<string> }>();
  const tasks = new Map<string, { app: AppRef | null; taskId: string }>();
  for (const { change } of items) {
    const k = appKey(change.app);
    if (change.inputId !== undefined) {
      const group = inputsByApp.get(k) ?? { app: change.app, inputIds: new Set<string>() };
      group.inputIds.add(change.inputId);
      inputsByApp.set(k, group);
    } else tasks.set(lookupKey(change), { app: change.app, taskId: change.taskId });
  }
  const work: (() => Promise<void>)[] = [];
  for (const [k, { app, inputIds }] of inputsByApp) {
    for (const chunk of budgetChunks([...inputIds], INPUTS_PER_LOOKUP, queryBytes, MAX_QUERY_BYTES)) {
      work.push(async () => {
        const found = await listAll(app, { inputIds: chunk }, client, options);
        for (const inputId of chunk)
          result.set(
            `${k}\u0000input:${inputId}`,
            Array.isArray(found) ? found.filter((a) => a.input_id === inputId) : found,
          );
      });
    }
  }
  for (const [k, { app, taskId }] of tasks)
    work.push(async () => {
      result.set(k, await listAll(app, { taskId }, client, options));
    });
  await mapWithConcurrency(work, options.maxConcurrentRequests, (run) => run());
  return result;
}

/** Every page of one ListAnnotations query, or the failure that stopped it. */
async function listAll(
  app: AppRef | null,
  query: { inputIds?: string[]; taskId?: string },
  client: ClarifaiClient,
  options: DeliverOptions,
): Promise<HeldAnnotation[] | Failure> {
  const found: HeldAnnotation[] = [];
  for (let page = 1; ; page++) {
    const result = await paced("get", 0, options, (timeoutMs) =>
      client.listAnnotations(app, { ...query, page, perPage: LOOKUP_PAGE_SIZE }, timeoutMs),
    );
    if (!result) return TIME_EXHAUSTED;
    const outcome = classifyWhole(result);
    if (outcome.kind !== "delivered") {
      return { ...outcome, reason: `looking up annotations: ${outcome.reason}` };
    }
    const list =
      (result.kind === "response" ? (result.body as { annotations?: unknown }).annotations : []) ?? [];
    if (!Array.isArray(list))
      return retryable("clarifai-unreadable-answer", "ListAnnotations answer has no list");
    for (const a of list as Partial<HeldAnnotation>[])
      if (typeof a?.id === "string" && typeof a.input_id === "string") found.push(a as HeldAnnotation);
    if (list.length < LOOKUP_PAGE_SIZE) return found;
    if (page >= MAX_LOOKUP_PAGES)
      return retryable(
        LOOKUP_TOO_LONG,
        `looking up annotations: more than ${MAX_LOOKUP_PAGES * LOOKUP_PAGE_SIZE} to list; such a change is applied a page at a time on its own`,
      );
  }
}

/** One batch DeleteAnnotations request; its single status is every listed annotation's outcome. */
export async function deleteMany(
  app: AppRef | null,
  members: readonly { id: string; inputId: string }[],
  client: ClarifaiClient,
  options: DeliverOptions,
): Promise<Map<string, Outcome>> {
  const ids = members.map((m) => m.id);
  const result = await paced("delete", ids.length, options, (timeoutMs) =>
    client.deleteAnnotations(
      app,
      ids,
      members.map((m) => m.inputId),
      timeoutMs,
    ),
  );
  if (!result) return new Map(ids.map((id) => [id, TIME_EXHAUSTED]));
  const verdict = classifyBatch(result, ids);
  return verdict.kind === "per-annotation"
    ? new Map(verdict.outcomes)
    : new Map(ids.map((id): [string, Outcome] => [id, verdict.failure]));
}

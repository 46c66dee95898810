import { classifyWhole } from "../clarifai/classify.js";
import type { ClarifaiClient } from "../clarifai/client.js";
import type { HeldAnnotation } from "../clarifai/plan-change.js";
import { writtenVersion } from "../clarifai/plan-change.js";
import { STATUS_CODES } from "../clarifai/status-codes.js";
import {
  type AppRef,
  annotationBytes,
  type Change,
  type ClarifaiAnnotation,
  type LazyMembers,
} from "../clarifai/to-annotation.js";
import { type Failure, type Outcome, retryable } from "../failure.js";
import { deleteMany } from "./apply-changes.js";
import {
  advance,
  type Cursor,
  type OpChunk,
  opChunks,
  scanPage,
  startCursor,
  sweepPage,
  targetOf,
} from "./continuation.js";
import { sendWithSplit } from "./deliver.js";
import { chunks, type DeliverOptions, mapWithConcurrency, paced, TIME_EXHAUSTED } from "./requests.js";

/** A replace of more annotations than one request holds, or a delete of a set too large to list in one go. */
export type LongChange = Change;

/**
 * What one invocation made of a long change: finished (written, or nothing to write because a newer version holds
 * the set: `stale` before anything was written, `superseded` after), or progress to carry on from (`continue`:
 * queue the cursor), or no progress at all (`failed`: retried or dead-lettered like any record).
 */
export type LongResult =
  | { readonly kind: "done"; readonly how: "written" | "stale" | "superseded"; readonly requests: number }
  | { readonly kind: "continue"; readonly cursor: Cursor; readonly requests: number }
  | { readonly kind: "failed"; readonly failure: Failure; readonly requests: number };

/** Annotations per ListAnnotations page in a scan or a sweep: Clarifai's largest `per_page`. */
export const SCAN_PAGE_SIZE = 1_000;

/**
 * Applies as much of a long change as this invocation's time allows (long-change design: continuation.ts).
 * `carried` is the cursor of a continuation received for the first time; anything else (a first receive, a
 * continuation received again after an invocation that died) starts with a scan, which finds what is written.
 * Never throws for Clarifai's answers; requests stop at the invocation's deadline (`options.latestStart`).
 */
export async function applyLong(
  change: LongChange,
  carried: Cursor | undefined,
  client: ClarifaiClient,
  options: DeliverOptions,
): Promise<LongResult> {
  const members = membersOf(change);
  const resumable =
    carried !== undefined && carried.at === change.occurredAt && carried.count === members.count;
  // A delete has nothing to scan for or write: it is a sweep that keeps nothing.
  const first = startCursor(change.occurredAt, members.count, carried?.hops ?? 0);
  let cursor = resumable ? carried : change.kind === "delete" ? { ...first, phase: "sweep" as const } : first;
  const states = cursor.states;
  const target = targetOf(change.baseId, change.inputId, change.occurredAt, members);
  // Where the set is listed: its input, or for a delete that names none (Label Studio's), its task.
  const where = change.inputId !== undefined ? { inputIds: [change.inputId] } : { taskId: change.taskId };
  let requests = 0;
  let progressed = false;
  let failure: Failure | undefined;
  const counted: DeliverOptions = {
    ...options,
    onRequest: (info) => {
      requests += 1;
      options.onRequest?.(info);
    },
  };
  const result = (kind: "done", how: "written" | "stale" | "superseded"): LongResult => ({
    kind,
    how,
    requests,
  });

  // A continuation into (or within) the write phase: is this version still the one Clarifai holds?
  if (resumable && cursor.phase !== "scan" && cursor.anchor !== undefined && change.inputId !== undefined) {
    const held = await listPage(
      client,
      change.app,
      { ids: [cursor.anchor], inputIds: [change.inputId] },
      1,
      counted,
    );
    if (!Array.isArray(held)) return { kind: "failed", failure: held, requests };
    const anchor = held.find((a) => a.id === cursor.anchor);
    if (!anchor || writtenVersion(anchor) !== target.at) return result("done", "superseded");
  }

  for (;;) {
    if (cursor.phase === "scan") {
      const page = await listPage(client, change.app, where, cursor.page, counted);
      if (!Array.isArray(page)) {
        failure = page;
        break;
      }
      progressed = true;
      const seen = scanPage(target, states, page);
      if (seen.newer) return result("done", "stale");
      cursor =
        page.length < SCAN_PAGE_SIZE
          ? { ...cursor, phase: "write", next: 0, done: [], sweep: cursor.sweep || seen.sweep }
          : { ...cursor, page: cursor.page + 1, sweep: cursor.sweep || seen.sweep };
      continue;
    }
    if (cursor.phase === "write") {
      const plan = opChunks(members.bytes, states, options.maxAnnotationsPerRequest);
      const before = new Set(cursor.done);
      const pending = plan.map((_, i) => i).filter((i) => i >= cursor.next && !before.has(i));
      const done = new Set(before);
      let refused: Failure | undefined;
      await mapWithConcurrency(pending, options.maxConcurrentRequests, async (i) => {
        if (refused) return;
        const outcome = await sendChunk(plan[i] as OpChunk, members, change.app, client, counted);
        if (outcome.kind === "delivered") done.add(i);
        else if (outcome.kind === "permanent") refused = outcome;
        else failure ??= outcome;
      });
      if (refused) return { kind: "failed", failure: refused, requests };
      if (done.size > before.size) progressed = true;
      const moved = advance(cursor.next, done, plan.length);
      const lowest = Math.min(...done);
      const anchor =
        cursor.anchor ??
        (Number.isFinite(lowest) ? members.id(plan[lowest]?.indices[0] as number) : undefined);
      cursor = { ...cursor, ...moved, ...(anchor !== undefined ? { anchor } : {}) };
      if (moved.next < plan.length) break;
      if (!cursor.sweep) return result("done", "written");
      cursor = { ...cursor, phase: "sweep", page: 1 };
      continue;
    }
    // Sweep: what an earlier version has that this one drops, and what a stale writer wrote after the scan.
    const page = await listPage(client, change.app, where, cursor.page, counted);
    if (!Array.isArray(page)) {
      failure = page;
      break;
    }
    const fixes = sweepPage(target, page);
    // A newer version owns the set now; a delete removes whatever version it finds (as apply-changes.ts does).
    if (fixes.newer && change.kind === "replace") return result("done", "superseded");
    const wrong = await fix(fixes, members, change.app, client, counted, options);
    if (wrong) {
      failure = wrong;
      break;
    }
    progressed = true;
    // Deleting shifts the later members onto a full page: read it again until it deletes nothing.
    if (fixes.remove.length > 0 && page.length >= SCAN_PAGE_SIZE) continue;
    if (page.length < SCAN_PAGE_SIZE) return result("done", "written");
    cursor = { ...cursor, page: cursor.page + 1 };
  }
  if (progressed) return { kind: "continue", cursor: { ...cursor, hops: cursor.hops + 1 }, requests };
  return { kind: "failed", failure: failure ?? TIME_EXHAUSTED, requests };
}

/**
 * One chunk of the write phase; its outcome is the first failure, or delivered. A POST Clarifai says may already
 * exist (another writer got there after the scan) is patched instead, and a PATCH of an annotation Clarifai no
 * longer holds (24252) is posted.
 */
async function sendChunk(
  chunk: OpChunk,
  members: LazyMembers,
  app: AppRef | null,
  client: ClarifaiClient,
  options: DeliverOptions,
): Promise<Outcome> {
  const annotations = chunk.indices.map((i) => members.at(i));
  const outcomes = await sendWithSplit(chunk.kind, app, annotations, client, options);
  const otherWay = annotations.filter((a) => {
    const o = outcomes.get(a.id);
    if (!o || o.kind === "delivered") return false;
    return chunk.kind === "post"
      ? o.checkExisting === true
      : o.statusCode === STATUS_CODES.ANNOTATION_MODIFY_FAILED;
  });
  if (otherWay.length > 0)
    for (const [id, o] of await sendWithSplit(
      chunk.kind === "post" ? "patch" : "post",
      app,
      otherWay,
      client,
      options,
    ))
      outcomes.set(id, o);
  for (const a of annotations) {
    const o = outcomes.get(a.id) ?? retryable("not-attempted", `${a.id} was not sent`);
    if (o.kind !== "delivered") return o;
  }
  return { kind: "delivered" };
}

/** A sweep page's deletes and patches; the first failure, or undefined when all were applied. */
async function fix(
  fixes: { remove: { id: string; inputId: string }[]; repatch: number[] },
  members: LazyMembers,
  app: AppRef | null,
  client: ClarifaiClient,
  counted: DeliverOptions,
  options: DeliverOptions,
): Promise<Failure | undefined> {
  const work: (() => Promise<Outcome>)[] = [
    ...chunks(fixes.remove, options.maxAnnotationsPerRequest).map((members) => async () => {
      for (const o of (await deleteMany(app, members, client, counted)).values())
        if (o.kind !== "delivered") return o;
      return { kind: "delivered" } as Outcome;
    }),
    ...chunks(fixes.repatch, options.maxAnnotationsPerRequest).map(
      (indices) => () => sendChunk({ kind: "patch", indices }, members, app, client, counted),
    ),
  ];
  let failed: Failure | undefined;
  await mapWithConcurrency(work, options.maxConcurrentRequests, async (run) => {
    const o = await run();
    if (o.kind !== "delivered") failed ??= o;
  });
  return failed;
}

/** A change's members: made on demand (a long event's), or the annotations it holds; none for a delete. */
function membersOf(change: LongChange): LazyMembers {
  if (change.kind === "delete")
    return { count: 0, id: () => "", at: () => ({}) as ClarifaiAnnotation, bytes: () => 0 };
  if (change.members) return change.members;
  const list = change.annotations;
  return {
    count: list.length,
    id: (i) => (list[i] as ClarifaiAnnotation).id,
    at: (i) => list[i] as ClarifaiAnnotation,
    bytes: (i) => annotationBytes(list[i] as ClarifaiAnnotation),
  };
}

/** One page of ListAnnotations (annotations with an id and an input id), or the failure that stopped it. */
async function listPage(
  client: ClarifaiClient,
  app: AppRef | null,
  query: { ids?: string[]; inputIds?: string[]; taskId?: string },
  page: number,
  options: DeliverOptions,
): Promise<HeldAnnotation[] | Failure> {
  const result = await paced("get", 0, options, (timeoutMs) =>
    client.listAnnotations(app, { ...query, page, perPage: SCAN_PAGE_SIZE }, timeoutMs),
  );
  if (!result) return TIME_EXHAUSTED;
  const outcome = classifyWhole(result);
  if (outcome.kind !== "delivered")
    return { ...outcome, reason: `looking up annotations: ${outcome.reason}` };
  const list =
    (result.kind === "response" ? (result.body as { annotations?: unknown }).annotations : []) ?? [];
  if (!Array.isArray(list))
    return retryable("clarifai-unreadable-answer", "ListAnnotations answer has no list");
  return (list as Partial<HeldAnnotation>[]).filter(
    (a): a is HeldAnnotation => typeof a?.id === "string" && typeof a.input_id === "string",
  );
}

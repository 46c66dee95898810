// Over 300 lines: a long event's invocation whole (its three phases, the chunk sends, the batch's long records and their continuations), so how a continuation resumes reads in one place.
import type { Logger } from "@aws-lambda-powertools/logger";
import type { MessageAttributeValue, SendMessageBatchRequestEntry, SQSClient } from "@aws-sdk/client-sqs";
import type { SQSRecord } from "aws-lambda";
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
  VERSION_KEY,
} from "../clarifai/to-annotation.js";
import { DELIVERED, type Failure, type Outcome, retryable } from "../failure.js";
import { deleteMany } from "./apply-changes.js";
import {
  advance,
  type Cursor,
  decodeCursor,
  encodeCursor,
  type OpChunk,
  opChunks,
  scanPage,
  startCursor,
  sweepPage,
  targetOf,
} from "./continuation.js";
import { CONTINUATION_ATTRIBUTE } from "./continuation-attribute.js";
import { sendWithSplit } from "./deliver.js";
import { heldByIds, lookupParts } from "./lookup.js";
import { chunks, type DeliverOptions, mapWithConcurrency, paced, TIME_EXHAUSTED } from "./requests.js";
import { entryProblem, MAX_ATTRIBUTES, queueUrlFromArn, sqsSafeGroupId } from "./sqs-actions.js";
import { loadSdk } from "./sqs-client.js";

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
  const outcomes = await sendWithSplit(chunk.kind, app, annotations, client, options, {
    splitExisting: false,
  });
  const refused = (a: ClarifaiAnnotation) => {
    const o = outcomes.get(a.id);
    if (!o || o.kind === "delivered") return false;
    return chunk.kind === "post"
      ? o.checkExisting === true
      : o.statusCode === STATUS_CODES.ANNOTATION_MODIFY_FAILED;
  };
  if (chunk.kind === "patch") {
    const gone = annotations.filter(refused);
    if (gone.length > 0)
      for (const [id, o] of await sendWithSplit("post", app, gone, client, options)) outcomes.set(id, o);
    return firstFailure(annotations, outcomes);
  }
  // A POST refused as "exists" is most often this version's own write whose answer was lost (a request cut at the
  // deadline, then sent again): looked up, what is held at this version is done, what another version holds is
  // overwritten, and what is not held is posted again (halved as usual: the refusal was another annotation's).
  const exists = annotations.filter(refused);
  if (exists.length === 0) return firstFailure(annotations, outcomes);
  const held = await heldVersions(exists, app, client, options);
  if (!(held instanceof Map)) return held;
  const overwrite = exists.filter((a) => held.get(a.id) === "other");
  const again = exists.filter((a) => !held.has(a.id));
  for (const a of exists) if (held.get(a.id) === "same") outcomes.set(a.id, DELIVERED);
  const [patched, posted] = await Promise.all([
    overwrite.length > 0
      ? sendWithSplit("patch", app, overwrite, client, options)
      : new Map<string, Outcome>(),
    again.length > 0 ? sendWithSplit("post", app, again, client, options) : new Map<string, Outcome>(),
  ]);
  for (const [id, o] of [...patched, ...posted]) outcomes.set(id, o);
  return firstFailure(annotations, outcomes);
}

/** The first annotation's failure, in order, or delivered. */
function firstFailure(annotations: readonly ClarifaiAnnotation[], outcomes: Map<string, Outcome>): Outcome {
  for (const a of annotations) {
    const o = outcomes.get(a.id) ?? retryable("not-attempted", `${a.id} was not sent`);
    if (o.kind !== "delivered") return o;
  }
  return DELIVERED;
}

/**
 * Of annotations Clarifai says exist, which it holds and whether at the version they carry (`same`) or another
 * (`other`); a retryable failure when the lookup could not say.
 */
async function heldVersions(
  annotations: readonly ClarifaiAnnotation[],
  app: AppRef | null,
  client: ClarifaiClient,
  options: DeliverOptions,
): Promise<Map<string, "same" | "other"> | Failure> {
  const versions = new Map<string, "same" | "other">();
  for (const part of lookupParts(annotations)) {
    const held = await heldByIds(app, part, client, options);
    if (!held)
      return retryable("clarifai-unconfirmed", "Clarifai says they exist (could not check at which version)");
    for (const a of part) {
      const h = held.get(a.id);
      if (!h) continue;
      const version = (a.data as { metadata?: Record<string, unknown> } | undefined)?.metadata?.[VERSION_KEY];
      const same = typeof version === "string" && writtenVersion(h) === Date.parse(version);
      versions.set(a.id, same ? "same" : "other");
    }
  }
  return versions;
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

/** A long record of the batch: the change it asks for, and the SQS record that carried it. */
export interface LongRecord {
  readonly key: string;
  readonly change: Change;
  readonly record: SQSRecord;
  readonly receiveCount: number;
}

/**
 * The batch's long records, one after the other, each as far as the time allows: each one's outcome (delivered
 * when it finished or went on in a continuation), and the message ids that went on. Continuations are queued
 * before this returns, so the handler's answer comes after them; one that could not be queued is a retryable
 * failure, and SQS delivers the record again (a scan then finds what was written).
 */
export async function applyLongRecords(
  longs: readonly LongRecord[],
  deps: {
    readonly client: ClarifaiClient;
    readonly options: DeliverOptions;
    readonly sqs: () => Promise<SQSClient>;
    readonly sqsEndpoint?: string;
    readonly logger: Logger;
    readonly stepFailed: (step: string, error: unknown) => void;
  },
): Promise<{ outcomes: Map<string, Outcome>; continued: Set<string> }> {
  const { logger } = deps;
  const outcomes = new Map<string, Outcome>();
  const continuations: Continuation[] = [];
  for (const { key, change, record, receiveCount } of longs) {
    try {
      const carriedText = record.messageAttributes?.[CONTINUATION_ATTRIBUTE]?.stringValue;
      const decoded = decodeCursor(carriedText);
      // A continuation received again means an invocation died part-way through it: its cursor may be behind what
      // was written, so the scan finds out (a first receive scans too).
      const carried =
        decoded && receiveCount > 1 ? startCursor(decoded.at, decoded.count, decoded.hops) : decoded;
      if (carriedText !== undefined && !decoded)
        logger.warn("continuation cursor not readable; the event starts again from a scan", {
          messageId: record.messageId,
        });
      const done = await applyLong(change, carried, deps.client, deps.options);
      const where = { messageId: record.messageId, eventId: change.eventId, requests: done.requests };
      if (done.kind === "continue") {
        // The first message's time goes along: events read with their receive time keep their version.
        const firstSent = decoded?.sent ?? Number(record.attributes.SentTimestamp);
        const cursor =
          Number.isSafeInteger(firstSent) && firstSent > 0
            ? { ...done.cursor, sent: firstSent }
            : done.cursor;
        continuations.push({
          record,
          attribute: CONTINUATION_ATTRIBUTE,
          cursor: encodeCursor(cursor),
          hop: cursor.hops,
        });
        outcomes.set(key, DELIVERED);
        logger.info("long event continues in a new message", {
          ...where,
          phase: cursor.phase,
          hop: cursor.hops,
          next: cursor.next,
        });
      } else if (done.kind === "done") {
        outcomes.set(key, DELIVERED);
        if (done.how !== "written")
          logger.info(`long event ${done.how}: a newer version holds its annotations`, where);
      } else outcomes.set(key, done.failure);
    } catch (error) {
      deps.stepFailed("applying a long event", error);
    }
  }
  const continued = new Set(continuations.map((c) => c.record.messageId));
  if (continuations.length === 0) return { outcomes, continued };
  let unqueued: Set<string>;
  try {
    unqueued = await sendContinuations(deps.sqs, continuations, deps.sqsEndpoint);
  } catch (error) {
    deps.stepFailed("queueing continuations", error);
    unqueued = new Set(continued);
  }
  for (const id of unqueued) {
    continued.delete(id);
    const key = longs.find((l) => l.record.messageId === id)?.key;
    if (key)
      outcomes.set(
        key,
        retryable("continuation-not-queued", "could not queue the continuation of this long event"),
      );
  }
  return { outcomes, continued };
}

/** A record to send again to its own queue with a continuation cursor (long-change.ts). */
export interface Continuation {
  readonly record: SQSRecord;
  /** The attribute that carries the cursor, and its text. */
  readonly attribute: string;
  readonly cursor: string;
  /** Distinguishes this hop in a FIFO queue's deduplication id. */
  readonly hop: number;
}

/**
 * Queues each continuation on the record's own queue: the same body and the producer's attributes, with the
 * cursor in `attribute`. A new message starts with a receive count of 1, so an event that progresses is never
 * moved to the dead-letter queue by its count. Returns the message ids whose continuation was NOT queued: the
 * caller reports those records as failed, so SQS delivers the original again (nothing is lost).
 */
export async function sendContinuations(
  getSqs: () => Promise<SQSClient>,
  continuations: readonly Continuation[],
  endpoint?: string,
): Promise<Set<string>> {
  const unsent = new Set<string>();
  if (continuations.length === 0) return unsent;
  const { SendMessageCommand } = await loadSdk();
  const sqs = await getSqs();
  for (const { record, attribute, cursor, hop } of continuations) {
    const queueUrl = queueUrlFromArn(record.eventSourceARN, endpoint);
    const attributes: Record<string, MessageAttributeValue> = {
      [attribute]: { DataType: "String", StringValue: cursor },
    };
    for (const [name, value] of Object.entries(record.messageAttributes ?? {})) {
      if (Object.keys(attributes).length >= MAX_ATTRIBUTES) break;
      if (name === attribute || value.stringValue === undefined) continue;
      attributes[name] = { DataType: value.dataType, StringValue: value.stringValue };
    }
    const group = record.attributes.MessageGroupId;
    const entry: SendMessageBatchRequestEntry = {
      Id: "0",
      MessageBody: record.body,
      MessageAttributes: attributes,
      ...(queueUrl.endsWith(".fifo")
        ? {
            MessageGroupId: sqsSafeGroupId(group),
            MessageDeduplicationId: sqsSafeGroupId(`${record.messageId.slice(0, 100)}-c${hop}`),
          }
        : {}),
    };
    if (entryProblem(entry) !== undefined) {
      unsent.add(record.messageId);
      continue;
    }
    try {
      const { Id: _id, ...message } = entry;
      await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, ...message }));
    } catch {
      unsent.add(record.messageId);
    }
  }
  return unsent;
}

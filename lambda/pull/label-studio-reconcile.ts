/**
 * Label Studio reconciliation, pure: Label Studio never retries a webhook, so what the ingress missed is found by
 * reading the project's tasks changed since a watermark (`GET /api/tasks` with a Data Manager filter on
 * `tasks:updated_at`, ordered by it) and queued as the webhook bodies the ingress would have queued: one
 * `ANNOTATION_UPDATED` per annotation (the whole result; the handler replaces the set and its ordering check
 * refuses older versions, so an annotation already applied costs a lookup and changes nothing) and one
 * `ANNOTATIONS_DELETED` per task for annotation ids that are gone.
 *
 * Paging is by key, not by page number: each request asks for tasks updated at or after the newest time read so
 * far, so a task updated during the run moves later and is read again instead of shifting another task out of
 * sight. Each run starts an overlap window before the watermark (a transaction that committed late with an earlier
 * `updated_at` is still seen) and skips tasks whose `updated_at` it has already handled.
 *
 * Deletions are found by comparing each changed task's annotation ids with the ids last seen for it, and by a
 * sweep: one page of all tasks (by id) per run, so a deletion that did not touch `updated_at` is still found within
 * `tasks / pageSize` runs. The cost per run is bounded: at most `maxPages` pages of changes plus one sweep page.
 */
import { MAX_QUEUED_BODY_BYTES, sqsSafeJson } from "../delivery/sqs-safe.js";

type Json = Record<string, unknown>;

/** What is kept per project between runs (an S3 object; see puller.ts). */
export interface ProjectState {
  readonly version: 1;
  /** The newest task `updated_at` read (ISO time, as Label Studio wrote it). */
  watermark?: string;
  /** Task id -> the `updated_at` already handled, for tasks inside the overlap window. */
  handled: Record<string, string>;
  /** Task id -> its annotation ids when last read (tasks with annotations only). */
  annotations: Record<string, number[]>;
  /** The sweep's next page (1-based). */
  sweepPage: number;
}

export const emptyState = (): ProjectState => ({ version: 1, handled: {}, annotations: {}, sweepPage: 1 });

/** A state read back from storage, or an empty one when it is missing or not ours. */
export function readState(text: string | undefined): ProjectState {
  if (!text) return emptyState();
  try {
    const parsed = JSON.parse(text) as Partial<ProjectState>;
    if (parsed?.version !== 1) return emptyState();
    return {
      version: 1,
      ...(typeof parsed.watermark === "string" ? { watermark: parsed.watermark } : {}),
      handled: isRecord(parsed.handled) ? (parsed.handled as Record<string, string>) : {},
      annotations: isRecord(parsed.annotations) ? (parsed.annotations as Record<string, number[]>) : {},
      sweepPage:
        Number.isInteger(parsed.sweepPage) && (parsed.sweepPage as number) > 0
          ? (parsed.sweepPage as number)
          : 1,
    };
  } catch {
    return emptyState();
  }
}

export interface ReconcileOptions {
  readonly projectId: number;
  readonly pageSize: number;
  /** Seconds before the watermark each run starts from. */
  readonly overlapSeconds: number;
  /** Without a watermark (the first run), how far back to start. */
  readonly initialLookbackSeconds: number;
}

/** The `query` parameter of `GET /api/tasks`: tasks updated at or after `since`, oldest first. */
export function changedTasksQuery(since: string): string {
  return JSON.stringify({
    filters: {
      conjunction: "and",
      items: [
        { filter: "filter:tasks:updated_at", operator: "greater_or_equal", type: "Datetime", value: since },
      ],
    },
    ordering: ["tasks:updated_at", "tasks:id"],
  });
}

/** The `query` parameter for the sweep: every task, by id. */
export const sweepQuery = (): string => JSON.stringify({ ordering: ["tasks:id"] });

/** Where a run starts: the overlap window before the watermark, or the initial lookback before `now`. */
export function runStart(state: ProjectState, now: Date, options: ReconcileOptions): string {
  const from = state.watermark
    ? Date.parse(state.watermark) - options.overlapSeconds * 1000
    : now.getTime() - options.initialLookbackSeconds * 1000;
  return labelStudioTime(new Date(Number.isFinite(from) ? from : now.getTime()));
}

/** Label Studio's Datetime filter format, `%Y-%m-%dT%H:%M:%S.%fZ`. */
export const labelStudioTime = (d: Date) => d.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");

/**
 * A time Label Studio wrote (`…481420Z`, or with `+00:00`, or with fewer digits) in its filter's format, in UTC,
 * its microseconds kept: the filter parses `%Y-%m-%dT%H:%M:%S.%fZ` only.
 */
export function filterTime(written: string): string {
  const ms = Date.parse(written);
  if (Number.isNaN(ms)) return written;
  const micros = /\.\d{3}(\d{1,3})/.exec(written)?.[1]?.padEnd(3, "0") ?? "000";
  return new Date(ms).toISOString().replace(/Z$/, `${micros}Z`);
}

export interface PagePlan {
  /** Queue bodies (Label Studio webhook bodies), in order. */
  readonly bodies: string[];
  /** Tasks or annotations that cannot be queued (no id, too large, not serialisable), with why: logged, counted, passed. */
  readonly refused: { readonly taskId: string; readonly reason: string }[];
  readonly state: ProjectState;
  /** Tasks on the page already handled at this `updated_at` (unchanged). */
  readonly unchanged: number;
  /** Where the next request starts: a later time (page 1 again), or the same time's next page. */
  readonly next: { readonly since: string; readonly page: number } | undefined;
}

/**
 * One page of changed tasks: the bodies to queue and the state to store once they are queued (store after
 * queueing: a crash in between re-queues the page next run, which changes nothing).
 */
export function planChangedPage(
  tasks: readonly Json[],
  state: ProjectState,
  request: { readonly since: string; readonly page: number },
  options: ReconcileOptions,
): PagePlan {
  const next: ProjectState = {
    ...state,
    handled: { ...state.handled },
    annotations: { ...state.annotations },
  };
  const bodies: string[] = [];
  const refused: PagePlan["refused"][number][] = [];
  let unchanged = 0;
  let newest = state.watermark;
  for (const task of tasks) {
    if (!isTaskId(task.id)) {
      refused.push({ taskId: "?", reason: "a task without a numeric id" });
      continue;
    }
    const id = String(task.id);
    const updatedAt =
      typeof task.updated_at === "string" && !Number.isNaN(Date.parse(task.updated_at))
        ? task.updated_at
        : undefined;
    if (updatedAt && state.handled[id] === updatedAt) {
      unchanged += 1;
      continue;
    }
    const made = taskBodies(task, state.annotations[id], options.projectId);
    bodies.push(...made.bodies);
    refused.push(...made.refused.map((reason) => ({ taskId: id, reason })));
    recordAnnotations(next, id, task);
    if (updatedAt) {
      next.handled[id] = updatedAt;
      if (!newest || later(updatedAt, newest)) newest = updatedAt;
    }
  }
  if (newest) next.watermark = newest;
  // Forget handled tasks older than the overlap window: a run never reads before it.
  const keepFrom = newest
    ? Date.parse(newest) - options.overlapSeconds * 1000 - 1000
    : Number.NEGATIVE_INFINITY;
  for (const [id, at] of Object.entries(next.handled)) if (Date.parse(at) < keepFrom) delete next.handled[id];

  const last = tasks[tasks.length - 1]?.updated_at;
  let following: PagePlan["next"];
  if (tasks.length >= options.pageSize && typeof last === "string")
    following = later(last, request.since)
      ? { since: filterTime(last), page: 1 }
      : { since: request.since, page: request.page + 1 };
  return { bodies, refused, state: next, unchanged, next: following };
}

/**
 * One sweep page (all tasks by id): deletions only, for tasks whose annotation ids were seen before. Annotations
 * never seen are recorded, not queued (the sweep finds what was deleted; the watermark finds what changed).
 */
export function planSweepPage(
  tasks: readonly Json[],
  state: ProjectState,
  options: ReconcileOptions,
): { bodies: string[]; state: ProjectState } {
  const next: ProjectState = { ...state, annotations: { ...state.annotations } };
  const bodies: string[] = [];
  for (const task of tasks) {
    if (!isTaskId(task.id)) continue;
    const id = String(task.id);
    const known = state.annotations[id];
    if (known) {
      const gone = known.filter((a) => !annotationIds(task).includes(a));
      if (gone.length) bodies.push(deletedBody(gone, options.projectId));
    }
    recordAnnotations(next, id, task);
  }
  next.sweepPage = tasks.length < options.pageSize ? 1 : state.sweepPage + 1;
  return { bodies, state: next };
}

/** The bodies for one changed task: each annotation as ANNOTATION_UPDATED, and its vanished ids as one delete. */
export function taskBodies(
  task: Json,
  known: readonly number[] | undefined,
  projectId: number,
): { bodies: string[]; refused: string[] } {
  const annotations = Array.isArray(task.annotations) ? (task.annotations as unknown[]) : [];
  // The task as the webhook's nested `task` carries it, without its annotations, predictions and drafts.
  const { annotations: _a, predictions: _p, drafts: _d, ...taskPart } = task;
  const bodies: string[] = [];
  const refused: string[] = [];
  for (const annotation of annotations) {
    if (annotation === null || typeof annotation !== "object" || Array.isArray(annotation)) continue;
    const annotationId = (annotation as Json).id;
    let body: string;
    try {
      body = sqsSafeJson(
        JSON.stringify({
          action: "ANNOTATION_UPDATED",
          annotation: { ...annotation, task: task.id, project: projectId },
          task: taskPart,
          project: { id: projectId },
        }),
      );
    } catch {
      refused.push(`annotation ${String(annotationId).slice(0, 32)} cannot be serialised (nested too deep?)`);
      continue;
    }
    if (Buffer.byteLength(body) > MAX_QUEUED_BODY_BYTES) {
      refused.push(
        `annotation ${String(annotationId).slice(0, 32)} is ${Buffer.byteLength(body)} bytes as a queue message (at most ${MAX_QUEUED_BODY_BYTES})`,
      );
      continue;
    }
    bodies.push(body);
  }
  const now = annotationIds(task);
  const gone = (known ?? []).filter((id) => !now.includes(id));
  if (gone.length) bodies.push(deletedBody(gone, projectId));
  return { bodies, refused };
}

const isTaskId = (id: unknown): id is number => typeof id === "number" && Number.isSafeInteger(id) && id >= 0;

const deletedBody = (ids: readonly number[], projectId: number) =>
  JSON.stringify({
    action: "ANNOTATIONS_DELETED",
    annotations: ids.map((id) => ({ id })),
    project: { id: projectId },
  });

function annotationIds(task: Json): number[] {
  const list = Array.isArray(task.annotations) ? (task.annotations as unknown[]) : [];
  return list
    .map((a) => (a !== null && typeof a === "object" ? (a as Json).id : undefined))
    .filter((id): id is number => typeof id === "number");
}

function recordAnnotations(state: ProjectState, taskId: string, task: Json): void {
  const ids = annotationIds(task);
  if (ids.length) state.annotations[taskId] = ids;
  else delete state.annotations[taskId];
}

/** Whether time `a` is after time `b` (microseconds, where Label Studio writes them, break millisecond ties). */
export function later(a: string, b: string): boolean {
  const ms = Date.parse(a) - Date.parse(b);
  if (ms !== 0 || Number.isNaN(ms)) return ms > 0;
  return micros(a) > micros(b);
}
const micros = (t: string) => Number(/\.\d{3}(\d{1,3})/.exec(t)?.[1]?.padEnd(3, "0") ?? 0);

const isRecord = (v: unknown) => v !== null && typeof v === "object" && !Array.isArray(v);

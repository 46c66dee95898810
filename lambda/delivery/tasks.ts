import { statusFor } from "../clarifai/attribution.js";
import type { HttpResult } from "../clarifai/classify.js";
import type { StatusName } from "../clarifai/status-codes.js";
import { readTaskAnswer, type TaskInfo, type TaskLookup } from "../clarifai/task-info.js";
import {
  type AppRef,
  annotationBytes,
  type ClarifaiAnnotation,
  membersWithStatus,
  rememberBytes,
} from "../clarifai/to-annotation.js";
import { type Outcome, permanent } from "../failure.js";
import type { ChangeItem } from "./apply-changes.js";
import type { DeliveryItem } from "./delivery-item.js";
import { appKey, mapWithConcurrency, TIME_EXHAUSTED } from "./requests.js";

/**
 * Tasks before annotations: each task a batch names is read once (GetTask, cached per instance), so an unknown
 * task is dead-lettered before anything is posted, each annotation gets the status its task's review implies (or
 * the mapping's fixed one), and a labeler who is not one of the task's workers is counted.
 */

/** The per-instance cache of task reads. */
export interface TaskDirectory {
  /** The task's read: cached, shared with a read in flight, or fetched with `fetch` (undefined: no time left). */
  lookup(
    app: AppRef | null,
    taskId: string,
    fetch: () => Promise<HttpResult | undefined>,
  ): Promise<{ readonly lookup: TaskLookup; readonly fetched: boolean }>;
  readonly size: () => number;
}

export interface TaskDirectoryOptions {
  /** How long a found task stays good. A missing or unreadable one: at most 60 s (someone may be fixing it). */
  readonly ttlMs: number;
  /** The most tasks kept; the one fetched longest ago goes first. @default 1000 */
  readonly maxEntries?: number;
  readonly now?: () => number;
}

const MISSING_TTL_MS = 60_000;

/** One task of one app, as the cache and a batch's task list key it. */
const taskKey = (app: AppRef | null, taskId: string) => `${appKey(app)}\u0000${taskId}`;

export function createTaskDirectory(options: TaskDirectoryOptions): TaskDirectory {
  const now = options.now ?? Date.now;
  const maxEntries = options.maxEntries ?? 1000;
  const entries = new Map<string, { expires: number; value: Promise<TaskLookup> }>();
  return {
    size: () => entries.size,
    async lookup(app, taskId, fetch) {
      const k = taskKey(app, taskId);
      const cached = entries.get(k);
      if (cached && cached.expires > now()) return { lookup: await cached.value, fetched: false };
      entries.delete(k);
      const value = fetch().then(
        (result): TaskLookup =>
          result === undefined ? { kind: "failed", failure: TIME_EXHAUSTED } : readTaskAnswer(result, taskId),
        (error): TaskLookup => ({
          kind: "failed",
          failure: { kind: "retryable", code: "task-lookup-failed", reason: String(error).slice(0, 200) },
        }),
      );
      // While in flight it is shared by every record that names the task: one GET per task, however many records.
      const entry = { expires: Number.POSITIVE_INFINITY, value };
      entries.set(k, entry);
      while (entries.size > maxEntries) entries.delete(entries.keys().next().value as string);
      const lookup = await value;
      if (lookup.kind === "failed") {
        if (entries.get(k) === entry) entries.delete(k); // never cached: the next record asks again
      } else
        entry.expires =
          now() + (lookup.kind === "found" ? options.ttlMs : Math.min(options.ttlMs, MISSING_TTL_MS));
      return { lookup, fetched: true };
    },
  };
}

export interface TaskStepOptions {
  /** Read tasks (CLARIFAI_TASK_LOOKUP). Off: no GetTask; fixed statuses still apply, `from-task` sends none. */
  readonly enabled: boolean;
  readonly directory: TaskDirectory;
  /** One GetTask under the instance's pace (deliver.ts `paced`); undefined when no time is left. */
  readonly fetchTask: (app: AppRef | null, taskId: string) => Promise<HttpResult | undefined>;
  readonly maxConcurrentRequests: number;
  /** Told once per task per batch: what was read, and whether it was fetched now or came from the cache. */
  readonly onTask?: (info: {
    readonly app: AppRef | null;
    readonly taskId: string;
    readonly lookup: TaskLookup;
    readonly fetched: boolean;
  }) => void;
  /** Told of each annotation whose Clarifai user is not one of the task's workers (it is posted anyway). */
  readonly onNotTaskWorker?: (info: { readonly taskId: string; readonly userId: string }) => void;
  /** Told of each annotation posted without the status its task would give, because the task was unreadable. */
  readonly onStatusFallback?: (info: {
    readonly taskId: string;
    readonly used: StatusName | undefined;
  }) => void;
}

export interface TaskStepResult {
  /** What to post, each annotation with its status. */
  readonly items: DeliveryItem[];
  /** What to apply, each annotation with its status. */
  readonly changes: ChangeItem[];
  /** Outcomes of what is not sent: unknown tasks (permanent), failed reads (retried). */
  readonly outcomes: Map<string, Outcome>;
}

/** The dead-letter reason for a task that does not exist. */
export function unknownTask(app: AppRef | null, taskId: string, answer: string): Outcome {
  const where = app ? `app ${app.userId}/${app.appId}` : "the key's app";
  return permanent(
    "unknown-task",
    `task ${JSON.stringify(taskId)} does not exist in ${where} (GetTask answered ${answer}): create it in Clarifai or correct the task id (the mapping's taskId, or the event's), then redrive`,
  );
}

export async function resolveTasks(
  items: readonly DeliveryItem[],
  changes: readonly ChangeItem[],
  options: TaskStepOptions,
): Promise<TaskStepResult> {
  const tasks = new Map<string, { app: AppRef | null; taskId: string; lookup?: TaskLookup }>();
  const taskOf = (app: AppRef | null, taskId: string) => {
    const k = taskKey(app, taskId);
    if (!tasks.has(k)) tasks.set(k, { app, taskId });
  };
  if (options.enabled) {
    for (const { delivery } of items) if (delivery.taskId) taskOf(delivery.app, delivery.taskId);
    for (const { change } of changes) if (change.taskId) taskOf(change.app, change.taskId);
  }

  await mapWithConcurrency([...tasks.values()], options.maxConcurrentRequests, async (task) => {
    const { lookup, fetched } = await options.directory.lookup(task.app, task.taskId, () =>
      options.fetchTask(task.app, task.taskId),
    );
    task.lookup = lookup;
    options.onTask?.({ app: task.app, taskId: task.taskId, lookup, fetched });
  });

  const outcomes = new Map<string, Outcome>();
  /** The annotation with its status, or an outcome that keeps it from being sent. */
  const prepare = (
    app: AppRef | null,
    taskId: string,
    policy: Parameters<typeof statusFor>[0],
    annotations: readonly ClarifaiAnnotation[],
  ): { annotations: ClarifaiAnnotation[] } | { outcome: Outcome } => {
    const lookup = taskId ? tasks.get(taskKey(app, taskId))?.lookup : undefined;
    if (lookup?.kind === "missing") return { outcome: unknownTask(app, taskId, lookup.answer) };
    if (lookup?.kind === "failed") return { outcome: lookup.failure };
    const found: TaskInfo | undefined = lookup?.kind === "found" ? lookup.task : undefined;
    const status = statusFor(policy, found?.review);
    for (const annotation of annotations) {
      const userId = annotation.worker?.user.id;
      if (found && userId && found.workers.size > 0 && !found.workers.has(userId))
        options.onNotTaskWorker?.({ taskId, userId });
      if (lookup?.kind === "unreadable" && policy === "from-task")
        options.onStatusFallback?.({ taskId, used: status });
    }
    return { annotations: status ? annotations.map((a) => withStatus(a, status)) : [...annotations] };
  };

  const ready: DeliveryItem[] = [];
  for (const item of items) {
    const { delivery } = item;
    const prepared = prepare(delivery.app, delivery.taskId, delivery.statusPolicy ?? "from-task", [
      delivery.annotation,
    ]);
    if ("outcome" in prepared) outcomes.set(item.key, prepared.outcome);
    else
      ready.push({
        ...item,
        delivery: { ...delivery, annotation: prepared.annotations[0] ?? delivery.annotation },
      });
  }
  const readyChanges: ChangeItem[] = [];
  for (const item of changes) {
    const { change } = item;
    const members = change.kind === "replace" ? change.members : undefined;
    // A long event's members share their worker and status: one is checked for all, and they are made with it.
    const prepared = prepare(
      change.app,
      change.taskId,
      change.kind === "replace" ? (change.statusPolicy ?? "from-task") : "from-task",
      change.kind === "replace" ? (members && members.count > 0 ? [members.at(0)] : change.annotations) : [],
    );
    if ("outcome" in prepared) outcomes.set(item.key, prepared.outcome);
    else if (change.kind === "replace" && members) {
      const status = prepared.annotations[0]?.status?.code;
      readyChanges.push(
        status ? { ...item, change: { ...change, members: membersWithStatus(members, status) } } : item,
      );
    } else
      readyChanges.push(
        change.kind === "replace"
          ? { ...item, change: { ...change, annotations: prepared.annotations } }
          : item,
      );
  }
  return { items: ready, changes: readyChanges, outcomes };
}

/** The annotation with `status`; its size is the measured one plus the field, so it is not serialised again. */
export function withStatus(annotation: ClarifaiAnnotation, code: StatusName): ClarifaiAnnotation {
  const next: ClarifaiAnnotation = { ...annotation, status: { code } };
  const had = annotation.status
    ? Buffer.byteLength(JSON.stringify({ status: annotation.status })) - 2 + 1
    : 0;
  rememberBytes(next, annotationBytes(annotation) - had + STATUS_FIELD_BYTES + code.length);
  return next;
}

/** `,"status":{"code":""}` around the code's name. */
const STATUS_FIELD_BYTES = Buffer.byteLength(',"status":{"code":""}');

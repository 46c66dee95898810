// Over 300 lines: the path of one batch top to bottom (read, tasks, deliver, changes, fate), kept whole so it reads in order.
import type { Logger } from "@aws-lambda-powertools/logger";
import { type Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { SQSBatchItemFailure, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { classifyWhole } from "../clarifai/classify.js";
import type { ClarifaiClient } from "../clarifai/client.js";
import type { Change } from "../clarifai/to-annotation.js";
import type { Config } from "../config.js";
import { type Outcome, retryable } from "../failure.js";
import { publishMetric } from "../publish-metric.js";
import { type Scrub, safeError } from "../redact.js";
import type { ChangeItem } from "./apply-changes.js";
import { CONTINUATION_ATTRIBUTE } from "./continuation-attribute.js";
import { decideFate, type Fate } from "./decide.js";
import { deliverAll } from "./deliver.js";
import type { DeliveryItem } from "./delivery-item.js";
import type { MaskFetchDeps } from "./fetch-masks.js";
import { meteredMaskFetcher } from "./mask-sources.js";
import type { ParsedRecord } from "./parse-record.js";
import type { RateLimiter } from "./rate-limiter.js";
import { type ReadRecord, readBatch } from "./read-batch.js";
import { type DeliverOptions, MIN_REQUEST_MS, paced } from "./requests.js";
import type { DeadLetter } from "./sqs-actions.js";
import { sqsSafeCode } from "./sqs-safe.js";
import { createTaskDirectory, resolveTasks, type TaskDirectory } from "./tasks.js";

export interface BatchDeps {
  readonly config: Config;
  readonly clarifai: ClarifaiClient;
  /** The SQS client, created on first use (only failures need it). */
  readonly sqs: () => Promise<SQSClient>;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Milliseconds left in this invocation (Lambda's `context.getRemainingTimeInMillis`). */
  readonly remainingMs: () => number;
  readonly random?: () => number;
  /** The instance's pace, shared by all its invocations. @default no limit */
  readonly limiter?: RateLimiter;
  /** Removes the key from any text that leaves the function (logs, metric dimensions, dead letters). @default none */
  readonly scrub?: Scrub;
  /** The instance's cache of task reads, shared by its invocations. @default one for this batch only */
  readonly tasks?: TaskDirectory;
  /** How mask files are fetched (keys, S3). @default Node's fetch, no keys, no S3 */
  readonly masks?: MaskFetchDeps;
  /** `clarifai-bridge import --fresh` only (parse-record.ts `fresh`); the handler never sets it. @default false */
  readonly fresh?: boolean;
}

const REQUEST_METRIC = {
  post: "ClarifaiPostRequests",
  patch: "ClarifaiPatchRequests",
  delete: "ClarifaiDeleteRequests",
  get: "ClarifaiGetRequests",
} as const;

/**
 * Time kept back from Clarifai calls for the dead-letter sends and visibility changes that follow them: 2 s, or
 * a tenth of the invocation's time where that is less (a 5 s function would otherwise lose 40% of its time).
 */
export const reserveMs = (invocationMs: number) => Math.min(2_000, invocationMs / 10);

/**
 * The path of one SQS batch: parse every record, deliver all annotations together, decide each record's fate,
 * dead-letter or delay what failed, and report the failed ones to SQS.
 */
export async function processBatch(event: SQSEvent, deps: BatchDeps): Promise<SQSBatchResponse> {
  const { config, logger, metrics } = deps;
  const reserve = reserveMs(deps.remainingMs());
  const scrub = deps.scrub ?? ((text: string) => text);
  // Each step below is guarded, so whatever escapes one (a bug, an odd record) fails only the records it touches:
  // a batch fails as a whole only when something breaks before any record is looked at.
  const stepFailed = (step: string, error: unknown) => {
    logger.error(`${step} failed; its records will be retried`, { error: safeError(error, scrub) });
    metrics.addMetric("BatchStepFailed", MetricUnit.Count, 1);
  };
  const records = await readBatch(
    event.Records,
    {
      ...config,
      fetchMasks: meteredMaskFetcher(deps.masks ?? {}, metrics),
      remainingMs: () => deps.remainingMs() - reserve,
      ...(deps.fresh ? { fresh: true } : {}),
    },
    scrub,
  );

  let items: DeliveryItem[] = records.flatMap(({ record, receiveCount, parsed }) =>
    parsed.ok
      ? parsed.deliveries.map((delivery, i) => ({
          key: `${record.messageId}#${i}`,
          delivery,
          redelivered: receiveCount > 1,
          finalAttempt: config.maxReceiveCount !== undefined && receiveCount >= config.maxReceiveCount,
        }))
      : [],
  );
  let changes: ChangeItem[] = records.flatMap(({ record, parsed }) =>
    parsed.ok ? parsed.changes.map((change, i) => ({ key: `${record.messageId}#c${i}`, change })) : [],
  );
  const deliverOptions: DeliverOptions = {
    maxAnnotationsPerRequest: config.maxAnnotationsPerRequest,
    maxConcurrentRequests: config.maxConcurrentRequests,
    requestTimeoutMs: () => Math.min(config.requestTimeoutMs, deps.remainingMs() - reserve),
    // Nothing waits for a slot past the point where a request could still run: when the handler answers, all of
    // its requests have ended and the limiter holds no slot for one that will not be sent.
    latestStart: () => performance.now() + deps.remainingMs() - reserve - MIN_REQUEST_MS,
    ...(deps.limiter ? { acquire: deps.limiter.acquire, throttled: deps.limiter.backOff } : {}),
    onRequest: ({ kind, ms, result }) => {
      metrics.addMetric(REQUEST_METRIC[kind], MetricUnit.Count, 1);
      metrics.addMetric("ClarifaiLatency", MetricUnit.Milliseconds, ms);
      if (result.kind === "response" && result.httpStatus === 429)
        metrics.addMetric("ClarifaiThrottled", MetricUnit.Count, 1);
      // A key, scope or header problem is retried, never dead-lettered: this metric (and its alarm) says so.
      // Only a failed answer can be one (the hot path of 200s is not classified twice).
      const whole =
        result.kind === "response" && result.httpStatus === 200 ? undefined : classifyWhole(result);
      if (whole !== undefined && whole.kind !== "delivered" && whole.code === "clarifai-auth")
        metrics.addMetric("ClarifaiAuthRejected", MetricUnit.Count, 1);
    },
  };
  // A record that is one event of more annotations than one request holds (a video track) is applied on its own,
  // after the others, as far as the time allows; what is left goes on in a continuation message (long-change.ts).
  // So is one already under way (it carries a continuation), and one whose lookup is too long for one invocation.
  const longRecords = new Map<string, ReadRecord>();
  const singleChange = new Map<string, ReadRecord>();
  for (const read of records) {
    const { parsed, record } = read;
    const only =
      parsed.ok && parsed.deliveries.length === 0 && parsed.changes.length === 1
        ? parsed.changes[0]
        : undefined;
    if (!only) continue;
    singleChange.set(`${record.messageId}#c0`, read);
    if (
      (only.kind === "replace" &&
        (only.members !== undefined || only.annotations.length > config.maxAnnotationsPerRequest)) ||
      record.messageAttributes?.[CONTINUATION_ATTRIBUTE] !== undefined
    )
      longRecords.set(`${record.messageId}#c0`, read);
  }
  let longs: ChangeItem[] = [];
  const outcomes = new Map<string, Outcome>();
  // Tasks first: an unknown task is dead-lettered before anything is posted, and each annotation gets the status
  // its task's review implies (tasks.ts).
  try {
    const notWorkers = new Map<string, number>();
    const fallbacks = new Map<string, number>();
    const resolved = await resolveTasks(items, changes, {
      enabled: config.taskLookup,
      directory: deps.tasks ?? createTaskDirectory({ ttlMs: 0 }),
      fetchTask: (app, taskId) =>
        paced("get", 0, deliverOptions, (timeoutMs) => deps.clarifai.getTask(app, taskId, timeoutMs)),
      maxConcurrentRequests: config.maxConcurrentRequests,
      onTask: ({ app, taskId, lookup, fetched }) => {
        if (fetched) metrics.addMetric("TaskLookups", MetricUnit.Count, 1);
        const where = { taskId, ...(app ? { app: `${app.userId}/${app.appId}` } : {}) };
        if (lookup.kind === "found" && fetched)
          logger.debug("task read", {
            ...where,
            review: lookup.task.review,
            workers: lookup.task.workers.size,
          });
        else if (lookup.kind === "missing")
          logger.warn("task does not exist", { ...where, answer: lookup.answer });
        else if (lookup.kind === "unreadable")
          logger.warn(
            "task could not be read; its from-task annotations are posted without a status (Clarifai's default), fixed statuses still apply",
            {
              ...where,
              answer: lookup.answer,
            },
          );
        else if (lookup.kind === "failed")
          logger.warn("task read failed; its records will be retried", {
            ...where,
            reason: scrub(lookup.failure.reason),
          });
      },
      onNotTaskWorker: ({ taskId, userId }) =>
        notWorkers.set(`${taskId}\u0000${userId}`, (notWorkers.get(`${taskId}\u0000${userId}`) ?? 0) + 1),
      onStatusFallback: ({ used }) => {
        const name = used ?? "clarifai-default";
        fallbacks.set(name, (fallbacks.get(name) ?? 0) + 1);
      },
    });
    items = resolved.items;
    changes = resolved.changes.filter((item) => !longRecords.has(item.key));
    longs = resolved.changes.filter((item) => longRecords.has(item.key));
    for (const [key, outcome] of resolved.outcomes) outcomes.set(key, outcome);
    for (const [k, count] of notWorkers) {
      const [taskId, userId] = k.split("\u0000");
      logger.info("labeler posted to a task they are not a worker of", {
        taskId,
        clarifaiUserId: userId,
        annotations: count,
      });
      metrics.addMetric("LabelerNotTaskWorker", MetricUnit.Count, count);
    }
    for (const [used, count] of fallbacks) {
      publishMetric(metrics, "TaskStatusFallback", MetricUnit.Count, count, ["status", used]);
    }
  } catch (error) {
    stepFailed("reading tasks", error);
    const failure = retryable("internal-error", "could not read the tasks of this batch");
    for (const item of items) outcomes.set(item.key, failure);
    for (const item of changes) outcomes.set(item.key, failure);
    items = [];
    changes = [];
    longs = [];
  }
  try {
    for (const [key, outcome] of await deliverAll(items, deps.clarifai, deliverOptions))
      outcomes.set(key, outcome);
  } catch (error) {
    stepFailed("delivering creates", error);
  }
  // Updates and deletes go after the creates: a batch holding an annotation's create and its update applies both.
  if (changes.length > 0) {
    try {
      const changeOptions = {
        ...deliverOptions,
        onDeleteFoundNothing: (change: Change) => {
          metrics.addMetric("DeleteFoundNothing", MetricUnit.Count, 1);
          logger.info("delete found nothing to delete (already gone, or the task filter matched nothing)", {
            baseId: change.baseId,
            taskId: change.taskId,
            ...(change.inputId ? { inputId: change.inputId } : {}),
            eventId: change.eventId,
          });
        },
      };
      const byKey = new Map(changes.map((c) => [c.key, c]));
      // Updates and deletes load their code on a batch's first (a batch of creates never needs it).
      const { applyChanges, LOOKUP_TOO_LONG } = await import("./apply-changes.js");
      for (const [key, outcome] of await applyChanges(changes, deps.clarifai, changeOptions)) {
        outcomes.set(key, outcome);
        const read = singleChange.get(key);
        const item = byKey.get(key);
        if (outcome.kind !== "delivered" && outcome.code === LOOKUP_TOO_LONG && read && item) {
          longRecords.set(key, read);
          longs.push(item);
        }
      }
    } catch (error) {
      stepFailed("applying updates and deletes", error);
    }
  }
  // The long-event code loads only for a batch that has one (long-change.ts): what each did, and which went on
  // in a continuation (the record itself is then done with; one that could not be queued is retried).
  let continued = new Set<string>();
  if (longs.length > 0) {
    try {
      const { applyLongRecords } = await import("./long-change.js");
      const done = await applyLongRecords(
        longs.map((item) => ({
          ...(longRecords.get(item.key) as ReadRecord),
          key: item.key,
          change: item.change,
        })),
        {
          client: deps.clarifai,
          options: deliverOptions,
          sqs: deps.sqs,
          ...(config.sqsEndpoint ? { sqsEndpoint: config.sqsEndpoint } : {}),
          logger,
          stepFailed,
        },
      );
      for (const [key, outcome] of done.outcomes) outcomes.set(key, outcome);
      continued = done.continued;
    } catch (error) {
      stepFailed("applying long events", error);
    }
    if (continued.size > 0) metrics.addMetric("RecordsContinued", MetricUnit.Count, continued.size);
  }

  const fates = records.map(({ record, receiveCount, parsed }) => {
    let fate: Fate;
    try {
      fate = fateOf(record, receiveCount, parsed, outcomes, deps);
    } catch (error) {
      stepFailed("deciding a record's fate", error);
      fate = {
        kind: "retry",
        failure: retryable("internal-error", "could not decide this record's fate"),
        visibilityTimeoutSeconds: deps.config.backoff.baseSeconds,
      };
    }
    // The one place failure text is made safe: no key in it, a code SQS and CloudWatch accept.
    if (fate.kind !== "delivered")
      fate = {
        ...fate,
        failure: {
          ...fate.failure,
          code: sqsSafeCode(scrub(fate.failure.code)),
          reason: scrub(fate.failure.reason),
        },
      };
    return { record, parsed, fate };
  });

  const letters: DeadLetter[] = fates.flatMap(({ record, parsed, fate }) =>
    fate.kind === "dead-letter"
      ? [{ record, failure: fate.failure, groupId: record.attributes.MessageGroupId ?? firstInput(parsed) }]
      : [],
  );
  let unsent = new Set<string>();
  if (letters.length > 0) {
    try {
      // SQS's side (and its SDK) loads on a batch's first dead letter or retry (sqs-actions.ts).
      const { sendToDeadLetterQueue } = await import("./sqs-actions.js");
      unsent = await sendToDeadLetterQueue(deps.sqs, config.deadLetterQueueUrl, letters);
    } catch (error) {
      stepFailed("dead-lettering", error);
      unsent = new Set(letters.map((l) => l.record.messageId));
    }
  }

  const failures: SQSBatchItemFailure[] = [];
  const retries: { record: SQSRecord; seconds: number }[] = [];
  // The states Clarifai reported for stored annotations (AWAITING_REVIEW in a reviewed task, say), by state.
  const states = new Map<string, number>();
  for (const outcome of outcomes.values())
    if (outcome.kind === "delivered" && outcome.state)
      states.set(outcome.state, (states.get(outcome.state) ?? 0) + 1);
  for (const [state, count] of states) {
    publishMetric(metrics, "AnnotationsByState", MetricUnit.Count, count, ["state", sqsSafeCode(state)]);
  }
  // One line per batch at INFO; a line per delivered record only at DEBUG (they cost about 20 µs a record).
  const perRecord = logger.getLevelName() === "DEBUG" || logger.getLevelName() === "TRACE";
  const tally = {
    delivered: 0,
    annotations: 0,
    deadLettered: 0,
    retried: 0,
    continued: 0,
    skippedObjects: 0,
  };
  for (const { record, parsed, fate } of fates) {
    if (fate.kind === "delivered" && continued.has(record.messageId)) {
      tally.continued += 1;
      continue;
    }
    if (fate.kind === "delivered") {
      const annotations = parsed.ok ? annotationCount(parsed) : 0;
      tally.delivered += 1;
      tally.annotations += annotations;
      tally.skippedObjects += parsed.ok ? parsed.skipped : 0;
      if (perRecord) {
        const recordStates = statesOf(record, parsed, outcomes);
        logger.debug("record delivered", {
          messageId: record.messageId,
          ...describe(parsed),
          annotations,
          ...(recordStates.length > 0 ? { states: recordStates } : {}),
        });
      }
      continue;
    }
    const fields = { messageId: record.messageId, ...describe(parsed) };
    if (fate.kind === "dead-letter" && !unsent.has(record.messageId)) {
      tally.deadLettered += 1;
      logger.warn("record dead-lettered", {
        ...fields,
        errorCode: fate.failure.code,
        reason: fate.failure.reason,
      });
      publishMetric(metrics, "RecordsDeadLettered", MetricUnit.Count, 1, ["reason", fate.failure.code]);
    } else {
      // A retry, or a dead-letter that could not be sent: either way SQS must deliver it again.
      tally.retried += 1;
      const failure =
        fate.kind === "retry"
          ? fate.failure
          : { ...fate.failure, reason: `could not dead-letter: ${fate.failure.reason}` };
      logger.warn("record will be retried", { ...fields, errorCode: failure.code, reason: failure.reason });
      failures.push({ itemIdentifier: record.messageId });
      if (fate.kind === "retry") retries.push({ record, seconds: fate.visibilityTimeoutSeconds });
    }
  }
  if (tally.delivered > 0) {
    metrics.addMetric("RecordsDelivered", MetricUnit.Count, tally.delivered);
    metrics.addMetric("AnnotationsDelivered", MetricUnit.Count, tally.annotations);
  }
  if (tally.retried > 0) metrics.addMetric("RecordsRetried", MetricUnit.Count, tally.retried);
  if (tally.skippedObjects > 0)
    metrics.addMetric("UpstreamObjectsSkipped", MetricUnit.Count, tally.skippedObjects);
  logger.info("batch done", { records: fates.length, ...tally });
  if (retries.length > 0) {
    try {
      const { delayRetries } = await import("./sqs-actions.js");
      await delayRetries(deps.sqs, retries, config.sqsEndpoint);
    } catch (error) {
      stepFailed("delaying retries", error); // best effort: they come back after the visibility timeout
    }
  }
  return { batchItemFailures: failures };
}

function fateOf(
  record: SQSRecord,
  receiveCount: number,
  parsed: ParsedRecord,
  outcomes: ReadonlyMap<string, Outcome>,
  deps: BatchDeps,
): Fate {
  // A record that could not be read yet (a mask file's fetch failed for now) is retried like a failed delivery.
  if (!parsed.ok && parsed.failure.kind === "permanent")
    return { kind: "dead-letter", failure: parsed.failure };
  const missing = retryable("not-attempted", "no outcome for this annotation");
  return decideFate(
    parsed.ok ? recordKeys(record, parsed).map((key) => outcomes.get(key) ?? missing) : [parsed.failure],
    {
      receiveCount,
      backoff: deps.config.backoff,
      ...(deps.config.maxReceiveCount !== undefined ? { maxReceiveCount: deps.config.maxReceiveCount } : {}),
      ...(deps.random ? { random: deps.random } : {}),
    },
  );
}

/** Annotations a record made: its creates and the members of its replacements. */
const annotationCount = (parsed: Extract<ParsedRecord, { ok: true }>) =>
  parsed.deliveries.length +
  parsed.changes.reduce(
    (n, c) => n + (c.kind === "replace" ? (c.members?.count ?? c.annotations.length) : 0),
    0,
  );

/** The annotation states Clarifai named for a record's annotations (none when it named only success). */
function statesOf(record: SQSRecord, parsed: ParsedRecord, outcomes: ReadonlyMap<string, Outcome>): string[] {
  if (!parsed.ok) return [];
  const found = new Set<string>();
  for (const key of recordKeys(record, parsed)) {
    const outcome = outcomes.get(key);
    if (outcome?.kind === "delivered" && outcome.state) found.add(outcome.state);
  }
  return [...found];
}

/** The outcome keys of a record's annotations and changes. */
function recordKeys(record: SQSRecord, parsed: Extract<ParsedRecord, { ok: true }>): string[] {
  return [
    ...parsed.deliveries.map((_, i) => `${record.messageId}#${i}`),
    ...parsed.changes.map((_, i) => `${record.messageId}#c${i}`),
  ];
}

/** Event id, task id and input id for log lines about a record (the first annotation's, when there are several). */
function describe(parsed: ParsedRecord): Record<string, string | undefined> {
  if (!parsed.ok) return {};
  const first = parsed.deliveries[0] ?? parsed.changes[0];
  const fields = {
    eventId: first?.eventId,
    taskId: first?.taskId,
    inputId: first?.inputId,
    format: parsed.format,
  };
  return parsed.changes.length > 0
    ? { ...fields, changes: parsed.changes.map((c) => c.kind).join(",") }
    : fields;
}

const firstInput = (parsed: ParsedRecord) =>
  parsed.ok ? (parsed.deliveries[0]?.inputId ?? parsed.changes[0]?.inputId) : undefined;

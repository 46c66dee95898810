import type { Logger } from "@aws-lambda-powertools/logger";
import { type Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { SQSBatchItemFailure, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import type { ClarifaiClient } from "../clarifai/client.js";
import type { Config } from "../config.js";
import { type Outcome, retryable } from "../failure.js";
import { applyChanges, type ChangeItem } from "./apply-changes.js";
import { decideFate, type Fate } from "./decide.js";
import { type DeliverOptions, type DeliveryItem, deliverAll } from "./deliver.js";
import { type ParsedRecord, parseRecord } from "./parse-record.js";
import type { RateLimiter } from "./rate-limiter.js";
import { type DeadLetter, delayRetries, sendToDeadLetterQueue } from "./sqs-actions.js";

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
}

const REQUEST_METRIC = {
  post: "ClarifaiPostRequests",
  patch: "ClarifaiPatchRequests",
  delete: "ClarifaiDeleteRequests",
  get: "ClarifaiGetRequests",
} as const;

/** Time kept back from Clarifai calls for the dead-letter sends and visibility changes that follow them. */
const RESERVE_MS = 2_000;

/**
 * The path of one SQS batch: parse every record, deliver all annotations together, decide each record's fate,
 * dead-letter or delay what failed, and report the failed ones to SQS.
 */
export async function processBatch(event: SQSEvent, deps: BatchDeps): Promise<SQSBatchResponse> {
  const { config, logger, metrics } = deps;
  const records = event.Records.map((record) => {
    const attributes = stringAttributes(record);
    const sent = Number(record.attributes.SentTimestamp);
    return {
      record,
      receiveCount: Number(record.attributes.ApproximateReceiveCount ?? "1") || 1,
      parsed: parseRecord(record.body, {
        taskLink: config.taskLink,
        defaultApp: config.defaultApp,
        upstream: config.upstream,
        attributes,
        receivedAt: Number.isFinite(sent) && sent > 0 ? new Date(sent) : new Date(),
      }),
    };
  });

  const items: DeliveryItem[] = records.flatMap(({ record, receiveCount, parsed }) =>
    parsed.ok
      ? parsed.deliveries.map((delivery, i) => ({
          key: `${record.messageId}#${i}`,
          delivery,
          redelivered: receiveCount > 1,
          finalAttempt: config.maxReceiveCount !== undefined && receiveCount >= config.maxReceiveCount,
        }))
      : [],
  );
  const changes: ChangeItem[] = records.flatMap(({ record, parsed }) =>
    parsed.ok ? parsed.changes.map((change, i) => ({ key: `${record.messageId}#c${i}`, change })) : [],
  );
  const deliverOptions: DeliverOptions = {
    maxAnnotationsPerRequest: config.maxAnnotationsPerRequest,
    maxConcurrentRequests: config.maxConcurrentRequests,
    requestTimeoutMs: () => Math.min(config.requestTimeoutMs, deps.remainingMs() - RESERVE_MS),
    ...(deps.limiter ? { acquire: deps.limiter.acquire, throttled: deps.limiter.backOff } : {}),
    onRequest: ({ kind, ms, result }) => {
      metrics.addMetric(REQUEST_METRIC[kind], MetricUnit.Count, 1);
      metrics.addMetric("ClarifaiLatency", MetricUnit.Milliseconds, ms);
      if (result.kind === "response" && result.httpStatus === 429)
        metrics.addMetric("ClarifaiThrottled", MetricUnit.Count, 1);
    },
  };
  const outcomes = await deliverAll(items, deps.clarifai, deliverOptions);
  // Updates and deletes go after the creates: a batch holding an annotation's create and its update applies both.
  if (changes.length > 0) {
    for (const [key, outcome] of await applyChanges(changes, deps.clarifai, deliverOptions))
      outcomes.set(key, outcome);
  }

  const fates = records.map(({ record, receiveCount, parsed }) => ({
    record,
    parsed,
    fate: fateOf(record, receiveCount, parsed, outcomes, deps),
  }));

  const letters: DeadLetter[] = fates.flatMap(({ record, parsed, fate }) =>
    fate.kind === "dead-letter"
      ? [{ record, failure: fate.failure, groupId: record.attributes.MessageGroupId ?? firstInput(parsed) }]
      : [],
  );
  const unsent =
    letters.length > 0
      ? await sendToDeadLetterQueue(deps.sqs, config.deadLetterQueueUrl, letters)
      : new Set<string>();

  const failures: SQSBatchItemFailure[] = [];
  const retries: { record: SQSRecord; seconds: number }[] = [];
  for (const { record, parsed, fate } of fates) {
    const fields = { messageId: record.messageId, ...describe(parsed) };
    if (fate.kind === "delivered") {
      logger.info("record delivered", { ...fields, annotations: parsed.ok ? parsed.deliveries.length : 0 });
      metrics.addMetric("RecordsDelivered", MetricUnit.Count, 1);
      metrics.addMetric("AnnotationsDelivered", MetricUnit.Count, parsed.ok ? parsed.deliveries.length : 0);
    } else if (fate.kind === "dead-letter" && !unsent.has(record.messageId)) {
      logger.warn("record dead-lettered", {
        ...fields,
        errorCode: fate.failure.code,
        reason: fate.failure.reason,
      });
      const metric = metrics.singleMetric();
      metric.addDimension("reason", fate.failure.code);
      metric.addMetric("RecordsDeadLettered", MetricUnit.Count, 1);
    } else {
      // A retry, or a dead-letter that could not be sent: either way SQS must deliver it again.
      const failure =
        fate.kind === "retry"
          ? fate.failure
          : { ...fate.failure, reason: `could not dead-letter: ${fate.failure.reason}` };
      logger.warn("record will be retried", { ...fields, errorCode: failure.code, reason: failure.reason });
      metrics.addMetric("RecordsRetried", MetricUnit.Count, 1);
      failures.push({ itemIdentifier: record.messageId });
      if (fate.kind === "retry") retries.push({ record, seconds: fate.visibilityTimeoutSeconds });
    }
  }
  if (retries.length > 0) await delayRetries(deps.sqs, retries, config.sqsEndpoint);
  return { batchItemFailures: failures };
}

function fateOf(
  record: SQSRecord,
  receiveCount: number,
  parsed: ParsedRecord,
  outcomes: ReadonlyMap<string, Outcome>,
  deps: BatchDeps,
): Fate {
  if (!parsed.ok) return { kind: "dead-letter", failure: parsed.failure };
  const missing = retryable("not-attempted", "no outcome for this annotation");
  const keys = [
    ...parsed.deliveries.map((_, i) => `${record.messageId}#${i}`),
    ...parsed.changes.map((_, i) => `${record.messageId}#c${i}`),
  ];
  return decideFate(
    keys.map((key) => outcomes.get(key) ?? missing),
    {
      receiveCount,
      backoff: deps.config.backoff,
      ...(deps.config.maxReceiveCount !== undefined ? { maxReceiveCount: deps.config.maxReceiveCount } : {}),
      ...(deps.random ? { random: deps.random } : {}),
    },
  );
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

/** The record's string message attributes, by name. */
function stringAttributes(record: SQSRecord): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(record.messageAttributes ?? {}))
    if (typeof value?.stringValue === "string") out[name] = value.stringValue;
  return out;
}

const firstInput = (parsed: ParsedRecord) =>
  parsed.ok ? (parsed.deliveries[0]?.inputId ?? parsed.changes[0]?.inputId) : undefined;

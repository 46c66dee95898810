import { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import middy from "@middy/core";
import type { Context, ScheduledEvent, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { lazySqsClient } from "./delivery/sqs-actions.js";
import { CvatJobError } from "./pull/cvat-job.js";
import { createJsonGetter, queueSender, s3StateStore } from "./pull/edges.js";
import { parsePullerConfig, parsePullerTokens } from "./pull/puller-config.js";
import { type PullDeps, pullCvatJob, reconcileLabelStudio } from "./pull/run-pull.js";
import { readSecretText } from "./secret.js";

/**
 * The puller (optional, `puller` in the construct): reads what webhooks lose or never carry from the tools' APIs
 * and puts it on the bridge's queue in the formats the ingress queues.
 * - On its schedule (an EventBridge rule): Label Studio reconciliation of the configured projects.
 * - From its pull queue (SQS, filled by the ingress's `/cvat` route when a job is completed): one CVAT job per
 *   message, its frames queued one body each. A failed pull is retried from the queue, then dead-lettered.
 *
 * Settings: `PULLER_CONFIG` (JSON, see pull/puller-config.ts), `PULLER_SECRET_ARN` (the tools' tokens; locally
 * `PULLER_TOKENS`), `PULLER_STATE_BUCKET`, `QUEUE_URL`; `AWS_ENDPOINT_URL_SQS`/`AWS_ENDPOINT_URL_S3` for local servers.
 */
const config = parsePullerConfig(process.env.PULLER_CONFIG);
const queueUrl = process.env.QUEUE_URL;
if (!queueUrl) throw new Error("invalid configuration: QUEUE_URL is required");
const bucket = process.env.PULLER_STATE_BUCKET ?? "";
if (config.labelStudio && !bucket)
  throw new Error("invalid configuration: PULLER_STATE_BUCKET is required for Label Studio reconciliation");

const serviceName = "clarifai-annotation-bridge-puller";
const logger = new Logger({ serviceName });
const metrics = new Metrics({ namespace: "ClarifaiAnnotationBridge", serviceName });
const getJson = createJsonGetter(config.requestsPerSecond, config.requestTimeoutMs);
const state = s3StateStore(bucket, process.env.AWS_ENDPOINT_URL_S3);
const enqueue = queueSender(lazySqsClient(process.env.AWS_ENDPOINT_URL_SQS), queueUrl);

async function tokens(): Promise<{ labelStudio?: string; cvat?: string }> {
  const arn = process.env.PULLER_SECRET_ARN;
  if (arn) return parsePullerTokens(await readSecretText(arn, 300, "PULLER_SECRET_ARN"));
  if (process.env.PULLER_TOKENS) return parsePullerTokens(process.env.PULLER_TOKENS);
  throw new Error("invalid configuration: set PULLER_SECRET_ARN (or, locally, PULLER_TOKENS)");
}

async function deps(context: Context): Promise<PullDeps> {
  return {
    config,
    tokens: await tokens(),
    getJson,
    state,
    enqueue,
    count: (metric, n) => {
      if (n > 0) metrics.addMetric(metric, MetricUnit.Count, n);
    },
    log: (level, message, extra) => logger[level](message, extra ?? {}),
    now: () => new Date(),
    remainingMs: () => context.getRemainingTimeInMillis(),
  };
}

async function pull(
  event: ScheduledEvent | SQSEvent,
  context: Context,
): Promise<SQSBatchResponse | { enqueued: number }> {
  const d = await deps(context);
  if ("Records" in event) {
    const batchItemFailures: { itemIdentifier: string }[] = [];
    for (const record of event.Records) {
      try {
        const request = JSON.parse(record.body) as { cvat?: unknown; jobId?: unknown };
        if (request.cvat !== "pull-job" || typeof request.jobId !== "number")
          throw new CvatJobError("not a CVAT pull request");
        await pullCvatJob(request.jobId, d);
      } catch (error) {
        d.count("PullFailed", 1);
        logger.error("CVAT pull failed; it is retried from the pull queue, then dead-lettered", {
          messageId: record.messageId,
          error: error instanceof Error ? error.message.slice(0, 500) : String(error),
        });
        batchItemFailures.push({ itemIdentifier: record.messageId });
      }
    }
    return { batchItemFailures };
  }
  return reconcileLabelStudio(d);
}

/** The Lambda entry point: a scheduled run (Label Studio) or a batch from the pull queue (CVAT jobs). */
export const handler = middy<
  ScheduledEvent | SQSEvent,
  SQSBatchResponse | { enqueued: number },
  Error,
  Context
>()
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics))
  .handler(pull);

import { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import middy from "@middy/core";
import type { Context, ScheduledEvent, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { type AuditMetric, auditProjects, type ScheduledAuditResult } from "./audit/scheduled.js";
import { createClarifaiClient } from "./clarifai/client.js";
import type { TaskLinkMode } from "./clarifai/to-annotation.js";
import { parseMapping } from "./config.js";
import { createRateLimiter } from "./delivery/rate-limiter.js";
import { lazySqsClient } from "./delivery/sqs-client.js";
import { CvatJobError } from "./pull/cvat-job.js";
import { createJsonGetter, queueSender, s3StateStore } from "./pull/edges.js";
import { parsePullerConfig, parsePullerTokens } from "./pull/puller-config.js";
import { type PullDeps, pullCvatJob, reconcileLabelStudio } from "./pull/run-pull.js";
import { readSecretText } from "./secret.js";
import { clarifaiKeyFromSecret } from "./secret-text.js";

/**
 * The puller (optional, `puller` in the construct): reads what webhooks lose or never carry from the tools' APIs
 * and puts it on the bridge's queue in the formats the ingress queues.
 * - On its schedule (an EventBridge rule): Label Studio reconciliation of the configured projects.
 * - From its pull queue (SQS, filled by the ingress's `/cvat` route when a job is completed): one CVAT job per
 *   message, its frames queued one body each. A failed pull is retried from the queue, then dead-lettered.
 * - On its audit schedule (`{"audit": true}`, when `audit` is configured): each Label Studio project against its
 *   Clarifai task (audit/scheduled.ts), counted as AuditMissing, AuditStale and AuditExtra per task.
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

/** The Clarifai side of the audit: the bridge's own settings, read only when an audit runs. */
async function runAudit(context: Context): Promise<ScheduledAuditResult> {
  const audit = config.audit;
  const ls = config.labelStudio;
  if (!audit || !ls) throw new Error("invalid configuration: PULLER_CONFIG has no audit");
  const arn = process.env.CLARIFAI_PAT_SECRET_ARN;
  const key = arn
    ? clarifaiKeyFromSecret(await readSecretText(arn, 300, "CLARIFAI_PAT_SECRET_ARN"))
    : process.env.CLARIFAI_PAT?.trim();
  if (!key)
    throw new Error(
      "invalid configuration: the audit needs CLARIFAI_PAT_SECRET_ARN (or, locally, CLARIFAI_PAT)",
    );
  // The handler's own reader: the same mapping, the same errors naming the field and the rule.
  const mapping = await parseMapping(process.env.BRIDGE_MAPPING);
  const token = (await tokens()).labelStudio;
  if (!token) throw new Error('the puller secret has no "labelStudio" token');
  const userId = process.env.CLARIFAI_USER_ID;
  const appId = process.env.CLARIFAI_APP_ID;
  const client = createClarifaiClient(process.env.CLARIFAI_API_BASE ?? "https://api.clarifai.com", key);
  try {
    const result = await auditProjects({
      projects: ls.projects,
      labelStudioUrl: ls.url,
      token,
      getJson,
      mapping,
      taskLink: (process.env.CLARIFAI_TASK_LINK ?? "both") as TaskLinkMode,
      client,
      app: userId && appId ? { userId, appId } : null,
      limiter: createRateLimiter(audit.clarifaiRequestsPerSecond),
      maxPages: audit.maxPages,
      put: (metric: AuditMetric, taskId: string, n: number) => {
        // Per task for the dashboard, and the sum on the service dimension for the alarm.
        const single = metrics.singleMetric();
        single.addDimension("task", taskId);
        single.addMetric(metric, MetricUnit.Count, n);
        metrics.addMetric(metric, MetricUnit.Count, n);
      },
      log: (level, message, extra) => logger[level](message, extra ?? {}),
      remainingMs: () => context.getRemainingTimeInMillis(),
    });
    if (result.failed.length) metrics.addMetric("PullFailed", MetricUnit.Count, result.failed.length);
    return result;
  } finally {
    client.close();
  }
}

async function pull(
  event: ScheduledEvent | SQSEvent | { audit: true },
  context: Context,
): Promise<SQSBatchResponse | { enqueued: number } | ScheduledAuditResult> {
  if ("audit" in event && event.audit === true) return runAudit(context);
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

/** The Lambda entry point: a scheduled run (Label Studio), an audit run, or a batch from the pull queue (CVAT jobs). */
export const handler = middy<
  ScheduledEvent | SQSEvent | { audit: true },
  SQSBatchResponse | { enqueued: number } | ScheduledAuditResult,
  Error,
  Context
>()
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics))
  .handler(pull);

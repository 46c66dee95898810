import { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import middy from "@middy/core";
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { type ClosableClarifaiClient, createClarifaiClient } from "./clarifai/client.js";
import { loadConfig } from "./config.js";
import { failBatchOnError } from "./delivery/fail-batch-on-error.js";
import { maskSources } from "./delivery/mask-sources.js";
import { processBatch } from "./delivery/process-batch.js";
import { createRateLimiter } from "./delivery/rate-limiter.js";
import { lazySqsClient } from "./delivery/sqs-client.js";
import { createTaskDirectory } from "./delivery/tasks.js";
import { type Scrub, safeError, scrubberFor } from "./redact.js";
import { keyReader } from "./secret.js";
import { clarifaiKeyFromSecret } from "./secret-text.js";

// Cold start: configuration is read and validated once; a bad setting fails here, naming the variable.
const config = await loadConfig(process.env);
const serviceName = "clarifai-annotation-bridge";
const logger = new Logger({ serviceName });
const metrics = new Metrics({ namespace: "ClarifaiAnnotationBridge", serviceName });
// Created on first use: only dead letters and retries need SQS. With AWS_ENDPOINT_URL_SQS (a local server) the
// client sends there, not to the host in the queue URL.
const sqs = lazySqsClient(config.sqsEndpoint);

// One limiter per instance, shared by its invocations: the pace holds across warm invocations too.
const limiter = createRateLimiter(config.requestsPerSecond);
// Task reads, kept per instance: one GetTask per task per CLARIFAI_TASK_CACHE_SECONDS.
const tasks = createTaskDirectory({ ttlMs: config.taskCacheSeconds * 1000 });
// Mask files records point at (Labelbox, Scale, Ground Truth): the Labelbox key and S3, read on first use.
const masks = maskSources(config);

/** The scrubber of the key in use: replaced when a refreshed secret brings another key (`useKey`). */
let scrub: Scrub = scrubberFor([config.key.source === "env" ? config.key.value : undefined]);

let secretText: string | undefined;

/** The key in use: from the environment, or from the secret (re-read every CLARIFAI_SECRET_CACHE_SECONDS). */
const clarifaiKey = keyReader(
  config.key,
  config.secretCacheSeconds,
  "CLARIFAI_PAT_SECRET_ARN",
  clarifaiKeyFromSecret,
);
async function currentKey(): Promise<string> {
  const { key, text } = await clarifaiKey();
  if (config.key.source === "secret") secretText = text;
  return key;
}

/**
 * What depends on the key in use, made again only when the key changes: the scrubber and the Clarifai client, one
 * for the life of the instance (and so one keep-alive connection pool). A client per invocation opened a new
 * connection (a TLS handshake against the real API) for every batch and left the last one idle until the server
 * closed it: hundreds of open sockets on a busy instance.
 */
let inUse: { key: string; client: ClosableClarifaiClient } | undefined;
function useKey(key: string): ClosableClarifaiClient {
  if (inUse?.key !== key) {
    inUse?.client.close();
    inUse = { key, client: createClarifaiClient(config.apiBase, key) };
    scrub = scrubberFor([key, secretText]);
  }
  return inUse.client;
}

async function bridge(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  // A bad key fails the batch as a whole (every record retried, BatchFailedAsWhole alarmed), never a dead letter.
  const clarifai = useKey(await currentKey());
  return processBatch(event, {
    config,
    clarifai,
    sqs,
    logger,
    metrics,
    remainingMs: () => context.getRemainingTimeInMillis(),
    limiter,
    scrub,
    tasks,
    masks,
  });
}

const base = middy<SQSEvent, SQSBatchResponse, Error, Context>()
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));

/** The Lambda entry point: an SQS batch in, `batchItemFailures` out (ReportBatchItemFailures). */
export const handler = base
  .use(
    failBatchOnError({
      logError: (error) => {
        logger.error("batch failed as a whole; every record will be retried", {
          error: safeError(error, scrub),
        });
        // Published at once: the invocation still returns normally, so no Lambda error metric would show it.
        const metric = metrics.singleMetric();
        metric.addMetric("BatchFailedAsWhole", MetricUnit.Count, 1);
      },
    }),
  )
  .handler(bridge);

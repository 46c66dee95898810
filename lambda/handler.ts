import { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import middy from "@middy/core";
import secretsManager from "@middy/secrets-manager";
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { createClarifaiClient } from "./clarifai/client.js";
import { loadConfig } from "./config.js";
import { failBatchOnError } from "./delivery/fail-batch-on-error.js";
import { processBatch } from "./delivery/process-batch.js";
import { createRateLimiter } from "./delivery/rate-limiter.js";
import { lazySqsClient } from "./delivery/sqs-actions.js";
import { keyProblem, type Scrub, safeError, scrubberFor } from "./redact.js";

// Cold start: configuration is read and validated once; a bad setting fails here, naming the variable.
const config = loadConfig(process.env);
const serviceName = "clarifai-annotation-bridge";
const logger = new Logger({ serviceName });
const metrics = new Metrics({ namespace: "ClarifaiAnnotationBridge", serviceName });
// Created on first use: only dead letters and retries need SQS. With AWS_ENDPOINT_URL_SQS (a local server) the
// client sends there, not to the host in the queue URL.
const sqs = lazySqsClient(config.sqsEndpoint);

// One limiter per instance, shared by its invocations: the pace holds across warm invocations too.
const limiter = createRateLimiter(config.requestsPerSecond);

type BridgeContext = Context & { clarifaiKey?: unknown };

/** The scrubber of the key in use: replaced when a refreshed secret brings another key. */
let scrub: Scrub = scrubberFor([config.key.source === "env" ? config.key.value : undefined]);
let scrubbedKey: string | undefined;

async function bridge(event: SQSEvent, context: BridgeContext): Promise<SQSBatchResponse> {
  // A bad key fails the batch as a whole (every record retried, BatchFailedAsWhole alarmed), never a dead letter.
  const key = config.key.source === "env" ? config.key.value : secretKey(context.clarifaiKey);
  if (key !== scrubbedKey) {
    scrub = scrubberFor([key, context.clarifaiKey as string | undefined]);
    scrubbedKey = key;
  }
  return processBatch(event, {
    config,
    clarifai: createClarifaiClient(config.apiBase, key),
    sqs,
    logger,
    metrics,
    remainingMs: () => context.getRemainingTimeInMillis(),
    limiter,
    scrub,
  });
}

const base = middy<SQSEvent, SQSBatchResponse, Error, BridgeContext>()
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));

const withKey =
  config.key.source === "secret"
    ? base.use(
        secretsManager({
          fetchData: { clarifaiKey: config.key.secretId },
          setToContext: true,
          // Re-read now and then, so a rotated or fixed key takes effect without a cold start.
          cacheExpiry: config.secretCacheSeconds * 1000,
          cacheKey: "clarifai-key",
        }),
      )
    : base;

/** The Lambda entry point: an SQS batch in, `batchItemFailures` out (ReportBatchItemFailures). */
export const handler = withKey
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

/**
 * The key from the secret, as @middy/secrets-manager hands it over: text (surrounding white space trimmed), or a
 * JSON object holding it under `CLARIFAI_PAT`, `pat` or `key` (the middleware parses JSON secrets itself).
 * Anything else is an error that names the setting and quotes nothing of the value.
 */
function secretKey(value: unknown): string {
  const where = "the secret named by CLARIFAI_PAT_SECRET_ARN";
  let key: unknown = value;
  if (value !== null && typeof value === "object") {
    const fields = value as Record<string, unknown>;
    key = fields.CLARIFAI_PAT ?? fields.pat ?? fields.key;
    if (typeof key !== "string")
      throw new Error(
        `${where} holds JSON without a CLARIFAI_PAT, pat or key text field; store the key as plain text`,
      );
  }
  if (typeof key !== "string") throw new Error(`${where} is empty or not text`);
  const trimmed = key.trim();
  const problem = keyProblem(trimmed);
  if (problem) throw new Error(`${where}: the Clarifai key ${problem}`);
  return trimmed;
}

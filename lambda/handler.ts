import { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { Metrics } from "@aws-lambda-powertools/metrics";
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

type BridgeContext = Context & { clarifaiKey?: string };

async function bridge(event: SQSEvent, context: BridgeContext): Promise<SQSBatchResponse> {
  const key = config.key.source === "env" ? config.key.value : context.clarifaiKey;
  if (!key) throw new Error("the Clarifai key secret is empty");
  return processBatch(event, {
    config,
    clarifai: createClarifaiClient(config.apiBase, key),
    sqs,
    logger,
    metrics,
    remainingMs: () => context.getRemainingTimeInMillis(),
    limiter,
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
      logError: (error) =>
        logger.error("batch failed as a whole; every record will be retried", { error: safeError(error) }),
    }),
  )
  .handler(bridge);

/** Name and message only: an SDK error can carry request details that must not reach the logs. */
function safeError(error: unknown): { name: string; message: string } {
  const err = error as { name?: unknown; message?: unknown };
  return { name: String(err?.name ?? "Error"), message: String(err?.message ?? error) };
}

import { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import middy from "@middy/core";
import type { Context, LambdaFunctionURLEvent, LambdaFunctionURLResult } from "aws-lambda";
import * as z from "zod/mini";
import "./events/event-schema.js"; // loads zod's English messages
import { ConfigError } from "./config-error.js";
import { MAX_QUEUED_BODY_BYTES } from "./delivery/sqs-safe.js";
import { publishMetric } from "./publish-metric.js";
import { safeError } from "./redact.js";
import { readSecretText } from "./secret.js";
import { SecretError } from "./secret-text.js";
import { decideWebhook, parseWebhookSecrets, type WebhookSecrets } from "./webhook/webhook.js";

/**
 * The webhook ingress (a Lambda function URL): checks the sender, then puts the raw payload on the bridge's queue
 * with a `format` attribute and answers 202. It never calls Clarifai, so it answers within Label Studio's 1-second
 * webhook timeout. Decisions live in webhook.ts; this file is the wiring.
 */
const envSchema = z.object({
  /** The bridge's queue, where every accepted payload goes with its `format` attribute. */
  QUEUE_URL: z.url(),
  /** The puller's queue (the construct's `puller` on): CVAT webhooks of completed jobs go there. */
  PULL_QUEUE_URL: z.optional(z.url()),
  /** Deployed: the Secrets Manager secret with the webhook secrets. */
  WEBHOOK_SECRET_ARN: z.optional(z.string().check(z.minLength(1))),
  /** Local runs only: the secrets themselves, in the secret's own format (read by the same parser). */
  WEBHOOK_SECRETS: z.optional(z.string().check(z.minLength(1))),
  /** The header Label Studio's webhook carries the secret in (`Token <secret>`). */
  LABEL_STUDIO_HEADER: z._default(z.string().check(z.regex(/^[A-Za-z0-9_-]{1,64}$/)), "authorization"),
  /** The largest body accepted (SQS counts attributes against the queue's 1 MiB too: 8 KiB are kept for them). @default 1,040,384 */
  // SQS counts attributes against the queue's 1 MiB maximum too: keep 8 KiB for them.
  MAX_BODY_BYTES: z._default(
    z.coerce.number().check(z.int(), z.gte(1024), z.lte(MAX_QUEUED_BODY_BYTES)),
    MAX_QUEUED_BODY_BYTES,
  ),
  /** The AWS SDK's endpoint override for SQS (local runs). */
  AWS_ENDPOINT_URL_SQS: z.optional(z.string()),
  /** How long the webhook secret is cached before it is read again. */
  WEBHOOK_SECRET_CACHE_SECONDS: z._default(z.coerce.number().check(z.int(), z.gte(0), z.lte(86_400)), 300),
});

const parsed = envSchema.safeParse(process.env);
if (!parsed.success) {
  const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
  throw new ConfigError(`invalid configuration: ${problems}`);
}
const env = parsed.data;
if (!env.WEBHOOK_SECRET_ARN && !env.WEBHOOK_SECRETS)
  throw new ConfigError("invalid configuration: set WEBHOOK_SECRET_ARN (or WEBHOOK_SECRETS for a local run)");

const serviceName = "clarifai-annotation-bridge-ingress";
// Never the event: its headers hold the Label Studio secret and the Labelbox signature, whatever
// POWERTOOLS_LOGGER_LOG_EVENT says (the middleware below is told so too).
const logger = new Logger({ serviceName });
const metrics = new Metrics({ namespace: "ClarifaiAnnotationBridge", serviceName });
/** `WebhookRejected` by reason, published at once (an invocation may end before a flush). */
const rejected = (reason: string) =>
  publishMetric(metrics, "WebhookRejected", MetricUnit.Count, 1, ["reason", reason]);
/** Answered to every failure after authentication: a sender retries on 5xx (Labelbox does), and learns no more. */
const TRY_AGAIN = "the webhook could not be queued; try again";
const sqs = new SQSClient(
  env.AWS_ENDPOINT_URL_SQS ? { endpoint: env.AWS_ENDPOINT_URL_SQS, useQueueUrlAsEndpoint: false } : {},
);

let secretText: string | undefined;
let secrets: WebhookSecrets = {};
/**
 * The secrets in use: WEBHOOK_SECRETS as given, or the secret named by WEBHOOK_SECRET_ARN (re-read every
 * WEBHOOK_SECRET_CACHE_SECONDS), through one parser either way.
 */
async function currentSecrets(): Promise<WebhookSecrets> {
  const [text, setting] =
    env.WEBHOOK_SECRETS !== undefined
      ? [env.WEBHOOK_SECRETS, "WEBHOOK_SECRETS"]
      : [
          await readSecretText(
            env.WEBHOOK_SECRET_ARN as string,
            env.WEBHOOK_SECRET_CACHE_SECONDS,
            "WEBHOOK_SECRET_ARN",
          ),
          "the secret named by WEBHOOK_SECRET_ARN",
        ];
  if (text !== secretText) {
    secrets = parseWebhookSecrets(text, setting);
    secretText = text;
  }
  return secrets;
}

// Cold start: a secret that cannot be read or used fails here, naming the setting and quoting none of it.
try {
  await currentSecrets();
} catch (error) {
  throw new ConfigError(
    `invalid configuration: ${error instanceof SecretError ? error.message : safeError(error).message}`,
  );
}

async function ingress(event: LambdaFunctionURLEvent, _context: Context): Promise<LambdaFunctionURLResult> {
  let secrets: WebhookSecrets;
  try {
    secrets = await currentSecrets();
  } catch (error) {
    // A refreshed secret that cannot be read or used (a rotation gone wrong): nobody can be authenticated, and the
    // sender should try again later. The last good secret is not kept: it may be the one being rotated away.
    logger.error("webhook secret unusable", { error: safeError(error) });
    rejected("secret-unusable");
    return answer(503, { error: TRY_AGAIN });
  }
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) headers[name.toLowerCase()] = value;
  const decision = decideWebhook(
    {
      method: event.requestContext.http.method,
      path: event.rawPath,
      headers,
      body: Buffer.from(event.body ?? "", event.isBase64Encoded ? "base64" : "utf8"),
    },
    secrets,
    {
      labelStudioHeader: env.LABEL_STUDIO_HEADER,
      maxBodyBytes: env.MAX_BODY_BYTES,
      pullerEnabled: env.PULL_QUEUE_URL !== undefined,
    },
  );
  if (decision.kind === "reject") {
    logger.warn("webhook refused", {
      path: event.rawPath.slice(0, 256),
      status: decision.status,
      reason: decision.reason,
    });
    rejected(decision.code);
    return answer(decision.status, { error: decision.message });
  }
  if (decision.kind === "ignore") {
    logger.info("webhook acknowledged; nothing to queue", {
      system: decision.system,
      reason: decision.reason,
    });
    return answer(200, { ignored: decision.reason });
  }
  const queueUrl = decision.queue === "pull" ? (env.PULL_QUEUE_URL as string) : env.QUEUE_URL;
  let sent: { MessageId?: string | undefined };
  try {
    sent = await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: decision.body,
        MessageAttributes: Object.fromEntries(
          Object.entries(decision.attributes).map(([k, v]) => [k, { DataType: "String", StringValue: v }]),
        ),
        ...(queueUrl.endsWith(".fifo") ? { MessageGroupId: decision.groupId } : {}),
      }),
    );
  } catch (error) {
    // An SQS outage, or a body SQS refuses (a raw U+FFFF): nothing was queued, so the sender must try again.
    logger.error("webhook could not be queued", { system: decision.system, error: safeError(error) });
    rejected("queue-failure");
    return answer(503, { error: TRY_AGAIN });
  }
  logger.info("webhook queued", {
    system: decision.system,
    messageId: sent.MessageId,
    bytes: Buffer.byteLength(decision.body),
    ...(decision.trimmed ? { trimmed: "project" } : {}),
  });
  return answer(202, { queued: sent.MessageId, ...(decision.trimmed ? { trimmed: "project" } : {}) });
}

const answer = (statusCode: number, body: unknown): LambdaFunctionURLResult => ({
  statusCode,
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

/** The Lambda entry point for the function URL. */
export const handler = middy<LambdaFunctionURLEvent, LambdaFunctionURLResult, Error, Context>()
  .use(injectLambdaContext(logger, { logEvent: false }))
  .handler(ingress);

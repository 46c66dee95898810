import type { SQSClient, SQSClientConfig } from "@aws-sdk/client-sqs";

/**
 * The AWS SDK's SQS client is loaded on first use, not at cold start: a batch where every record is delivered
 * never needs it, and loading it costs tens of milliseconds of init time.
 */
let sdk: Promise<typeof import("@aws-sdk/client-sqs")> | undefined;
export const loadSdk = () => {
  sdk ??= import("@aws-sdk/client-sqs");
  return sdk;
};

/** A lazily created SQS client; with `endpoint` (a local SQS-compatible server) requests go there, not to the queue URL's host. */
export function lazySqsClient(endpoint?: string): () => Promise<SQSClient> {
  let client: Promise<SQSClient> | undefined;
  const config: SQSClientConfig = endpoint ? { endpoint, useQueueUrlAsEndpoint: false } : {};
  return () => {
    client ??= loadSdk().then(({ SQSClient }) => new SQSClient(config));
    return client;
  };
}

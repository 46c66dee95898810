import type {
  MessageAttributeValue,
  SendMessageBatchRequestEntry,
  SQSClient,
  SQSClientConfig,
} from "@aws-sdk/client-sqs";
import type { SQSRecord } from "aws-lambda";
import type { Failure } from "../failure.js";

/**
 * The AWS SDK's SQS client is loaded on first use, not at cold start: a batch where every record is delivered
 * never needs it, and loading it costs tens of milliseconds of init time.
 */
let sdk: Promise<typeof import("@aws-sdk/client-sqs")> | undefined;
const loadSdk = () => {
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

/** SQS allows 10 entries per batch call and 10 message attributes per message. */
const BATCH_ENTRIES = 10;
const MAX_ATTRIBUTES = 10;
/** Keep each SendMessageBatch well under SQS's 1 MiB payload limit (bodies can be up to 1 MiB each). */
const BATCH_BYTES = 900_000;
const MAX_REASON_CHARS = 1_000;

export interface DeadLetter {
  readonly record: SQSRecord;
  readonly failure: Failure;
  /** FIFO message group for a `.fifo` dead-letter queue. */
  readonly groupId?: string;
}

/** The attributes a dead-lettered message carries, so an operator can see why without the logs. */
export function deadLetterAttributes(
  record: SQSRecord,
  failure: Failure,
  now: Date,
): Record<string, MessageAttributeValue> {
  const text = (value: string): MessageAttributeValue => ({ DataType: "String", StringValue: value });
  const ours: Record<string, MessageAttributeValue> = {
    reason: text(failure.reason.slice(0, MAX_REASON_CHARS) || failure.code),
    errorCode: text(failure.code),
    sourceMessageId: text(record.messageId),
    receiveCount: {
      DataType: "Number",
      StringValue: String(record.attributes.ApproximateReceiveCount ?? "1"),
    },
    failedAt: text(now.toISOString()),
  };
  // Keep the producer's own attributes (a `format` hint, say) so a redrive sends the message as it came.
  for (const [name, value] of Object.entries(record.messageAttributes ?? {})) {
    if (Object.keys(ours).length >= MAX_ATTRIBUTES) break;
    if (name in ours || value.stringValue === undefined) continue;
    ours[name] = { DataType: value.dataType, StringValue: value.stringValue };
  }
  return ours;
}

/**
 * Sends each record's original body, unchanged, to the dead-letter queue with the reason in its attributes.
 * Returns the message ids that could NOT be dead-lettered; the caller must report those as failed, never drop them.
 */
export async function sendToDeadLetterQueue(
  getSqs: () => Promise<SQSClient>,
  queueUrl: string,
  letters: readonly DeadLetter[],
  now: Date = new Date(),
): Promise<Set<string>> {
  const unsent = new Set<string>();
  const fifo = queueUrl.endsWith(".fifo");
  const { SendMessageBatchCommand } = await loadSdk();
  const sqs = await getSqs();
  for (const batch of sizedBatches(letters)) {
    const entries: SendMessageBatchRequestEntry[] = batch.map(({ record, failure, groupId }, index) => ({
      Id: String(index),
      MessageBody: record.body,
      MessageAttributes: deadLetterAttributes(record, failure, now),
      ...(fifo ? { MessageGroupId: groupId ?? "default", MessageDeduplicationId: record.messageId } : {}),
    }));
    try {
      const answer = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
      for (const failed of answer.Failed ?? []) {
        const letter = batch[Number(failed.Id)];
        if (letter) unsent.add(letter.record.messageId);
      }
    } catch {
      for (const { record } of batch) unsent.add(record.messageId);
    }
  }
  return unsent;
}

function* sizedBatches(letters: readonly DeadLetter[]): Generator<DeadLetter[]> {
  let batch: DeadLetter[] = [];
  let bytes = 0;
  for (const letter of letters) {
    const size = Buffer.byteLength(letter.record.body, "utf8") + 4_096; // body plus room for attributes
    if (batch.length > 0 && (batch.length === BATCH_ENTRIES || bytes + size > BATCH_BYTES)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(letter);
    bytes += size;
  }
  if (batch.length > 0) yield batch;
}

/** The queue URL of a record's source queue, from its ARN (`arn:aws:sqs:region:account:name`). */
export function queueUrlFromArn(arn: string, endpoint?: string): string {
  const [, partition, , region, account, name] = arn.split(":");
  const host = endpoint ?? `https://sqs.${region}.amazonaws.${partition === "aws-cn" ? "com.cn" : "com"}`;
  return `${host.replace(/\/+$/, "")}/${account}/${name}`;
}

/**
 * Pushes the next attempt of each retried record out by its backoff. Best effort: a record whose visibility could
 * not be changed is still reported as failed and comes back after the queue's own visibility timeout.
 */
export async function delayRetries(
  getSqs: () => Promise<SQSClient>,
  retries: readonly { readonly record: SQSRecord; readonly seconds: number }[],
  endpoint?: string,
): Promise<number> {
  const byQueue = new Map<string, { record: SQSRecord; seconds: number }[]>();
  for (const retry of retries) {
    const url = queueUrlFromArn(retry.record.eventSourceARN, endpoint);
    byQueue.set(url, [...(byQueue.get(url) ?? []), retry]);
  }
  let changed = 0;
  const { ChangeMessageVisibilityBatchCommand } = await loadSdk();
  const sqs = await getSqs();
  for (const [queueUrl, list] of byQueue) {
    for (let i = 0; i < list.length; i += BATCH_ENTRIES) {
      const slice = list.slice(i, i + BATCH_ENTRIES);
      try {
        const answer = await sqs.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: queueUrl,
            Entries: slice.map(({ record, seconds }, index) => ({
              Id: String(index),
              ReceiptHandle: record.receiptHandle,
              VisibilityTimeout: seconds,
            })),
          }),
        );
        changed += answer.Successful?.length ?? 0;
      } catch {
        // Best effort, see above.
      }
    }
  }
  return changed;
}

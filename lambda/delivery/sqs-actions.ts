import type { MessageAttributeValue, SendMessageBatchRequestEntry, SQSClient } from "@aws-sdk/client-sqs";
import type { SQSRecord } from "aws-lambda";
import type { Failure } from "../failure.js";
import { loadSdk } from "./sqs-client.js";
import { attributeBytes, MAX_MESSAGE_BYTES, sqsSafeCode, sqsSafeText, sqsValueProblem } from "./sqs-safe.js";

/** SQS allows 10 entries per batch call and 10 message attributes per message. */
const BATCH_ENTRIES = 10;
export const MAX_ATTRIBUTES = 10;
/** Keep each SendMessageBatch well under SQS's 1 MiB payload limit (bodies can be up to 1 MiB each). */
const BATCH_BYTES = 900_000;
const MAX_REASON_CHARS = 1_000;
/** Bytes of the reason attribute's name and type. */
const REASON_OVERHEAD = "reason".length + "String".length;
/** The reason keeps at least this much room when the producer's attributes are copied. */
const MIN_REASON_BYTES = 256;

export interface DeadLetter {
  readonly record: SQSRecord;
  readonly failure: Failure;
  /** FIFO message group for a `.fifo` dead-letter queue. */
  readonly groupId?: string;
}

/**
 * The attributes a dead-lettered message carries, so an operator can see why without the logs. Every value is
 * made SQS-safe (`sqs-safe.ts`), and the whole fits beside the body in SQS's message size limit: the producer's
 * own attributes are kept while they fit, and the reason is shortened to what is left.
 */
export function deadLetterAttributes(
  record: SQSRecord,
  failure: Failure,
  now: Date,
): Record<string, MessageAttributeValue> {
  const text = (value: string): MessageAttributeValue => ({ DataType: "String", StringValue: value });
  const code = sqsSafeCode(failure.code);
  const ours: Record<string, MessageAttributeValue> = {
    errorCode: text(code),
    sourceMessageId: text(sqsSafeText(record.messageId, 128)),
    receiveCount: {
      DataType: "Number",
      StringValue: String(Number(record.attributes.ApproximateReceiveCount ?? "1") || 1),
    },
    failedAt: text(now.toISOString()),
  };
  const size = (attrs: Record<string, MessageAttributeValue>) =>
    Object.entries(attrs).reduce(
      (n, [name, v]) => n + attributeBytes(name, v.DataType ?? "", v.StringValue ?? ""),
      0,
    );
  let room = MAX_MESSAGE_BYTES - Buffer.byteLength(record.body, "utf8") - size(ours) - REASON_OVERHEAD;
  // Keep the producer's own attributes (a `format` hint, say) so a redrive sends the message as it came.
  for (const [name, value] of Object.entries(record.messageAttributes ?? {})) {
    if (Object.keys(ours).length >= MAX_ATTRIBUTES - 1) break; // one place is the reason's
    if (name in ours || name === "reason" || value.stringValue === undefined) continue;
    const kept: MessageAttributeValue = { DataType: value.dataType, StringValue: value.stringValue };
    const bytes = attributeBytes(name, value.dataType ?? "", value.stringValue);
    // SQS accepted it once, but a copy must fit and be valid too.
    if (bytes > room - MIN_REASON_BYTES || sqsValueProblem(value.stringValue)) continue;
    ours[name] = kept;
    room -= bytes;
  }
  // A reason cut to fit: characters, then bytes (a character may be up to 4 bytes).
  let reason = sqsSafeText(failure.reason || code, MAX_REASON_CHARS);
  while (reason.length > 0 && Buffer.byteLength(reason) > room)
    reason = sqsSafeText(reason, Math.floor(reason.length / 2));
  return { reason: text(reason || code), ...ours };
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
      ...(fifo
        ? {
            MessageGroupId: sqsSafeGroupId(groupId),
            MessageDeduplicationId: sqsSafeGroupId(record.messageId),
          }
        : {}),
    }));
    // What real SQS would refuse is never sent (the local server would take it, hiding the bug): such a record
    // stays failed and is retried, never lost.
    const refused = entries.filter((entry) => entryProblem(entry) !== undefined);
    for (const entry of refused) {
      const letter = batch[Number(entry.Id)];
      if (letter) unsent.add(letter.record.messageId);
    }
    const sendable = entries.filter((entry) => !refused.includes(entry));
    if (sendable.length === 0) continue;
    try {
      const answer = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: sendable }));
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

/** Why real SQS would refuse this entry (an attribute value it does not accept, or body and attributes too large). */
export function entryProblem(entry: SendMessageBatchRequestEntry): string | undefined {
  let bytes = Buffer.byteLength(entry.MessageBody ?? "", "utf8");
  for (const [name, value] of Object.entries(entry.MessageAttributes ?? {})) {
    const problem = sqsValueProblem(value.StringValue ?? "");
    if (problem) return `attribute ${name} ${problem}`;
    bytes += attributeBytes(name, value.DataType ?? "", value.StringValue ?? "");
  }
  return bytes > MAX_MESSAGE_BYTES
    ? `body and attributes are ${bytes} bytes, more than ${MAX_MESSAGE_BYTES}`
    : undefined;
}

/** FIFO group and deduplication ids: 1 to 128 of SQS's allowed characters (alphanumerics and punctuation). */
export function sqsSafeGroupId(id: string | undefined): string {
  return (id ?? "").replace(/[^\x21-\x7e]/g, "_").slice(0, 128) || "default";
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
    const list = byQueue.get(url) ?? [];
    list.push(retry);
    byQueue.set(url, list);
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

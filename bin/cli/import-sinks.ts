import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { SQSRecord } from "aws-lambda";
import type { ClarifaiClient } from "../../lambda/clarifai/client.js";
import type { Config } from "../../lambda/config.js";
import type { MaskFetchDeps } from "../../lambda/delivery/fetch-masks.js";
import { processBatch } from "../../lambda/delivery/process-batch.js";
import type { RateLimiter } from "../../lambda/delivery/rate-limiter.js";
import { createTaskDirectory } from "../../lambda/delivery/tasks.js";
import type { ImportSink } from "./import.js";
import type { ImportItem } from "./import-source.js";

/** Onto the bridge's queue, ten to a SendMessageBatch: the handlers deliver at the stack's rate. */
export function queueSink(
  sqs: SQSClient,
  queueUrl: string,
  attributes: Readonly<Record<string, string>>,
  groupOf: (body: string) => string,
): ImportSink {
  const messageAttributes = Object.fromEntries(
    Object.entries(attributes).map(([k, v]) => [k, { DataType: "String", StringValue: v }]),
  );
  const fifo = queueUrl.endsWith(".fifo");
  return {
    batchSize: 10,
    async send(items) {
      const failed: { item: ImportItem; code: string; reason: string }[] = [];
      try {
        const answer = await sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: items.map((item, j) => ({
              Id: String(j),
              MessageBody: item.body,
              ...(Object.keys(messageAttributes).length > 0 ? { MessageAttributes: messageAttributes } : {}),
              // One group per upstream annotation, as the ingress does; the same body, the same deduplication id.
              ...(fifo
                ? { MessageGroupId: groupOf(item.body), MessageDeduplicationId: `import-${item.n}` }
                : {}),
            })),
          }),
        );
        for (const f of answer.Failed ?? [])
          failed.push({
            item: items[Number(f.Id)] as ImportItem,
            code: `sqs-${f.Code ?? "refused"}`,
            reason: f.Message ?? "SQS refused it",
          });
      } catch (error) {
        // The whole call failed: thrown, so the run stops here and its checkpoint is before this batch.
        throw new Error(`SendMessageBatch failed: ${(error as Error).message}`);
      }
      return failed;
    },
    close: async () => undefined,
  };
}

/**
 * Straight to Clarifai, for a stack not deployed yet: each batch of items goes through the handler's own batch
 * code (processBatch: tasks, statuses, chunking, lookups, the pace), in this process. What the handler would
 * dead-letter is captured (the reason it would attach) instead of sent; what it would retry is tried again here,
 * up to the configured receives, the last of which dead-letters with the reason as the handler does. A long
 * event's continuation is fed back into the next batch.
 */
export function directSink(deps: {
  readonly config: Config;
  readonly clarifai: ClarifaiClient;
  readonly limiter: RateLimiter;
  readonly masks?: MaskFetchDeps;
  /** Milliseconds each batch may take, as a function's timeout would. @default 60000 */
  readonly batchMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** The task holds none of these annotations yet: post them without lookups (import --fresh). */
  readonly fresh?: boolean;
}): ImportSink {
  const attempts = deps.config.maxReceiveCount ?? 5;
  const tasks = createTaskDirectory({ ttlMs: 300_000 });
  const logger = new Logger({ serviceName: "clarifai-bridge-import", logLevel: "SILENT" });
  const metrics = new Metrics({ namespace: "ClarifaiBridgeImport", serviceName: "import" });
  const sleep = deps.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
  return {
    // Five delivery batches' worth at a time: 640 items of a few annotations each are about 15 requests, a second
    // at Clarifai's limit, so the pace is kept full instead of idling between batches of 3 requests.
    batchSize: 640,
    // And at most what one Lambda invocation's payload may be (6 MB): a file of large items (brush masks, long
    // tracks) is read as the handler would read it, within its memory, not 640 megabytes at a time.
    batchBytes: 6_000_000,
    async send(items) {
      const failed: { item: ImportItem; code: string; reason: string }[] = [];
      const byId = new Map(items.map((item) => [`import-${item.n}`, item]));
      let records: SQSRecord[] = items.map((item) => record(`import-${item.n}`, item.body, 1));
      for (let round = 1; records.length > 0; round++) {
        const letters: { id: string; code: string; reason: string }[] = [];
        const continued: SQSRecord[] = [];
        const sink = captureSqs(
          letters,
          continued,
          (body) => records.find((r) => r.body === body)?.messageId,
        );
        const end = Date.now() + (deps.batchMs ?? 60_000);
        const answer = await processBatch(
          { Records: records },
          {
            config: deps.config,
            clarifai: deps.clarifai,
            sqs: async () => sink,
            logger,
            metrics,
            remainingMs: () => end - Date.now(),
            limiter: deps.limiter,
            tasks,
            ...(deps.masks ? { masks: deps.masks } : {}),
            ...(deps.fresh ? { fresh: true } : {}),
          },
        );
        for (const letter of letters) {
          const item = byId.get(letter.id.replace(/#.*$/, ""));
          if (item) failed.push({ item, code: letter.code, reason: letter.reason });
        }
        const retry = new Set(answer.batchItemFailures.map((f) => f.itemIdentifier));
        records = [
          ...records
            .filter((r) => retry.has(r.messageId))
            .map((r) => record(r.messageId, r.body, Number(r.attributes.ApproximateReceiveCount) + 1, r)),
          ...continued,
        ];
        const giveUp = records.filter((r) => Number(r.attributes.ApproximateReceiveCount) > attempts);
        for (const r of giveUp) {
          const item = byId.get(r.messageId);
          if (item)
            failed.push({ item, code: "retries-exhausted", reason: `not delivered after ${attempts} tries` });
        }
        records = records.filter((r) => !giveUp.includes(r));
        if (records.some((r) => Number(r.attributes.ApproximateReceiveCount) > 1))
          await sleep(Math.min(30_000, 1_000 * 2 ** (round - 1)));
      }
      return failed;
    },
    close: async () => undefined,
  };
}

const SOURCE_ARN = "arn:aws:sqs:local:000000000000:clarifai-bridge-import";

function record(id: string, body: string, receiveCount: number, from?: SQSRecord): SQSRecord {
  return {
    messageId: id,
    receiptHandle: id,
    body,
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: from?.attributes.SentTimestamp ?? String(Date.now()),
      SenderId: "clarifai-bridge-import",
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: from?.messageAttributes ?? {},
    md5OfBody: "",
    eventSource: "aws:sqs",
    eventSourceARN: SOURCE_ARN,
    awsRegion: "local",
  };
}

/**
 * The handler's SQS calls, kept in this process: a dead letter's reason and code are recorded, a continuation
 * becomes the next batch's record (its id kept, so its failures are the item's), a visibility change is a no-op
 * (the retry waits here instead).
 */
function captureSqs(
  letters: { id: string; code: string; reason: string }[],
  continued: SQSRecord[],
  idOf: (body: string) => string | undefined,
): SQSClient {
  const send = async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
    const name = command.constructor.name;
    if (name === "SendMessageBatchCommand") {
      const entries = (command.input.Entries ?? []) as {
        Id: string;
        MessageAttributes?: Record<string, { StringValue?: string }>;
      }[];
      for (const e of entries)
        letters.push({
          id: e.MessageAttributes?.sourceMessageId?.StringValue ?? "",
          code: e.MessageAttributes?.errorCode?.StringValue ?? "dead-letter",
          reason: e.MessageAttributes?.reason?.StringValue ?? "",
        });
      return { Successful: entries.map((e) => ({ Id: e.Id })), Failed: [] };
    }
    if (name === "SendMessageCommand") {
      const input = command.input as {
        MessageBody: string;
        MessageAttributes?: Record<string, { DataType?: string; StringValue?: string }>;
      };
      const attributes = Object.fromEntries(
        Object.entries(input.MessageAttributes ?? {}).map(([k, v]) => [
          k,
          { dataType: v.DataType ?? "String", stringValue: v.StringValue },
        ]),
      );
      // The continuation of the record being imported: the same item (its id), received afresh.
      const id = idOf(input.MessageBody) ?? `continued-${continued.length}`;
      continued.push({ ...record(id, input.MessageBody, 1), messageAttributes: attributes });
      return { MessageId: id };
    }
    return { Successful: [], Failed: [] };
  };
  return { send } as unknown as SQSClient;
}

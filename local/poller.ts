import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { Context, SQSBatchResponse, SQSEvent, SQSMessageAttributes, SQSRecord } from "aws-lambda";
import { lambdaContext } from "./lambda-context.js";
import type { IsolatedHandler } from "./worker-handler.js";

export { lambdaContext } from "./lambda-context.js";

/**
 * A local stand-in for Lambda's SQS event source mapping: long-polls a queue, hands batches to the handler as
 * Lambda would (the same record fields, ApproximateReceiveCount included), deletes the records the handler did
 * not report in `batchItemFailures`, and leaves the rest to become visible again, so the queue's own redrive
 * policy moves exhausted messages to the dead-letter queue.
 */
export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | undefined>;

export interface PollerOptions {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly queueArn: string;
  /**
   * The function: a plain handler in this process, or an isolated one (`worker-handler.ts`) that a timeout or a
   * kill really stops, as Lambda does. Only the isolated kind is faithful when invocations time out.
   */
  readonly handler: SqsHandler | IsolatedHandler;
  /** Records per invocation, as the event source's `batchSize`. @default 10 */
  readonly batchSize?: number;
  /** How long to gather a batch, as `maxBatchingWindow`. @default 0 */
  readonly maxBatchingWindowMs?: number;
  /** The function timeout the handler sees through `getRemainingTimeInMillis`. @default 30000 */
  readonly functionTimeoutMs?: number;
  /** @default "us-east-1" */
  readonly region?: string;
  /** Called after each invocation with what happened. */
  readonly onInvoke?: (info: InvokeInfo) => void;
  /** Faults of the event source itself, for the chaos soak. @default none */
  readonly chaos?: PollerChaos;
}

export interface PollerChaos {
  /** Share (0..1) of handled messages delivered once more afterwards, as SQS's at-least-once delivery may. */
  readonly duplicateDeliveryRate?: number;
  /**
   * Which invocations (1-based) are killed after `killAfterMs`: the batch fails, and an isolated handler's
   * environment is terminated with its requests in flight.
   */
  readonly killInvocation?: (invocation: number) => boolean;
  /** @default 50 */
  readonly killAfterMs?: number;
}

export interface InvokeInfo {
  readonly records: number;
  /** The batch's message ids. */
  readonly messageIds: readonly string[];
  readonly failed: number;
  readonly deleted: number;
  readonly crashed: boolean;
  /** The invocation was killed (chaos) or passed its timeout; an isolated handler was stopped with it. */
  readonly killed: boolean;
  /** It passed the function timeout. */
  readonly timedOut: boolean;
  readonly ms: number;
}

export interface Poller {
  /** Receives one batch (waiting up to `waitSeconds` for the first message) and invokes the handler; returns the batch size. */
  pollOnce(waitSeconds?: number): Promise<number>;
  /**
   * Polls continuously, as Lambda's pollers do: the next batch is received while the handler works on the current
   * one. Stops when `stop(lastBatchSize)` says so, or when `stop()` is called.
   */
  run(shouldStop?: (lastBatchSize: number) => boolean): Promise<void>;
  /** Polls until `stop()` is called. */
  start(): Promise<void>;
  stop(): void;
}

export function createPoller(options: PollerOptions): Poller {
  const batchSize = options.batchSize ?? 10;
  const windowMs = options.maxBatchingWindowMs ?? 0;
  const timeoutMs = options.functionTimeoutMs ?? 30_000;
  const region = options.region ?? "us-east-1";
  let running = false;
  let invocation = 0;

  /** Messages to deliver a second time (chaos): they join the next batch. */
  const duplicates: Message[] = [];

  /**
   * One batch as Lambda's event source gathers it: up to `batchSize` records, waiting up to the batching window
   * (counted from the first record) for more when the queue is momentarily empty, so a quiet event waits for the
   * window as it would on AWS. Without a window, whatever one round of receives finds.
   */
  async function receive(waitSeconds: number): Promise<Message[]> {
    const messages: Message[] = duplicates.splice(0, batchSize);
    let deadline = messages.length > 0 ? Date.now() + windowMs : Number.POSITIVE_INFINITY;
    while (messages.length < batchSize) {
      const left = deadline - Date.now();
      const wait =
        messages.length === 0 ? waitSeconds : left >= 1000 ? Math.min(20, Math.floor(left / 1000)) : 0;
      const answer = await options.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: options.queueUrl,
          MaxNumberOfMessages: Math.min(10, batchSize - messages.length),
          WaitTimeSeconds: wait,
          MessageSystemAttributeNames: ["All"],
          MessageAttributeNames: ["All"],
        }),
      );
      const got = answer.Messages ?? [];
      if (got.length > 0 && messages.length === 0) deadline = Date.now() + windowMs;
      messages.push(...got);
      if (messages.length === 0 || windowMs === 0) {
        if (got.length === 0) break;
        continue;
      }
      if (Date.now() >= deadline) break;
      // The window is still open and the queue had nothing just now: look again shortly.
      if (got.length === 0 && wait === 0)
        await new Promise((r) => setTimeout(r, Math.min(50, deadline - Date.now())));
    }
    return messages;
  }

  async function pollOnce(waitSeconds = 1): Promise<number> {
    return invoke(await receive(waitSeconds));
  }

  async function invoke(messages: Message[]): Promise<number> {
    if (messages.length === 0) return 0;
    const event: SQSEvent = { Records: messages.map((m) => toRecord(m, options.queueArn, region)) };
    const started = Date.now();
    const deadline = started + timeoutMs;
    const n = ++invocation;
    const context = lambdaContext(`local-${n}`, deadline);
    let failedIds: Set<string>;
    let crashed = false;
    let killed = false;
    let timedOut = false;
    const handler = options.handler;
    const isolated = "isolated" in handler;
    const running = isolated
      ? handler.invoke(event, deadline, context.awsRequestId)
      : handler(event, context);
    running.catch(() => undefined); // a killed invocation's rejection is expected
    // Lambda's end of an invocation: the function timeout, or the chaos kill if it comes first.
    const killAt = options.chaos?.killInvocation?.(n) ? (options.chaos.killAfterMs ?? 50) : undefined;
    const limit = killAt === undefined ? timeoutMs : Math.min(killAt, timeoutMs);
    let timer: NodeJS.Timeout | undefined;
    const stopped = new Promise<"stopped">((resolve) => {
      timer = setTimeout(() => resolve("stopped"), limit);
    });
    try {
      const outcome = await Promise.race([running, stopped]);
      if (outcome === "stopped") {
        killed = true;
        timedOut = killAt === undefined || limit === timeoutMs;
        // An isolated handler is really stopped, its requests in flight with it; a plain one runs on unseen.
        if (isolated) await handler.kill();
        throw new Error("invocation stopped");
      }
      const response = outcome;
      const ids = new Set(event.Records.map((r) => r.messageId));
      const reported = (response?.batchItemFailures ?? []).map((f) => f.itemIdentifier);
      // Lambda fails the whole batch when a reported id is empty or not in the batch.
      failedIds = reported.every((id) => id && ids.has(id)) ? new Set(reported) : ids;
    } catch {
      crashed = true;
      failedIds = new Set(event.Records.map((r) => r.messageId));
    } finally {
      clearTimeout(timer);
    }
    const toDelete = messages.filter((m) => !failedIds.has(m.MessageId as string));
    for (let i = 0; i < toDelete.length; i += 10) {
      // A duplicate delivery's receipt handle is already spent: SQS refuses it, which changes nothing.
      await options.sqs
        .send(
          new DeleteMessageBatchCommand({
            QueueUrl: options.queueUrl,
            Entries: toDelete
              .slice(i, i + 10)
              .map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle as string })),
          }),
        )
        .catch(() => undefined);
    }
    const rate = options.chaos?.duplicateDeliveryRate ?? 0;
    for (const m of toDelete) {
      if (rate > 0 && Math.random() < rate) {
        const count = String(Number(m.Attributes?.ApproximateReceiveCount ?? "1") + 1);
        duplicates.push({ ...m, Attributes: { ...m.Attributes, ApproximateReceiveCount: count } });
      }
    }
    options.onInvoke?.({
      records: messages.length,
      messageIds: messages.map((m) => m.MessageId as string),
      failed: failedIds.size,
      deleted: toDelete.length,
      crashed,
      killed,
      timedOut,
      ms: Date.now() - started,
    });
    return messages.length;
  }

  const safeReceive = (waitSeconds: number) =>
    receive(waitSeconds).catch(async () => {
      await new Promise((r) => setTimeout(r, 200)); // the queue server went away or is busy: try again shortly
      return [] as Message[];
    });

  async function run(shouldStop: (lastBatchSize: number) => boolean = () => false): Promise<void> {
    running = true;
    let next = safeReceive(1);
    while (running) {
      const messages = await next;
      if (shouldStop(messages.length) || !running) {
        // Received but not handled: make them available again at once rather than after the visibility timeout.
        await releaseUnhandled(messages);
        break;
      }
      next = safeReceive(1);
      await invoke(messages);
    }
    running = false;
  }

  async function releaseUnhandled(messages: Message[]): Promise<void> {
    for (let i = 0; i < messages.length; i += 10) {
      await options.sqs
        .send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: options.queueUrl,
            Entries: messages.slice(i, i + 10).map((m, j) => ({
              Id: String(j),
              ReceiptHandle: m.ReceiptHandle as string,
              VisibilityTimeout: 0,
            })),
          }),
        )
        .catch(() => undefined);
    }
  }

  return {
    pollOnce,
    run,
    start: () => run(),
    stop() {
      running = false;
    },
  };
}

/** An SQS message as Lambda's event source hands it to a function. */
export function toRecord(message: Message, queueArn: string, region: string): SQSRecord {
  const attrs = message.Attributes ?? {};
  const messageAttributes: SQSMessageAttributes = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    messageAttributes[name] = {
      dataType: value.DataType ?? "String",
      ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
      stringListValues: [],
      binaryListValues: [],
    };
  }
  return {
    messageId: message.MessageId as string,
    receiptHandle: message.ReceiptHandle as string,
    body: message.Body ?? "",
    attributes: {
      ApproximateReceiveCount: attrs.ApproximateReceiveCount ?? "1",
      SentTimestamp: attrs.SentTimestamp ?? String(Date.now()),
      SenderId: attrs.SenderId ?? "local",
      ApproximateFirstReceiveTimestamp: attrs.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      ...(attrs.MessageGroupId ? { MessageGroupId: attrs.MessageGroupId } : {}),
      ...(attrs.MessageDeduplicationId ? { MessageDeduplicationId: attrs.MessageDeduplicationId } : {}),
      ...(attrs.SequenceNumber ? { SequenceNumber: attrs.SequenceNumber } : {}),
    },
    messageAttributes,
    md5OfBody: message.MD5OfBody ?? "",
    eventSource: "aws:sqs",
    eventSourceARN: queueArn,
    awsRegion: region,
  };
}

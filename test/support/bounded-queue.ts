import { DeleteMessageBatchCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import type { SQSRecord } from "aws-lambda";
import type { LocalEnvironment } from "../../local/environment.js";
import { type NodeFlags, startBoundedInstance } from "./bounded-process.js";
import { queueCounts } from "./sqs.js";

/**
 * The source queue drained as Lambda's event source drains it, each invocation the bundled handler in a child
 * process bounded by memory (bounded-process.ts): receive up to `batchSize` messages, invoke, delete what the
 * answer did not name as failed, leave the failed ones to come back after their visibility timeout. Continuations
 * the handler queues are received like any message.
 */
export interface QueueInvocation {
  /** Message ids of the batch, and how many of them were continuations. */
  readonly messageIds: readonly string[];
  readonly continuations: number;
  readonly failed: readonly string[];
  readonly elapsedMs: number;
  readonly killed?: "memory" | "time";
  /** Date.now() when the invocation started and when it answered. */
  readonly startedAt: number;
  readonly answeredAt: number;
  /** Resident memory and heap in use when it answered, MiB. */
  readonly rssMb: number;
  readonly heapMb: number;
}

export interface DrainOptions {
  readonly memoryMb: number;
  readonly timeoutMs: number;
  readonly flags?: NodeFlags;
  readonly batchSize?: number;
  readonly maxInvocations: number;
  /** Called after each invocation's answer (before its messages are deleted): watch what happens after it. */
  readonly afterAnswer?: (invocation: QueueInvocation) => Promise<void>;
  /** Give up when nothing has been ready for this long. @default 15000 */
  readonly idleMs?: number;
}

/** The queue drained by one warm, memory-bounded instance (a new one after a kill); peak memory in MiB too. */
export async function drainBounded(
  env: LocalEnvironment,
  bundleDir: string,
  handlerEnv: Record<string, string>,
  options: DrainOptions,
): Promise<{ invocations: QueueInvocation[]; peakMb: number; stderr: string }> {
  const invocations: QueueInvocation[] = [];
  const start = () =>
    startBoundedInstance(bundleDir, handlerEnv, {
      memoryMb: options.memoryMb,
      ...(options.flags ? { flags: options.flags } : {}),
    });
  let instance = start();
  let peakMb = 0;
  let stderr = "";
  let idleSince = Date.now();
  try {
    while (invocations.length < options.maxInvocations) {
      const answer = await env.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: env.queueUrl,
          MaxNumberOfMessages: options.batchSize ?? 10,
          WaitTimeSeconds: 1,
          MessageSystemAttributeNames: ["All"],
          MessageAttributeNames: ["All"],
        }),
      );
      const messages = answer.Messages ?? [];
      if (messages.length === 0) {
        const c = queueCounts(env);
        if (c.ready + c.inflight + c.delayed === 0) break;
        if (Date.now() - idleSince > (options.idleMs ?? 15_000)) break;
        continue;
      }
      const records: SQSRecord[] = messages.map((m) => ({
        messageId: m.MessageId as string,
        receiptHandle: m.ReceiptHandle as string,
        body: m.Body ?? "",
        attributes: {
          ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount ?? "1",
          SentTimestamp: m.Attributes?.SentTimestamp ?? String(Date.now()),
          SenderId: "local",
          ApproximateFirstReceiveTimestamp: String(Date.now()),
        },
        messageAttributes: Object.fromEntries(
          Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [
            k,
            { dataType: v.DataType ?? "String", stringValue: v.StringValue },
          ]),
        ),
        md5OfBody: m.MD5OfBody ?? "",
        eventSource: "aws:sqs",
        eventSourceARN: env.queueArn,
        awsRegion: "us-east-1",
      }));
      const startedAt = Date.now();
      const run = await instance.invoke(records, options.timeoutMs);
      const failed =
        "killed" in run
          ? records.map((r) => r.messageId)
          : run.answer.batchItemFailures.map((f) => f.itemIdentifier);
      const invocation: QueueInvocation = {
        messageIds: records.map((r) => r.messageId),
        continuations: records.filter((r) => r.messageAttributes["bridge-continuation"]).length,
        failed,
        elapsedMs: "killed" in run ? Number.NaN : run.elapsedMs,
        ...("killed" in run ? { killed: run.killed } : {}),
        startedAt,
        answeredAt: "killed" in run ? Number.NaN : run.answeredAt,
        rssMb: "killed" in run ? Number.NaN : run.rssMb,
        heapMb: "killed" in run ? Number.NaN : run.heapMb,
      };
      invocations.push(invocation);
      await options.afterAnswer?.(invocation);
      const done = messages.filter((m) => !failed.includes(m.MessageId as string));
      if (done.length > 0)
        await env.sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: env.queueUrl,
            Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle as string })),
          }),
        );
      if ("killed" in run) {
        peakMb = Math.max(peakMb, instance.peakMb());
        stderr += instance.stderr();
        await instance.close();
        instance = start();
      }
      idleSince = Date.now();
    }
  } finally {
    peakMb = Math.max(peakMb, instance.peakMb());
    stderr += instance.stderr();
    await instance.close();
  }
  return { invocations, peakMb, stderr };
}

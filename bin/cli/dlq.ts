import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
  StartMessageMoveTaskCommand,
} from "@aws-sdk/client-sqs";
import type { Progress } from "./progress.js";

/** The attributes the handler adds to a dead letter; a redrive drops them so the next attempt starts clean. */
const DEAD_LETTER_ATTRIBUTES = new Set([
  "reason",
  "errorCode",
  "sourceMessageId",
  "receiveCount",
  "failedAt",
]);

export interface DeadLetterView {
  readonly messageId: string;
  readonly errorCode: string;
  readonly reason: string;
  readonly taskId: string;
  readonly inputId: string;
  readonly ageSeconds: number;
}

/** What an operator needs to see of a dead letter, from its attributes and (when it parses) its body. */
export function viewOf(message: Message, now: number = Date.now()): DeadLetterView {
  const attrs = message.MessageAttributes ?? {};
  let taskId = "";
  let inputId = "";
  try {
    const body = JSON.parse(message.Body ?? "") as Record<string, unknown>;
    const first = (Array.isArray(body.annotations) ? body.annotations[0] : body) as
      | Record<string, unknown>
      | undefined;
    taskId = String(
      first?.taskId ??
        first?.task_id ??
        (first?.annotation_info as Record<string, unknown> | undefined)?.task_id ??
        "",
    );
    inputId = String(first?.inputId ?? first?.input_id ?? "");
  } catch {
    // not JSON: nothing more to show than the reason
  }
  const failedAt = Date.parse(attrs.failedAt?.StringValue ?? "");
  const sent = Number(message.Attributes?.SentTimestamp ?? Number.NaN);
  const since = Number.isNaN(failedAt) ? sent : failedAt;
  return {
    messageId: message.MessageId ?? "",
    errorCode: attrs.errorCode?.StringValue ?? "(moved by the queue's redrive policy)",
    reason: attrs.reason?.StringValue ?? "",
    taskId,
    inputId,
    ageSeconds: Number.isNaN(since) ? 0 : Math.max(0, Math.round((now - since) / 1000)),
  };
}

/** `reason=…` or `errorCode=…`: a substring of the reason, or the exact error code. */
export function matchesFilter(message: Message, filter: string | undefined): boolean {
  if (!filter) return true;
  const [key, ...rest] = filter.split("=");
  const value = rest.join("=");
  const attrs = message.MessageAttributes ?? {};
  if (key === "errorCode") return attrs.errorCode?.StringValue === value;
  if (key === "reason")
    return (attrs.reason?.StringValue ?? "").includes(value) || attrs.errorCode?.StringValue === value;
  throw new Error(`unknown filter ${JSON.stringify(filter)}: use reason=TEXT or errorCode=CODE`);
}

async function receive(sqs: SQSClient, queueUrl: string, visibilitySeconds: number): Promise<Message[]> {
  const answer = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 1,
      VisibilityTimeout: visibilitySeconds,
      MessageAttributeNames: ["All"],
      MessageSystemAttributeNames: ["All"],
    }),
  );
  return answer.Messages ?? [];
}

async function makeVisible(sqs: SQSClient, queueUrl: string, messages: readonly Message[]): Promise<void> {
  for (let i = 0; i < messages.length; i += 10) {
    await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: queueUrl,
        Entries: messages
          .slice(i, i + 10)
          .map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle as string, VisibilityTimeout: 0 })),
      }),
    );
  }
}

/**
 * Peeks at dead letters without consuming them: receives them (hidden for a short while), then makes every one
 * visible again before returning.
 */
export async function listDeadLetters(sqs: SQSClient, dlqUrl: string, max = 100): Promise<DeadLetterView[]> {
  const seen = new Map<string, Message>();
  try {
    while (seen.size < max) {
      const batch = await receive(sqs, dlqUrl, 30);
      const fresh = batch.filter((m) => !seen.has(m.MessageId as string));
      for (const m of batch) seen.set(m.MessageId as string, m);
      if (fresh.length === 0) break;
    }
  } finally {
    await makeVisible(sqs, dlqUrl, [...seen.values()]);
  }
  return [...seen.values()].slice(0, max).map((m) => viewOf(m));
}

export interface RedriveOptions {
  readonly dlqUrl: string;
  readonly queueUrl: string;
  readonly filter?: string;
  /** Stop after this many messages. @default all */
  readonly max?: number;
  /** Checked between batches: a redrive stops cleanly (nothing half-moved) when it fires. */
  readonly signal?: AbortSignal;
  readonly progress?: Progress;
}

/**
 * Moves dead letters back to the source queue by receive, send, then delete, one batch of ten at a time: a
 * message is deleted from the DLQ only after SQS accepted its copy, so a stop at any point loses nothing, and a
 * stop between batches (Ctrl-C, `max`) leaves every message in exactly one queue. Returns how many moved.
 */
export async function redriveByCopy(
  sqs: SQSClient,
  options: RedriveOptions,
): Promise<{ moved: number; skipped: number }> {
  const skipped = new Map<string, Message>();
  const fifo = options.queueUrl.endsWith(".fifo");
  let moved = 0;
  try {
    while (!options.signal?.aborted && moved < (options.max ?? Number.POSITIVE_INFINITY)) {
      const batch = (await receive(sqs, options.dlqUrl, 60)).filter(
        (m) => !skipped.has(m.MessageId as string),
      );
      if (batch.length === 0) break;
      const room = (options.max ?? Number.POSITIVE_INFINITY) - moved;
      const chosen: Message[] = [];
      for (const m of batch) {
        if (!matchesFilter(m, options.filter) || chosen.length >= room) skipped.set(m.MessageId as string, m);
        else chosen.push(m);
      }
      if (chosen.length === 0) continue;
      const sent = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: options.queueUrl,
          Entries: chosen.map((m, j) => ({
            Id: String(j),
            MessageBody: m.Body ?? "",
            MessageAttributes: producerAttributes(m),
            ...(fifo
              ? {
                  MessageGroupId: m.Attributes?.MessageGroupId ?? "default",
                  MessageDeduplicationId: m.MessageId,
                }
              : {}),
          })),
        }),
      );
      const accepted = (sent.Successful ?? []).map((s) => chosen[Number(s.Id)] as Message);
      // Messages SQS refused stay in the DLQ; they become visible again when their receive times out.
      if (accepted.length > 0) {
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: options.dlqUrl,
            Entries: accepted.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle as string })),
          }),
        );
      }
      moved += accepted.length;
      options.progress?.update(moved);
    }
  } finally {
    await makeVisible(sqs, options.dlqUrl, [...skipped.values()]);
    options.progress?.finish();
  }
  return { moved, skipped: skipped.size };
}

function producerAttributes(message: Message): Record<string, MessageAttributeValue> {
  const out: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    if (!DEAD_LETTER_ATTRIBUTES.has(name)) out[name] = value;
  }
  return out;
}

/** On AWS: SQS's own move task, naming the destination (the handler's dead letters have no source SQS knows of). */
export async function redriveWithMoveTask(sqs: SQSClient, dlqArn: string, queueArn: string): Promise<string> {
  const answer = await sqs.send(
    new StartMessageMoveTaskCommand({ SourceArn: dlqArn, DestinationArn: queueArn }),
  );
  return answer.TaskHandle ?? "";
}

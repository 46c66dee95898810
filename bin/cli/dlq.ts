import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
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
  return (await peekDeadLetters(sqs, dlqUrl, max)).map((m) => viewOf(m));
}

/** The dead letters themselves (bodies and attributes), peeked as `listDeadLetters` peeks. */
export async function peekDeadLetters(sqs: SQSClient, dlqUrl: string, max = 100): Promise<Message[]> {
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
  return [...seen.values()].slice(0, max);
}

export interface RedriveOptions {
  readonly dlqUrl: string;
  readonly queueUrl: string;
  readonly filter?: string;
  /** Stop after this many messages. @default all that were in the DLQ when the redrive started */
  readonly max?: number;
  /** Checked between batches: a redrive stops cleanly (nothing half-moved) when it fires. */
  readonly signal?: AbortSignal;
  readonly progress?: Progress;
}

export interface RedriveResult {
  /** Messages moved to the source queue, each once. */
  readonly moved: number;
  /** Messages left in the DLQ because the filter did not match them (or `max` was reached). */
  readonly skipped: number;
  /** Messages this redrive moved that the handler dead-lettered again while it ran (left in the DLQ). */
  readonly cameBack: number;
  /** How many messages the DLQ held when the redrive started: it never moves more. */
  readonly startedWith: number;
}

/**
 * Moves dead letters back to the source queue by receive, send, then delete, one batch of ten at a time: a
 * message is deleted from the DLQ only after SQS accepted its copy, so a stop at any point loses nothing, and a
 * stop between batches (Ctrl-C, `max`) leaves every message in exactly one queue.
 *
 * Bounded: it moves only what the DLQ held when it started. A message it moved that fails again comes back to the
 * DLQ as a new message whose `sourceMessageId` is the copy's id (or, moved by the queue's redrive policy, with the
 * copy's own id): it is recognised, left where it is and counted, never moved a second time, so a redrive of poison
 * messages against a running handler ends. It also never moves more than the DLQ's depth at the start.
 */
export async function redriveByCopy(sqs: SQSClient, options: RedriveOptions): Promise<RedriveResult> {
  const startedWith = await depth(sqs, options.dlqUrl);
  const cap = Math.min(options.max ?? Number.POSITIVE_INFINITY, startedWith);
  const left = new Map<string, Message>(); // messages received and left in the DLQ, made visible at the end
  const copies = new Set<string>(); // message ids of the copies this redrive sent
  const fifo = options.queueUrl.endsWith(".fifo");
  let moved = 0;
  let skipped = 0;
  let cameBack = 0;
  let seenOriginal = 0;
  let idle = 0;
  try {
    while (!options.signal?.aborted && moved < cap && seenOriginal < startedWith && idle < 3) {
      const batch = await receive(sqs, options.dlqUrl, 60);
      if (batch.length === 0) break;
      const chosen: Message[] = [];
      let fresh = 0;
      for (const m of batch) {
        const id = m.MessageId as string;
        if (left.has(id)) {
          left.set(id, m); // seen before (its visibility ran out): keep the newest receipt handle
          continue;
        }
        fresh += 1;
        left.set(id, m);
        if (copies.has(id) || copies.has(m.MessageAttributes?.sourceMessageId?.StringValue ?? "")) {
          cameBack += 1;
          continue;
        }
        seenOriginal += 1;
        if (!matchesFilter(m, options.filter) || moved + chosen.length >= cap) skipped += 1;
        else {
          left.delete(id);
          chosen.push(m);
        }
      }
      idle = fresh === 0 ? idle + 1 : 0;
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
      const accepted = (sent.Successful ?? []).map((s) => {
        if (s.MessageId) copies.add(s.MessageId);
        return chosen[Number(s.Id)] as Message;
      });
      // Messages SQS refused stay in the DLQ, visible again at the end.
      for (const failed of sent.Failed ?? []) {
        const m = chosen[Number(failed.Id)];
        if (m) left.set(m.MessageId as string, m);
      }
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
    await makeVisible(sqs, options.dlqUrl, [...left.values()]);
    options.progress?.finish();
  }
  return { moved, skipped, cameBack, startedWith };
}

/** Messages in a queue now: visible and in flight (SQS's approximate counts). */
async function depth(sqs: SQSClient, queueUrl: string): Promise<number> {
  const answer = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    }),
  );
  const a = answer.Attributes ?? {};
  return Number(a.ApproximateNumberOfMessages ?? 0) + Number(a.ApproximateNumberOfMessagesNotVisible ?? 0);
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

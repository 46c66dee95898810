import { SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import type { LocalEnvironment } from "../../local/environment.js";
import type { Poller } from "../../local/poller.js";

/** Sends bodies to the source queue (with a `format` attribute when given); returns their message ids in order. */
export async function sendBodies(
  env: LocalEnvironment,
  bodies: readonly string[],
  format?: string,
): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < bodies.length; i += 10) {
    const slice = bodies.slice(i, i + 10);
    const answer = await env.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: env.queueUrl,
        Entries: slice.map((body, j) => ({
          Id: String(j),
          MessageBody: body,
          ...(format ? { MessageAttributes: { format: { DataType: "String", StringValue: format } } } : {}),
        })),
      }),
    );
    if (answer.Failed?.length) throw new Error(`send failed: ${JSON.stringify(answer.Failed)}`);
    const byId = new Map((answer.Successful ?? []).map((s) => [s.Id, s.MessageId as string]));
    for (let j = 0; j < slice.length; j++) ids.push(byId.get(String(j)) as string);
  }
  return ids;
}

export interface QueueCounts {
  readonly ready: number;
  readonly inflight: number;
  readonly delayed: number;
}

export function queueCounts(env: LocalEnvironment, name = env.queueName): QueueCounts {
  const q = env.sqsServer.inspectQueue(name);
  if (!q) throw new Error(`no queue ${name}`);
  return {
    ready: q.messages.ready.length,
    inflight: q.messages.inflight.length,
    delayed: q.messages.delayed.length,
  };
}

/** Every message in the dead-letter queue, without consuming any. */
export function deadLetters(env: LocalEnvironment) {
  const q = env.sqsServer.inspectQueue(env.dlqName);
  return [...(q?.messages.ready ?? []), ...(q?.messages.inflight ?? []).map((i) => i.message)];
}

/** Polls until the source queue holds nothing (ready, in flight or delayed), or fails after `timeoutMs`. */
export async function drain(env: LocalEnvironment, poller: Poller, timeoutMs = 20_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let invocations = 0;
  for (;;) {
    const c = queueCounts(env);
    if (c.ready + c.inflight + c.delayed === 0) return invocations;
    if (Date.now() > deadline) throw new Error(`queue not drained in ${timeoutMs} ms: ${JSON.stringify(c)}`);
    if ((await poller.pollOnce(1)) > 0) invocations += 1;
  }
}

import { createHash } from "node:crypto";
import { GetObjectCommand, NoSuchKey, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { createRateLimiter } from "../delivery/rate-limiter.js";
import { budgetChunks } from "../delivery/requests.js";
import { sqsValueProblem } from "../delivery/sqs-safe.js";
import { PullHttpError, type Queued } from "./run-pull.js";

/**
 * The puller's thin edges: the tools' HTTP APIs (paced, timed out), the state store (one S3 object per project),
 * and the bridge's queue (SendMessageBatch, every entry accepted or an error).
 */

/** GET JSON with `Authorization: Token <token>`, at most `perSecond` requests per second, each within `timeoutMs`. */
export function createJsonGetter(perSecond: number, timeoutMs: number) {
  const limiter = createRateLimiter(perSecond);
  return async (url: string, token: string): Promise<unknown> => {
    await limiter.acquire();
    let response: Response;
    try {
      response = await fetch(url, {
        headers: { authorization: `Token ${token}`, accept: "application/json" },
        redirect: "error", // a redirect would carry the token elsewhere
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new PullHttpError(`GET ${pathOf(url)}: ${(error as Error).name}`);
    }
    if (response.status === 429) {
      const wait = Number(response.headers.get("retry-after")) || 1;
      limiter.backOff(wait * 1000);
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new PullHttpError(`GET ${pathOf(url)}: HTTP ${response.status}`, response.status);
    }
    try {
      return await response.json();
    } catch {
      throw new PullHttpError(`GET ${pathOf(url)}: the answer is not JSON`);
    }
  };
}

/** The URL's path without its query (which may be long, and is nobody's secret, but says little). */
const pathOf = (url: string) => new URL(url).pathname.slice(0, 200);

/** Project state as S3 objects in `bucket` (encrypted, private; see the construct). */
export function s3StateStore(bucket: string, endpoint?: string) {
  // Made on first use: a puller for CVAT only never touches S3, so its cold start need not build the client.
  let client: S3Client | undefined;
  const s3 = () => {
    client ??= new S3Client(endpoint ? { endpoint, forcePathStyle: true } : {});
    return client;
  };
  return {
    async get(key: string): Promise<string | undefined> {
      try {
        const answer = await s3().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        return await answer.Body?.transformToString("utf8");
      } catch (error) {
        if (error instanceof NoSuchKey || (error as { name?: string }).name === "NoSuchKey") return undefined;
        throw error;
      }
    },
    async put(key: string, text: string): Promise<void> {
      await s3().send(
        new PutObjectCommand({ Bucket: bucket, Key: key, Body: text, ContentType: "application/json" }),
      );
    },
  };
}

/** Bodies onto the bridge's queue, 10 per call and under SQS's batch size; throws unless every one is accepted. */
export function queueSender(sqs: () => Promise<SQSClient>, queueUrl: string) {
  const fifo = queueUrl.endsWith(".fifo");
  return async (items: readonly Queued[]): Promise<void> => {
    const client = await sqs();
    // Real SQS refuses characters the local server takes: checked here, as the planners promise it never happens.
    for (const q of items)
      if (sqsValueProblem(q.body))
        throw new Error(`a ${q.format} body ${sqsValueProblem(q.body)} (a bug: it should have been escaped)`);
    for (const batch of budgetChunks(items, 10, (q) => Buffer.byteLength(q.body) + 200, 900_000)) {
      let entries = batch.map((q, i) => ({
        Id: String(i),
        MessageBody: q.body,
        MessageAttributes: {
          format: { DataType: "String", StringValue: q.format },
          source: { DataType: "String", StringValue: "puller" },
        },
        ...(fifo
          ? {
              MessageGroupId: q.groupId.slice(0, 128),
              MessageDeduplicationId: createHash("sha256").update(q.body).digest("hex"),
            }
          : {}),
      }));
      // Entries SQS failed for a passing reason are sent once more; anything still refused fails the run.
      for (let attempt = 0; entries.length && attempt < 2; attempt++) {
        const answer = await client.send(
          new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }),
        );
        const failed = new Set((answer.Failed ?? []).map((f) => f.Id));
        if (attempt === 1 && failed.size)
          throw new Error(
            `SQS refused ${failed.size} message(s): ${(answer.Failed ?? []).map((f) => f.Code).join(", ")}`,
          );
        entries = entries.filter((e) => failed.has(e.Id));
      }
    }
  };
}

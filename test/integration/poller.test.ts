import { afterAll, beforeAll, expect, test } from "@jest/globals";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { type LocalEnvironment, startLocalEnvironment } from "../../local/environment.js";
import { createPoller } from "../../local/poller.js";
import { deadLetters, drain, queueCounts, sendBodies } from "../support/sqs.js";

/** The poller must behave as Lambda's event source does, or the other integration tests prove nothing. */
let env: LocalEnvironment;
beforeAll(async () => {
  env = await startLocalEnvironment({ maxReceiveCount: 3, visibilityTimeoutSeconds: 1, standIn: false });
});
afterAll(() => env.close());

test("records reported in batchItemFailures come back; the others are deleted; the queue's redrive moves exhausted ones", async () => {
  const seen: SQSEvent[] = [];
  const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
    seen.push(event);
    return {
      batchItemFailures: event.Records.filter((r) => r.body === "fail").map((r) => ({
        itemIdentifier: r.messageId,
      })),
    };
  };
  const poller = createPoller({
    sqs: env.sqs,
    queueUrl: env.queueUrl,
    queueArn: env.queueArn,
    handler,
    batchSize: 10,
  });
  const [failId] = await sendBodies(env, ["fail", "ok-1", "ok-2"]);

  await poller.pollOnce(1);
  expect(seen[0]?.Records).toHaveLength(3);
  expect(queueCounts(env)).toMatchObject({ inflight: 1, ready: 0 });

  await drain(env, poller, 15_000);
  const receives = seen.flatMap((e) => e.Records).filter((r) => r.messageId === failId);
  expect(receives.map((r) => r.attributes.ApproximateReceiveCount)).toEqual(["1", "2", "3"]);
  expect(receives[0]).toMatchObject({
    eventSource: "aws:sqs",
    eventSourceARN: env.queueArn,
    awsRegion: "us-east-1",
    body: "fail",
  });
  const dead = deadLetters(env);
  expect(dead.map((m) => m.body)).toEqual(["fail"]);
});

test("a reported id that is not in the batch fails the whole batch, as Lambda does; a crash does too", async () => {
  env.sqsServer.reset();
  const bogus = createPoller({
    sqs: env.sqs,
    queueUrl: env.queueUrl,
    queueArn: env.queueArn,
    handler: async () => ({ batchItemFailures: [{ itemIdentifier: "not-in-batch" }] }),
  });
  await sendBodies(env, ["a", "b"]);
  await bogus.pollOnce(1);
  expect(queueCounts(env).inflight).toBe(2);

  env.sqsServer.reset();
  const crashing = createPoller({
    sqs: env.sqs,
    queueUrl: env.queueUrl,
    queueArn: env.queueArn,
    handler: async () => {
      throw new Error("crash");
    },
  });
  await sendBodies(env, ["c"]);
  await crashing.pollOnce(1);
  expect(queueCounts(env).inflight).toBe(1);
});

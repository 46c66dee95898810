import { afterAll, beforeAll, expect, test } from "@jest/globals";
import type { SQSEvent } from "aws-lambda";
import { type LocalEnvironment, startLocalEnvironment } from "../../local/environment.js";
import { createPoller } from "../../local/poller.js";
import { sendBodies } from "../support/sqs.js";

/** The local event source's batching window behaves as Lambda's: the local run and the bench's latency rely on it. */
let env: LocalEnvironment;
beforeAll(async () => {
  env = await startLocalEnvironment({ standIn: false });
});
afterAll(() => env.close());

test("the batching window: a quiet queue's first record waits up to the window for company, as Lambda's event source does", async () => {
  const seen: { records: number; at: number }[] = [];
  const poller = createPoller({
    sqs: env.sqs,
    queueUrl: env.queueUrl,
    queueArn: env.queueArn,
    handler: async (event: SQSEvent) => {
      seen.push({ records: event.Records.length, at: Date.now() });
      return { batchItemFailures: [] };
    },
    batchSize: 10,
    maxBatchingWindowMs: 1_500,
  });
  const sent = Date.now();
  await sendBodies(env, ["first"]);
  setTimeout(() => void sendBodies(env, ["second"]), 400);
  await poller.pollOnce(1);
  // Both in one batch, invoked once the window closed (not as soon as the queue was momentarily empty).
  expect(seen.map((s) => s.records)).toEqual([2]);
  expect((seen[0]?.at ?? 0) - sent).toBeGreaterThanOrEqual(1_400);
  // A full batch does not wait for the window.
  await sendBodies(
    env,
    Array.from({ length: 10 }, (_, i) => `full-${i}`),
  );
  const before = Date.now();
  await poller.pollOnce(1);
  expect(seen.at(-1)?.records).toBe(10);
  expect(Date.now() - before).toBeLessThan(1_400);
});

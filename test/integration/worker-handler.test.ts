import { afterAll, beforeAll, expect, test } from "@jest/globals";
import { LOCAL_USER, type LocalEnvironment, startLocalEnvironment } from "../../local/environment.js";
import { createPoller, type InvokeInfo } from "../../local/poller.js";
import { createWorkerHandler, type IsolatedHandler } from "../../local/worker-handler.js";
import { standInOf } from "../support/bridge.js";
import { makeEvent } from "../support/events.js";
import { queueCounts, sendBodies } from "../support/sqs.js";

/**
 * The local poller stops an invocation as Lambda does: the handler runs in a worker thread of its own, and a
 * killed (or timed-out) invocation's thread is terminated, so it sends nothing more. A plain in-process handler
 * would go on sending after the poller gave up on it.
 */
const PAT = "pat-worker-3b9e";
const LATENCY_MS = 800;
let env: LocalEnvironment;
let isolated: IsolatedHandler;

beforeAll(async () => {
  env = await startLocalEnvironment({
    visibilityTimeoutSeconds: 60,
    standIn: { personalAccessTokens: { [PAT]: LOCAL_USER }, faults: { latencyMs: LATENCY_MS } },
  });
  isolated = await createWorkerHandler({
    env: {
      ...env.handlerEnv,
      CLARIFAI_PAT: PAT,
      // One annotation per request, one request at a time: five events make five requests in a row.
      MAX_ANNOTATIONS_PER_REQUEST: "1",
      MAX_CONCURRENT_REQUESTS: "1",
      REQUEST_TIMEOUT_MS: "5000",
      POWERTOOLS_LOG_LEVEL: "SILENT",
      POWERTOOLS_METRICS_DISABLED: "true",
    },
  });
});

afterAll(async () => {
  await isolated.close();
  await env.close();
});

test("a killed invocation is really stopped: no request leaves it after the kill, its batch comes back later", async () => {
  const invocations: InvokeInfo[] = [];
  const poller = createPoller({
    sqs: env.sqs,
    queueUrl: env.queueUrl,
    queueArn: env.queueArn,
    handler: isolated,
    batchSize: 10,
    maxBatchingWindowMs: 300,
    functionTimeoutMs: 20_000,
    onInvoke: (info) => invocations.push(info),
    // Killed in the middle of its second request; unstopped, it would send three more.
    chaos: { killInvocation: () => true, killAfterMs: LATENCY_MS * 1.5 + 400 },
  });
  await sendBodies(
    env,
    Array.from({ length: 5 }, () => JSON.stringify(makeEvent())),
  );

  await poller.pollOnce(1);
  expect(invocations[0]).toMatchObject({ records: 5, killed: true, crashed: true, deleted: 0 });
  const atKill = standInOf(env).requests.length;
  // Long enough for three more requests from a handler that was not stopped.
  await new Promise((r) => setTimeout(r, LATENCY_MS * 4));
  const posts = standInOf(env).requests.filter((r) => r.method === "POST");
  // The request in flight at the kill may still be answered by the server; nothing is sent after it.
  expect(posts.length).toBeLessThanOrEqual(atKill + 1);
  expect(posts.length).toBeLessThanOrEqual(3);
  expect(standInOf(env).annotations().length).toBeLessThan(5);
  // Nothing of the batch was deleted: it is in flight until its visibility timeout, as after a Lambda timeout.
  expect(queueCounts(env).inflight).toBe(5);

  // The next invocation gets a fresh environment (a cold start) that works.
  const fresh = await isolated.invoke({ Records: [] }, Date.now() + 5_000, "after-kill");
  expect(fresh).toEqual({ batchItemFailures: [] });
}, 30_000);

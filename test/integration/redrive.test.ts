import { afterAll, beforeAll, expect, test } from "@jest/globals";
import { main } from "../../bin/cli.js";
import { LOCAL_REGION, type LocalEnvironment, startLocalEnvironment } from "../../local/environment.js";
import type { InvokeInfo, Poller } from "../../local/poller.js";
import { loadBridge } from "../support/bridge.js";
import { makeEvent } from "../support/events.js";
import { deadLetters, queueCounts, sendBodies } from "../support/sqs.js";

/**
 * `dlq redrive` of poison messages while the handler runs: each message it moves is dead-lettered again at once,
 * and comes straight back to the DLQ. The redrive must still end, having moved each message exactly once.
 */
let env: LocalEnvironment;
let poller: Poller;
const invocations: InvokeInfo[] = [];
let running: Promise<void> | undefined;

beforeAll(async () => {
  env = await startLocalEnvironment();
  ({ poller } = await loadBridge(env, env.handlerEnv, invocations, { batchSize: 10 }));
});
afterAll(async () => {
  poller.stop();
  await running;
  await env.close();
});

test("a redrive of a poison DLQ against a running handler ends, moving each message once", async () => {
  const N = 60;
  // Poison: invalid events, dead-lettered on their first receive.
  const bodies = Array.from({ length: N }, (_, i) =>
    JSON.stringify({ ...makeEvent({ eventId: `poison-${i}` }), concepts: [{ id: "tree", value: 7 }] }),
  );
  await sendBodies(env, bodies);
  running = poller.start();
  const deadline = Date.now() + 20_000;
  // Every record handled and its invocation recorded (a dead letter is sent before its invocation returns).
  const seen = () => invocations.reduce((n, i) => n + i.records, 0);
  while ((deadLetters(env).length < N || seen() < N) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 50));
  expect(deadLetters(env)).toHaveLength(N);
  expect(seen()).toBe(N);
  const handled = seen();

  const out: string[] = [];
  const io = { out: (s: string) => out.push(s), err: () => undefined };
  const started = Date.now();
  const code = await main(
    [
      "dlq",
      "redrive",
      "--dlq-url",
      env.dlqUrl,
      "--queue-url",
      env.queueUrl,
      "--endpoint",
      env.sqsServer.address,
      "--region",
      LOCAL_REGION,
    ],
    io,
  );
  const seconds = (Date.now() - started) / 1000;
  expect(code).toBe(0);
  expect(seconds).toBeLessThan(30); // before: it never ended (316,028 moves in 11 minutes)
  expect(out.at(-1)).toMatch(new RegExp(`^moved ${N} message\\(s\\) to `));

  // Each message went back exactly once: the handler saw N more records, and the DLQ ends with the N bodies.
  const settle = Date.now() + 20_000;
  while (
    (queueCounts(env).ready + queueCounts(env).inflight > 0 || deadLetters(env).length < N) &&
    Date.now() < settle
  )
    await new Promise((r) => setTimeout(r, 50));
  expect(invocations.reduce((n, i) => n + i.records, 0) - handled).toBe(N);
  expect(
    deadLetters(env)
      .map((m) => m.body)
      .sort(),
  ).toEqual([...bodies].sort());
}, 90_000);

import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, expect, test } from "@jest/globals";
import { sqsValueProblem } from "../../lambda/delivery/sqs-safe.js";
import { LOCAL_USER, type LocalEnvironment, startLocalEnvironment } from "../../local/environment.js";
import type { InvokeInfo, Poller } from "../../local/poller.js";
import { loadBridge, standInOf } from "../support/bridge.js";
import { makeEvent } from "../support/events.js";
import { GOLDEN_MAPPING } from "../support/golden.js";
import { hostileBodies } from "../support/hostile.js";
import { captureStdout } from "../support/logs.js";
import { deadLetters, queueCounts } from "../support/sqs.js";

/**
 * No record can sink its neighbours: one batch holding every hostile body and valid events, through the real
 * queue, the real handler (with a mapping, so upstream bodies reach the adapters) and the stand-in over HTTP.
 */
const PAT = "pat-isolation-7e1f-SECRET";
let env: LocalEnvironment;
let poller: Poller;
const invocations: InvokeInfo[] = [];
let stdout: ReturnType<typeof captureStdout>;

beforeAll(async () => {
  env = await startLocalEnvironment({ standIn: { personalAccessTokens: { [PAT]: LOCAL_USER } } });
  stdout = captureStdout();
  ({ poller } = await loadBridge(
    env,
    { ...env.handlerEnv, CLARIFAI_PAT: PAT, BRIDGE_MAPPING: JSON.stringify(GOLDEN_MAPPING) },
    invocations,
    { batchSize: 100, maxBatchingWindowMs: 1_000 },
  ));
});

afterAll(async () => {
  stdout.restore();
  await env.close();
});

test("a batch of every hostile body and valid events: the valid ones land in that invocation, each hostile one is dead-lettered once with its body and a reason", async () => {
  const hostile = hostileBodies();
  const valid = Array.from({ length: 5 }, () => makeEvent());
  const entries: { body: string; attributes: Record<string, string>; name: string }[] = [
    ...hostile.map((h) => ({ body: h.body, attributes: h.attributes ?? {}, name: h.name })),
    ...valid.map((e) => ({ body: JSON.stringify(e), attributes: {}, name: `valid ${e.eventId}` })),
  ];
  const idToName = new Map<string, string>();
  // One at a time: several near-1 MiB bodies would not fit one SendMessageBatch.
  for (const e of entries) {
    const answer = await env.sqs.send(
      new SendMessageCommand({
        QueueUrl: env.queueUrl,
        MessageBody: e.body,
        MessageAttributes: Object.fromEntries(
          Object.entries(e.attributes).map(([k, v]) => [k, { DataType: "String", StringValue: v }]),
        ),
      }),
    );
    idToName.set(answer.MessageId as string, e.name);
  }

  await poller.pollOnce(1);

  expect(invocations).toHaveLength(1);
  expect(invocations[0]).toMatchObject({ records: entries.length, crashed: false });
  const stored = standInOf(env).annotations();
  for (const event of valid) expect(stored.some((s) => s.input_id === event.inputId)).toBe(true);
  const fine = hostile.filter((h) => h.fine);
  expect(invocations[0]?.failed).toBe(0);
  expect(queueCounts(env)).toEqual({ ready: 0, inflight: 0, delayed: 0 });

  const letters = deadLetters(env);
  const byName = new Map<string, typeof letters>();
  for (const letter of letters) {
    const name = idToName.get(letter.messageAttributes?.sourceMessageId?.StringValue ?? "") ?? "?";
    byName.set(name, [...(byName.get(name) ?? []), letter]);
  }
  for (const h of hostile) {
    const got = byName.get(h.name) ?? [];
    if (h.fine) {
      expect([h.name, got.length]).toEqual([h.name, 0]);
      continue;
    }
    expect([h.name, got.length]).toEqual([h.name, 1]);
    const letter = got[0];
    expect(letter?.body).toBe(h.body);
    expect(letter?.messageAttributes?.reason?.StringValue?.length).toBeGreaterThan(0);
    expect(letter?.messageAttributes?.errorCode?.StringValue).toMatch(/^[a-z-]+$/);
    for (const value of Object.values(letter?.messageAttributes ?? {}))
      expect(sqsValueProblem(value.StringValue ?? "")).toBeUndefined();
  }
  expect(letters).toHaveLength(hostile.length - fine.length);
  for (const line of stdout.lines()) expect(line).not.toContain(PAT);
}, 30_000);

import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "@jest/globals";
import { PROFILE_NAMES } from "../../local/clarifai/profiles.js";
import { type LocalEnvironment, startLocalEnvironment } from "../../local/environment.js";
import type { InvokeInfo, Poller } from "../../local/poller.js";
import { loadBridge, resetEnvironment } from "../support/bridge.js";
import { LS_INPUT, lsCreated, lsDeleted, lsMapping, lsUpdated } from "../support/label-studio.js";
import { captureStdout } from "../support/logs.js";
import { deadLetters, drain } from "../support/sqs.js";

/**
 * FIFO mode (the stack's `fifo` prop): messages of one group (the input id) reach the handler in the order they
 * were sent, one batch at a time, so a delete can never be overtaken by the create before it.
 */
let env: LocalEnvironment;
let poller: Poller;
const invocations: InvokeInfo[] = [];
let stdout: ReturnType<typeof captureStdout>;

beforeAll(async () => {
  env = await startLocalEnvironment({ fifo: true, maxReceiveCount: 3, visibilityTimeoutSeconds: 2 });
  stdout = captureStdout();
  ({ poller } = await loadBridge(
    env,
    { ...env.handlerEnv, BRIDGE_MAPPING: JSON.stringify(lsMapping), MAX_RECEIVE_COUNT: "3" },
    invocations,
    { batchSize: 1 },
  ));
});
afterAll(async () => {
  stdout.restore();
  await env.close();
});

describe.each(PROFILE_NAMES)("under the stand-in profile %s", (profileName) => {
  beforeAll(() => env.standIn?.setProfile(profileName));
  beforeEach(() => resetEnvironment(env, invocations));

  test("created, updated, deleted in one message group are applied in that order and end with nothing", async () => {
    expect(env.queueUrl.endsWith(".fifo")).toBe(true);
    const bodies = [lsCreated(), lsUpdated("2026-11-20T09:31:27.902114Z"), lsDeleted(4521)];
    for (const [i, body] of bodies.entries()) {
      await env.sqs.send(
        new SendMessageCommand({
          QueueUrl: env.queueUrl,
          MessageBody: body,
          MessageGroupId: LS_INPUT,
          // The same bodies under each profile: FIFO would drop them as duplicates within five minutes.
          MessageDeduplicationId: `${profileName}-${i}`,
        }),
      );
    }
    await drain(env, poller);

    expect(invocations.map((i) => [i.records, i.failed])).toEqual([
      [1, 0],
      [1, 0],
      [1, 0],
    ]);
    // Create (look up, POST the set), update (look up, PATCH the kept, DELETE the polygon), delete (look up the
    // task's annotations, DELETE the rest): exactly this sequence, which only the sent order produces. The task's
    // own read (GetTask, once per instance per expiry: task-work.test.ts) is left out.
    const calls = env.standIn?.requests.filter((r) => !r.path.includes("/tasks/"));
    expect(calls?.map((r) => `${r.method} ${r.annotations}`)).toEqual([
      "GET 0",
      "POST 3",
      "GET 0",
      "PATCH 2",
      "DELETE 1",
      "GET 0",
      "DELETE 2",
    ]);
    expect(env.standIn?.annotations()).toEqual([]);
    expect(deadLetters(env)).toHaveLength(0);
  });
});

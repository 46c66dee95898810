// Over 300 lines: the end-to-end path through the real queue, handler and stand-in, sharing one environment.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "@jest/globals";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import {
  LOCAL_APP,
  LOCAL_USER,
  type LocalEnvironment,
  startLocalEnvironment,
} from "../../local/environment.js";
import type { InvokeInfo, Poller, SqsHandler } from "../../local/poller.js";
import { loadBridge, resetEnvironment, standInOf } from "../support/bridge.js";
import { makeEvent } from "../support/events.js";
import { captureStdout } from "../support/logs.js";
import { deadLetters, drain, queueCounts, sendBodies } from "../support/sqs.js";

/** A key distinctive enough that finding it anywhere in the output is never a coincidence. */
const PAT = "pat-9f1c2e7a-SECRET-do-not-log";
const MAX_RECEIVE_COUNT = 3;

let env: LocalEnvironment;
let handler: SqsHandler;
let poller: Poller;
const invocations: InvokeInfo[] = [];
let stdout: ReturnType<typeof captureStdout>;

beforeAll(async () => {
  env = await startLocalEnvironment({
    maxReceiveCount: MAX_RECEIVE_COUNT,
    visibilityTimeoutSeconds: 2,
    standIn: { personalAccessTokens: { [PAT]: LOCAL_USER }, inputExists: (id) => !id.startsWith("missing-") },
  });
  stdout = captureStdout();
  ({ handler, poller } = await loadBridge(
    env,
    {
      ...env.handlerEnv,
      CLARIFAI_PAT: PAT,
      BACKOFF_BASE_SECONDS: "1",
      BACKOFF_CAP_SECONDS: "1",
      MAX_RECEIVE_COUNT: String(MAX_RECEIVE_COUNT),
      // A line per delivered record is DEBUG (INFO has one line per batch): these tests read those lines.
      POWERTOOLS_LOG_LEVEL: "DEBUG",
    },
    invocations,
    { batchSize: 10 },
  ));
});

afterAll(async () => {
  stdout.restore();
  await env.close();
});

beforeEach(() => resetEnvironment(env, invocations));

const standIn = () => standInOf(env);
const posts = () => standIn().requests.filter((r) => r.method === "POST");

describe("delivery", () => {
  test("a batch of ten events goes to Clarifai in one request, task-linked, negatives explicit", async () => {
    const events = Array.from({ length: 10 }, () => makeEvent());
    await sendBodies(
      env,
      events.map((e) => JSON.stringify(e)),
    );

    await drain(env, poller);

    expect(invocations).toHaveLength(1);
    expect(invocations[0]).toMatchObject({ records: 10, failed: 0, deleted: 10 });
    expect(posts()).toHaveLength(1);
    expect(posts()[0]).toMatchObject({
      path: `/v2/users/${LOCAL_USER}/apps/${LOCAL_APP}/annotations`,
      annotations: 10,
      httpStatus: 200,
    });
    const stored = standIn().annotations();
    expect(stored).toHaveLength(10);
    for (const event of events) {
      const annotation = stored.find((s) => s.input_id === event.inputId)?.annotation;
      expect(annotation).toMatchObject({
        task_id: event.taskId,
        annotation_info: { task_id: event.taskId, event_id: event.eventId, source: event.source },
        data: {
          concepts: [
            { id: "tree", value: 1 },
            { id: "water", value: 0 },
          ],
        },
      });
    }
    expect(deadLetters(env)).toHaveLength(0);
  });

  test("MIXED_STATUS fails only the records whose annotations failed, and pushes their next attempt out", async () => {
    const events = [makeEvent(), makeEvent({ inputId: "missing-asset" }), makeEvent()];
    const ids = await sendBodies(
      env,
      events.map((e) => JSON.stringify(e)),
    );
    standIn().faults.codesAsNames = true; // proto3 JSON allows enum names; the bridge must read both

    await poller.pollOnce(1);

    expect(posts()).toHaveLength(1);
    expect(posts()[0]?.httpStatus).toBe(207);
    expect(invocations[0]).toMatchObject({ records: 3, failed: 1, deleted: 2 });
    const inflight = env.sqsServer.inspectQueue(env.queueName)?.messages.inflight ?? [];
    expect(inflight.map((i) => i.message.messageId)).toEqual([ids[1]]);
    expect(
      standIn()
        .annotations()
        .map((a) => a.input_id)
        .sort(),
    ).toEqual([events[0]?.inputId, events[2]?.inputId].sort());
  });

  test("a throttled batch is retried after the server's Retry-After, then delivered", async () => {
    const events = [makeEvent(), makeEvent()];
    await sendBodies(
      env,
      events.map((e) => JSON.stringify(e)),
    );
    standIn().faults.script.push("throttle");
    standIn().faults.retryAfterSeconds = 2;

    const before = Date.now();
    await poller.pollOnce(1);
    expect(invocations[0]).toMatchObject({ records: 2, failed: 2, deleted: 0 });
    const inflight = env.sqsServer.inspectQueue(env.queueName)?.messages.inflight ?? [];
    expect(inflight).toHaveLength(2);
    // Visibility pushed out to at least Retry-After (the backoff alone would allow 1 s here).
    for (const item of inflight) expect(item.visibilityDeadline).toBeGreaterThanOrEqual(before + 2_000);

    await drain(env, poller);
    expect(standIn().annotations()).toHaveLength(2);
    expect(deadLetters(env)).toHaveLength(0);
  });

  test("a redelivered message whose first answer was lost creates no second annotation", async () => {
    const event = makeEvent();
    await sendBodies(env, [JSON.stringify(event)]);
    standIn().faults.script.push("lose-answer"); // Clarifai stored it, the answer never arrived

    await drain(env, poller);

    expect(invocations.length).toBeGreaterThanOrEqual(2);
    expect(standIn().annotations()).toHaveLength(1);
    // On the redelivery a GET found the annotation already there, so it was not posted a second time.
    expect(posts().map((p) => p.httpStatus)).toEqual([0]);
    expect(
      standIn()
        .requests.filter((r) => r.method === "GET")
        .map((r) => r.httpStatus),
    ).toEqual([200]);
    expect(deadLetters(env)).toHaveLength(0);
  });

  test("the same event sent twice by a producer ends as one annotation and no dead letter", async () => {
    const body = JSON.stringify(makeEvent());
    await sendBodies(env, [body]);
    await drain(env, poller);
    await sendBodies(env, [body]);
    await drain(env, poller);

    expect(standIn().annotations()).toHaveLength(1);
    expect(deadLetters(env)).toHaveLength(0);
  });
});

describe("dead letters", () => {
  test("a poison message is dead-lettered with its reason after exactly one receive and leaves the source queue", async () => {
    const good = makeEvent();
    const [, poisonId] = await sendBodies(env, [JSON.stringify(good), "{not json"]);

    await drain(env, poller);

    expect(invocations).toHaveLength(1);
    expect(queueCounts(env)).toEqual({ ready: 0, inflight: 0, delayed: 0 });
    const dead = deadLetters(env);
    expect(dead).toHaveLength(1);
    expect(dead[0]?.body).toBe("{not json");
    const attrs = dead[0]?.messageAttributes ?? {};
    expect(attrs.errorCode?.StringValue).toBe("invalid-json");
    expect(attrs.reason?.StringValue).toMatch(/not JSON/);
    expect(attrs.sourceMessageId?.StringValue).toBe(poisonId);
    expect(attrs.receiveCount?.StringValue).toBe("1");
    expect(standIn().annotations()).toHaveLength(1);
  });

  test("an invalid event is dead-lettered naming the field and the rule", async () => {
    const bad = { ...makeEvent(), concepts: [{ id: "tree", value: 1.5 }] };
    await sendBodies(env, [JSON.stringify(bad)]);

    await drain(env, poller);

    const reason = deadLetters(env)[0]?.messageAttributes?.reason?.StringValue;
    expect(reason).toMatch(/^concepts\[0\]\.value: .*<=1/);
    expect(posts()).toHaveLength(0);
  });

  test("after maxReceiveCount transient failures the message is in the dead-letter queue with the last reason", async () => {
    await sendBodies(env, [JSON.stringify(makeEvent())]);
    standIn().faults.serverErrorRate = 1;

    await drain(env, poller);

    expect(invocations).toHaveLength(MAX_RECEIVE_COUNT);
    const dead = deadLetters(env);
    expect(dead).toHaveLength(1);
    expect(dead[0]?.messageAttributes?.errorCode?.StringValue).toBe("retries-exhausted");
    expect(dead[0]?.messageAttributes?.reason?.StringValue).toMatch(/HTTP 503/);
    expect(dead[0]?.messageAttributes?.receiveCount?.StringValue).toBe(String(MAX_RECEIVE_COUNT));
    expect(standIn().annotations()).toHaveLength(0);
  });

  test("a request Clarifai rejects as a whole is split so one bad annotation cannot fail nine good ones", async () => {
    const goods = Array.from({ length: 9 }, () => makeEvent());
    // A Clarifai-native body whose concept value is a word: valid to our schema, refused by Clarifai's proto.
    const bad = {
      annotations: [
        {
          input_id: "asset-x",
          task_id: "task-street-audit",
          data: { concepts: [{ id: "tree", value: "high" }] },
        },
      ],
    };
    await sendBodies(env, [...goods.map((e) => JSON.stringify(e)), JSON.stringify(bad)]);

    await drain(env, poller);

    expect(standIn().annotations()).toHaveLength(9);
    const dead = deadLetters(env);
    expect(dead).toHaveLength(1);
    expect(JSON.parse(dead[0]?.body ?? "{}")).toEqual(bad);
    expect(dead[0]?.messageAttributes?.errorCode?.StringValue).toBe("clarifai-invalid-request");
    expect(posts()[0]).toMatchObject({ annotations: 10, httpStatus: 400 });
  });

  test("a Clarifai-native body is tracked per annotation: an invalid box dead-letters the record, the valid one lands", async () => {
    const body = {
      annotations: [
        {
          input_id: "asset-a",
          annotation_info: { task_id: "task-1" },
          data: { concepts: [{ id: "car", value: 1 }] },
        },
        {
          input_id: "asset-b",
          annotation_info: { task_id: "task-1" },
          data: {
            regions: [
              {
                region_info: {
                  bounding_box: { top_row: 0.6, left_col: 0.2, bottom_row: 0.5, right_col: 0.6 },
                },
                data: { concepts: [{ id: "car" }] },
              },
            ],
          },
        },
      ],
    };
    await sendBodies(env, [JSON.stringify(body)]);

    await drain(env, poller);

    expect(
      standIn()
        .annotations()
        .map((a) => a.input_id),
    ).toEqual(["asset-a"]);
    expect(standIn().annotations()[0]?.annotation).toMatchObject({
      task_id: "task-1",
      annotation_info: { task_id: "task-1" },
    });
    const dead = deadLetters(env);
    expect(dead).toHaveLength(1);
    expect(dead[0]?.messageAttributes?.errorCode?.StringValue).toBe("clarifai-invalid-argument");
    expect(dead[0]?.messageAttributes?.reason?.StringValue).toMatch(/1 of 2 annotations failed.*24155/);
  });
});

describe("robustness", () => {
  test("a handler crash reports every record as failed; nothing is deleted", async () => {
    const event: SQSEvent = {
      Records: [
        {
          messageId: "m-1",
          receiptHandle: "r-1",
          body: JSON.stringify(makeEvent()),
          attributes: {
            ApproximateReceiveCount: "1",
            SentTimestamp: "0",
            SenderId: "x",
            ApproximateFirstReceiveTimestamp: "0",
          },
          messageAttributes: {},
          md5OfBody: "",
          eventSource: "aws:sqs",
          eventSourceARN: env.queueArn,
          awsRegion: "us-east-1",
        },
      ],
    };
    // A context whose clock breaks after middy's own first read makes the handler fail in the middle of its work.
    let reads = 0;
    const context = {
      getRemainingTimeInMillis: () => {
        if (++reads > 1) throw new Error("boom");
        return 30_000;
      },
    } as never;
    const response = (await handler(event, context)) as SQSBatchResponse;
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: "m-1" }]);
  });

  test("the Clarifai key never appears in any log line or dead-letter message", async () => {
    await sendBodies(env, [
      JSON.stringify(makeEvent()),
      "garbage",
      JSON.stringify(makeEvent({ inputId: "missing-1" })),
    ]);
    standIn().faults.script.push({
      httpStatus: 401,
      body: { status: { code: 11008, description: "API key is invalid" } },
    });
    await drain(env, poller);

    const lines = stdout.lines();
    expect(lines.length).toBeGreaterThan(5); // the logs were captured, so their absence of the key means something
    expect(lines.some((l) => l.includes('"record delivered"'))).toBe(true);
    expect(lines.some((l) => l.includes('"batch done"'))).toBe(true);
    for (const line of lines) expect(line).not.toContain(PAT);
    for (const message of deadLetters(env)) expect(JSON.stringify(message)).not.toContain(PAT);
  });

  test("every log line about a record names its message id, event id, task id and input id", async () => {
    const event = makeEvent();
    const [messageId] = await sendBodies(env, [JSON.stringify(event)]);
    await drain(env, poller);
    const line = stdout
      .lines()
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.messageId === messageId);
    expect(line).toMatchObject({
      message: "record delivered",
      eventId: event.eventId,
      taskId: event.taskId,
      inputId: event.inputId,
    });
  });
});

import { afterAll, beforeAll, beforeEach, describe, expect, test } from "@jest/globals";
import { LOCAL_USER, type LocalEnvironment, startLocalEnvironment } from "../../local/environment.js";
import type { InvokeInfo, Poller } from "../../local/poller.js";
import { createPoller } from "../../local/poller.js";
import { createWorkerHandler } from "../../local/worker-handler.js";
import { loadBridge, standInOf } from "../support/bridge.js";
import { makeEvent } from "../support/events.js";
import { LS_INPUT, lsCreated } from "../support/label-studio.js";
import { captureStdout } from "../support/logs.js";
import { deadLetters, drain, sendBodies } from "../support/sqs.js";

/**
 * Each labeler's work in Clarifai's task (Task Annotations: "all the annotations of this user related to this
 * task should be linked to the task id"): mapped labelers post as their Clarifai user, statuses follow the task's
 * review or the mapping's override, unknown tasks are dead-lettered on first receive, a collaborator's key is told
 * the app-owner rule. Real SQS (fauxqs), the real handler, the stand-in with tasks; every body it receives is
 * checked against Clarifai's protos (`worker` and `status` included).
 */
const TASKS = {
  "review-none": { review: "NONE", workers: ["ana", "bo"] },
  "review-manual": { review: "MANUAL", workers: ["ana"] },
  "review-consensus": { review: "CONSENSUS", workers: ["ana", "bo"] },
  "manual-as-success": { review: "MANUAL", workers: ["ana", "bo"] },
  "street-audit": { review: "MANUAL", workers: [] },
  "cache-probe": { review: "NONE", workers: [] },
  "unreadable-task": { review: "MANUAL", workers: [] },
} as const;
const MAPPING = {
  projects: {
    "label-studio:12": { taskId: "street-audit", labels: { Car: "car" }, status: "pending" },
  },
  labelers: { "test-suite:lab-ana": "ana", "BO@example.com": "bo", "label-studio:7": "ana" },
  tasks: { "manual-as-success": { status: "success" } },
};

let env: LocalEnvironment;
let poller: Poller;
const invocations: InvokeInfo[] = [];
let stdout: ReturnType<typeof captureStdout>;

beforeAll(async () => {
  env = await startLocalEnvironment({ visibilityTimeoutSeconds: 2, standIn: { tasks: TASKS } });
  stdout = captureStdout();
  ({ poller } = await loadBridge(
    env,
    { ...env.handlerEnv, BRIDGE_MAPPING: JSON.stringify(MAPPING), POWERTOOLS_METRICS_DISABLED: "false" },
    invocations,
    { batchSize: 128, maxBatchingWindowMs: 300 },
  ));
});
afterAll(async () => {
  stdout.restore();
  await env.close();
});
beforeEach(() => {
  env.sqsServer.reset();
  const standIn = standInOf(env);
  standIn.reset();
  standIn.setProfile("default");
  standIn.access.keyIsAppOwner = true;
  invocations.length = 0;
});

const send = (...events: object[]) =>
  sendBodies(
    env,
    events.map((e) => JSON.stringify(e)),
  );
const held = (taskId: string) =>
  standInOf(env)
    .annotations()
    .filter((a) => (a.annotation as { task_id?: string }).task_id === taskId)
    .map((a) => a.annotation as { worker?: { user?: { id?: string } }; status?: { code?: number } });
const noProtoRefusals = () =>
  expect(standInOf(env).requests.filter((r) => r.code === 11100 || r.httpStatus === 400)).toEqual([]);

test("mapped labelers' work is theirs, in tasks of three review strategies, with the status each review expects", async () => {
  const ana = { id: "lab-ana" };
  const bo = { id: "u-17", email: "bo@example.com" };
  await send(
    makeEvent({ taskId: "review-none", labeler: ana }),
    makeEvent({ taskId: "review-none", labeler: bo }),
    makeEvent({ taskId: "review-manual", labeler: ana }),
    makeEvent({ taskId: "review-consensus", labeler: bo }),
  );
  await drain(env, poller);
  expect(deadLetters(env)).toHaveLength(0);
  noProtoRefusals();
  const rows = standInOf(env)
    .work()
    .map((r) => `${r.taskId} ${r.worker} ${r.status} ${r.count}`);
  expect(rows).toEqual([
    "review-consensus bo ANNOTATION_AWAITING_CONSENSUS_REVIEW 1",
    "review-manual ana ANNOTATION_AWAITING_REVIEW 1",
    "review-none ana ANNOTATION_SUCCESS 1",
    "review-none bo ANNOTATION_SUCCESS 1",
  ]);
  // The body sent carries worker and status as Clarifai's protos name them.
  const posted = held("review-manual")[0] as Record<string, unknown>;
  expect(posted.worker).toEqual({ user: { id: "ana" } });
  expect((posted.annotation_info as { labeler?: unknown }).labeler).toEqual(ana);
});

test("overrides: a task's fixed status wins over its review; a project's applies to its upstream payloads", async () => {
  await send(makeEvent({ taskId: "manual-as-success", labeler: { id: "lab-ana" } }));
  await sendBodies(env, [lsCreated(4601)]);
  await drain(env, poller);
  expect(deadLetters(env)).toHaveLength(0);
  expect(held("manual-as-success").map((a) => a.status?.code)).toEqual([24150]);
  // Label Studio project 12 says "pending"; its labeler (completed_by 7) maps to ana.
  const ls = standInOf(env)
    .annotations()
    .filter((a) => a.input_id === LS_INPUT)
    .map((a) => a.annotation as { status?: { code?: number }; worker?: { user?: { id?: string } } });
  expect(ls.length).toBeGreaterThan(0);
  expect(new Set(ls.map((a) => a.status?.code))).toEqual(new Set([24151]));
  expect(new Set(ls.map((a) => a.worker?.user?.id))).toEqual(new Set(["ana"]));
});

test("an unmapped labeler posts as the key's owner by default; annotation_info keeps who it was", async () => {
  await send(makeEvent({ taskId: "review-none", labeler: { id: "stranger", email: "s@example.com" } }));
  await drain(env, poller);
  const [a] = held("review-none") as Record<string, unknown>[];
  expect(a?.worker).toEqual({ user: { id: LOCAL_USER } });
  expect((a?.annotation_info as { labeler?: unknown } | undefined)?.labeler).toEqual({
    id: "stranger",
    email: "s@example.com",
  });
});

test("a mapped labeler who is not one of the task's workers is posted anyway and counted", async () => {
  const before = stdout.lines().length;
  await send(makeEvent({ taskId: "review-manual", labeler: { id: "x", email: "bo@example.com" } }));
  await drain(env, poller);
  expect(held("review-manual").map((a) => a.worker?.user?.id)).toEqual(["bo"]);
  const lines = stdout.lines().slice(before);
  expect(lines.some((l) => l.includes('"LabelerNotTaskWorker"'))).toBe(true);
  expect(lines.some((l) => l.includes("not a worker of") && l.includes('"clarifaiUserId":"bo"'))).toBe(true);
});

test("an update of an annotation that review denied goes back to review", async () => {
  const created = makeEvent({
    taskId: "review-manual",
    labeler: { id: "lab-ana" },
    annotationId: "ann-denied",
  });
  await send(created);
  await drain(env, poller);
  const stored = standInOf(env)
    .annotations()
    .find((a) => a.id === "ann-denied");
  if (!stored) throw new Error("the annotation was not stored");
  expect((stored.annotation as { status?: { code?: number } }).status?.code).toBe(24157);
  // A reviewer denies it in Clarifai.
  (stored.annotation as Record<string, unknown>).status = { code: 24158 };
  await send({
    ...created,
    eventId: `${created.eventId}-u`,
    type: "annotation.updated",
    occurredAt: "2026-11-21T09:00:00.000Z",
  });
  await drain(env, poller);
  const after = standInOf(env)
    .annotations()
    .find((a) => a.id === "ann-denied");
  expect((after?.annotation as { status?: { code?: number } } | undefined)?.status?.code).toBe(24157);
  expect(standInOf(env).requests.some((r) => r.method === "PATCH")).toBe(true);
  noProtoRefusals();
});

test("one GetTask per task per expiry: a batch of 128 records of one task reads it once", async () => {
  await send(...Array.from({ length: 128 }, () => makeEvent({ taskId: "cache-probe" })));
  await drain(env, poller);
  expect(invocations.reduce((n, i) => n + i.records, 0)).toBe(128);
  const gets = () =>
    standInOf(env).requests.filter((r) => r.method === "GET" && r.path.endsWith("/tasks/cache-probe"));
  expect(gets()).toHaveLength(1);
  expect(held("cache-probe")).toHaveLength(128);
  // Later batches in the same instance use the cached read.
  await send(makeEvent({ taskId: "cache-probe" }));
  await drain(env, poller);
  expect(gets()).toHaveLength(1);
});

describe.each(["task-missing", "failure-404", "task-missing-400"] as const)(
  "an unknown task (GetTask answers as %s)",
  (unknownTask) => {
    test("is dead-lettered on first receive with unknown-task, naming the task and the app; nothing is posted", async () => {
      standInOf(env).setProfile({ ...standInOf(env).behaviour, unknownTask });
      const taskId = `no-such-task-${unknownTask}`;
      await send(makeEvent({ taskId }), makeEvent({ taskId: "review-none" }));
      await drain(env, poller);
      const letters = deadLetters(env);
      expect(letters).toHaveLength(1);
      const attrs = letters[0]?.messageAttributes ?? {};
      expect(attrs.errorCode?.StringValue).toBe("unknown-task");
      expect(attrs.errorReason?.StringValue ?? attrs.reason?.StringValue).toContain(
        `task "${taskId}" does not exist in app local-user/local-app`,
      );
      expect(invocations.every((i) => i.records > 0)).toBe(true);
      expect(invocations).toHaveLength(1); // first receive: no retries
      expect(standInOf(env).requests.filter((r) => r.method === "POST")).toHaveLength(1); // only the good one
      expect(held("review-none")).toHaveLength(1);
    });
  },
);

test("a task the key may not read: posted without a status (Clarifai's default), and the log and metric say so", async () => {
  const before = stdout.lines().length;
  const taskId = "unreadable-task"; // not read yet in this instance: the scripted answer meets its GetTask
  // Here a POST without a status gets the task's review state: so the stored state tells that none was sent.
  standInOf(env).setProfile({ ...standInOf(env).behaviour, plainPostStatus: "from-task" });
  standInOf(env).faults.script.push({
    httpStatus: 403,
    body: { status: { code: 54103, description: "Task permission denied" } },
  });
  await send(makeEvent({ taskId, labeler: { id: "lab-ana" } }));
  await drain(env, poller);
  expect(deadLetters(env)).toHaveLength(0);
  const posted = standInOf(env).annotations()[0]?.annotation as Record<string, unknown>;
  expect(posted.worker).toEqual({ user: { id: "ana" } });
  expect(posted.status).toMatchObject({ code: 24157 }); // Clarifai's own choice for a MANUAL task
  expect(invocations).toHaveLength(1);
  const sentBodies = standInOf(env).requests.filter((r) => r.method === "POST");
  expect(sentBodies).toHaveLength(1);
  const lines = stdout.lines().slice(before);
  expect(
    lines.some((l) => l.includes("task could not be read") && l.includes("TASK_PERMISSION_DENIED")),
  ).toBe(true);
  expect(lines.some((l) => l.includes('"TaskStatusFallback"') && l.includes("clarifai-default"))).toBe(true);
});

test("a collaborator's key: a mapped labeler's annotation is dead-lettered with the app-owner rule; the key's own work goes through", async () => {
  standInOf(env).access.keyIsAppOwner = false;
  await send(
    makeEvent({ taskId: "review-none", labeler: { id: "lab-ana" } }),
    makeEvent({ taskId: "review-none", labeler: { id: "nobody-mapped" } }),
  );
  await drain(env, poller);
  const letters = deadLetters(env);
  expect(letters).toHaveLength(1);
  const attrs = letters[0]?.messageAttributes ?? {};
  expect(attrs.errorCode?.StringValue).toBe("worker-not-allowed");
  const reason = attrs.errorReason?.StringValue ?? attrs.reason?.StringValue ?? "";
  expect(reason).toContain("only the app owner's key may post annotations for another user");
  expect(reason).toContain('"ana"');
  expect(invocations).toHaveLength(1);
  expect(held("review-none").map((a) => a.worker?.user?.id)).toEqual([LOCAL_USER]);
});

test("under whole-request refusals too, the collaborator's refused annotation is found by halving, the others delivered", async () => {
  const standIn = standInOf(env);
  standIn.setProfile("whole-request");
  standIn.access.keyIsAppOwner = false;
  await send(
    makeEvent({ taskId: "review-none", labeler: { id: "lab-ana" } }),
    ...Array.from({ length: 5 }, () => makeEvent({ taskId: "review-none" })),
  );
  await drain(env, poller);
  expect(deadLetters(env).map((l) => l.messageAttributes?.errorCode?.StringValue)).toEqual([
    "worker-not-allowed",
  ]);
  expect(held("review-none")).toHaveLength(5);
});

describe("unmappedLabelers: dead-letter (the handler in an environment of its own)", () => {
  test("an unmapped labeler is refused with unmapped-labeler naming them; a mapped one goes through", async () => {
    const handler = await createWorkerHandler({
      env: {
        ...env.handlerEnv,
        BRIDGE_MAPPING: JSON.stringify({ ...MAPPING, unmappedLabelers: "dead-letter" }),
      },
      quiet: true,
    });
    const isolated = createPoller({
      sqs: env.sqs,
      queueUrl: env.queueUrl,
      queueArn: env.queueArn,
      handler,
      onInvoke: (info) => invocations.push(info),
    });
    try {
      await send(
        makeEvent({ taskId: "review-none", labeler: { id: "stranger", email: "s@example.com" } }),
        makeEvent({ taskId: "review-none", labeler: { id: "lab-ana" } }),
      );
      await drain(env, isolated);
      const letters = deadLetters(env);
      expect(letters.map((l) => l.messageAttributes?.errorCode?.StringValue)).toEqual(["unmapped-labeler"]);
      const reason =
        letters[0]?.messageAttributes?.errorReason?.StringValue ??
        letters[0]?.messageAttributes?.reason?.StringValue ??
        "";
      expect(reason).toContain("test-suite:stranger (s@example.com)");
      expect(held("review-none").map((a) => a.worker?.user?.id)).toEqual(["ana"]);
    } finally {
      await handler.close();
    }
  }, 60_000);
});

// Over 300 lines: the puller end to end (Label Studio reconciliation, CVAT jobs, the scheduled audit) against one local environment, so its suites share the servers they start.
import { readFileSync } from "node:fs";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "@jest/globals";
import type { Context, ScheduledEvent, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { taskBodies } from "../../lambda/pull/label-studio-reconcile.js";
import {
  LOCAL_AWS_CREDENTIALS,
  LOCAL_REGION,
  type LocalEnvironment,
  startLocalEnvironment,
} from "../../local/environment.js";
import { lambdaContext } from "../../local/lambda-context.js";
import type { InvokeInfo, Poller } from "../../local/poller.js";
import { startUpstreamApis, type UpstreamApis } from "../../local/upstream-apis.js";
import { deleteByHand, loadBridge, standInOf } from "../support/bridge.js";
import { LS_INPUT, lsMapping } from "../support/label-studio.js";
import { deadLetters, drain, queueCounts, sendBodies } from "../support/sqs.js";

/**
 * The puller end to end, over real HTTP and the local SQS and S3: Label Studio's API and CVAT's answer as they do
 * (local/upstream-apis.ts), the puller queues what they hold, and the real handler takes it to the Clarifai
 * stand-in. What a dropped webhook lost is recovered once, re-runs change nothing, a crash mid-run resumes where it
 * stopped, and a completed CVAT job becomes one annotation set per frame.
 */
const TOKEN = "upstream-api-token-for-tests";
const BUCKET = "bridge-puller-state";
let env: LocalEnvironment;
let apis: UpstreamApis;
let poller: Poller;
const invocations: InvokeInfo[] = [];
type PullerHandler = (
  event: ScheduledEvent | SQSEvent,
  context: Context,
) => Promise<SQSBatchResponse | { enqueued: number }>;
let puller: PullerHandler;

const lsFixture = JSON.parse(readFileSync("test/fixtures/upstream/label-studio-created.json", "utf8"));
const cvatApi = (f: string) => JSON.parse(readFileSync(`test/fixtures/upstream/cvat-api/${f}`, "utf8"));

beforeAll(async () => {
  env = await startLocalEnvironment({ visibilityTimeoutSeconds: 2 });
  apis = await startUpstreamApis(TOKEN);
  const s3 = new S3Client({
    region: LOCAL_REGION,
    endpoint: env.sqsServer.address,
    forcePathStyle: true,
    credentials: LOCAL_AWS_CREDENTIALS,
  });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  s3.destroy();
  const mapping = {
    projects: { ...lsMapping.projects, "cvat:5": { taskId: "street-audit", unsupported: "skip" } },
  };
  ({ poller } = await loadBridge(
    env,
    {
      ...env.handlerEnv,
      BRIDGE_MAPPING: JSON.stringify(mapping),
      POWERTOOLS_LOG_LEVEL: "SILENT",
      POWERTOOLS_METRICS_DISABLED: "true",
      // The puller's settings, read when its entry file is imported below.
      QUEUE_URL: env.queueUrl,
      AWS_ENDPOINT_URL_S3: env.sqsServer.address,
      PULLER_STATE_BUCKET: BUCKET,
      PULLER_TOKENS: JSON.stringify({ labelStudio: TOKEN, cvat: TOKEN }),
      PULLER_CONFIG: JSON.stringify({
        labelStudio: { url: apis.url, projects: [12], pageSize: 2, overlapSeconds: 60 },
        cvat: { url: apis.url },
        requestsPerSecond: 50,
        audit: { clarifaiRequestsPerSecond: 15 },
      }),
    },
    invocations,
    { batchSize: 10 },
  ));
  puller = ((await import("../../lambda/puller.js")) as unknown as { handler: PullerHandler }).handler;
});

afterAll(async () => {
  await apis?.close();
  await env?.close();
});

beforeEach(() => {
  apis.labelStudio.clear();
  apis.requests.length = 0;
});

const scheduled = { "detail-type": "Scheduled Event", source: "aws.events" } as unknown as ScheduledEvent;
const run = () => puller(scheduled, lambdaContext("pull", Date.now() + 60_000));
const stored = () => standInOf(env).annotations();
/** A Label Studio time (six fractional digits) this many minutes ago. */
const lsTime = (minutesAgo: number) =>
  new Date(Date.now() - minutesAgo * 60_000).toISOString().replace(/Z$/, "456Z");

/** A Label Studio task as `GET /api/tasks?fields=all` returns it: the fixture's task with its annotations. */
function lsTask(id: number, minute: number, annotations: { id: number; x?: number }[]) {
  return {
    ...lsFixture.task,
    id,
    updated_at: lsTime(minute),
    data: { ...lsFixture.task.data, clarifai_input_id: id === 3307 ? LS_INPUT : `sku-${id}` },
    annotations: annotations.map((a) => ({
      ...lsFixture.annotation,
      id: a.id,
      task: id,
      updated_at: lsTime(minute),
      result: lsFixture.annotation.result.map((r: { value: Record<string, unknown> }) => ({
        ...r,
        value: { ...r.value, ...(a.x !== undefined && "x" in r.value ? { x: a.x } : {}) },
      })),
    })),
    predictions: [],
    drafts: [],
  };
}

describe("Label Studio reconciliation", () => {
  test("an annotation whose webhook was lost reaches Clarifai; a re-run changes nothing; an update and a delete follow", async () => {
    // Minutes ago (the first run starts a day back): created 30, moved 25, deleted 21.
    const minute = (m: number) => 30 - m;
    apis.labelStudio.set(12, [lsTask(3307, minute(0), [{ id: 4521 }])]);
    expect(await run()).toMatchObject({ enqueued: 1 });
    await drain(env, poller);
    const first = stored().filter((a) => a.input_id === LS_INPUT);
    expect(first.length).toBeGreaterThan(0);

    // Nothing changed upstream: nothing is queued (the overlap window re-reads the task and skips it).
    expect(await run()).toMatchObject({ enqueued: 0 });
    expect(queueCounts(env).ready).toBe(0);

    // The box moved (the webhook was lost again): the set is replaced, not doubled.
    apis.labelStudio.set(12, [lsTask(3307, minute(5), [{ id: 4521, x: 40 }])]);
    expect(await run()).toMatchObject({ enqueued: 1 });
    await drain(env, poller);
    const moved = stored().filter((a) => a.input_id === LS_INPUT);
    expect(moved.map((a) => a.id).sort()).toEqual(first.map((a) => a.id).sort());
    const box = (list: typeof first) =>
      JSON.stringify(list.map((a) => (a.annotation.data as { regions?: unknown })?.regions).filter(Boolean));
    expect(box(moved)).not.toEqual(box(first));

    // The annotation was deleted in Label Studio: the task changed and no longer lists it.
    apis.labelStudio.set(12, [lsTask(3307, minute(9), [])]);
    expect(await run()).toMatchObject({ enqueued: 1 });
    await drain(env, poller);
    expect(stored().filter((a) => a.input_id === LS_INPUT)).toEqual([]);
    expect(deadLetters(env)).toEqual([]);
  });

  test("a run that fails mid-way (the API answers 500 on page two) resumes where it stopped, queueing each once", async () => {
    apis.labelStudio.set(
      12,
      Array.from({ length: 5 }, (_, i) => lsTask(5000 + i, 20 - i, [{ id: 9000 + i }])),
    );
    // A fresh project state: another project id would need its own mapping, so start from a clean bucket key.
    await resetState();
    apis.failNext("/api/tasks", 500, 1, 1);
    await expect(run()).rejects.toThrow(/reconciliation failed for project\(s\) 12/);
    expect(queueCounts(env).ready).toBe(2); // page one was queued, and its progress stored

    expect(await run()).toMatchObject({ enqueued: 3 });
    const queued = queueCounts(env).ready;
    expect(queued).toBe(5);
    await drain(env, poller);
    for (let i = 0; i < 5; i++) expect(stored().some((a) => a.input_id === `sku-${5000 + i}`)).toBe(true);
  });

  test("a stale read never rolls Clarifai back: the webhook's newer version stays", async () => {
    await resetState();
    // The webhook delivered the newer version (the box at x=60) ...
    const newer = lsTask(3307, 10, [{ id: 4522, x: 60 }]);
    const { annotations: newerAnnotations, ...newerTask } = newer;
    await sendBodies(env, [
      JSON.stringify({
        action: "ANNOTATION_UPDATED",
        annotation: { ...newerAnnotations[0], project: 12 },
        task: newerTask,
        project: { id: 12 },
      }),
    ]);
    await drain(env, poller);
    const boxes = () =>
      JSON.stringify(
        stored()
          .filter((a) => a.input_id === LS_INPUT)
          .map((a) => (a.annotation.data as { regions?: unknown })?.regions)
          .filter(Boolean),
      );
    const afterWebhook = boxes();
    expect(afterWebhook).toContain("0.6");
    // ... and then the reconciler reads an older one (a lagging replica, or a page read before the edit).
    apis.labelStudio.set(12, [lsTask(3307, 15, [{ id: 4522, x: 20 }])]);
    expect(await run()).toMatchObject({ enqueued: 1 });
    await drain(env, poller);
    expect(boxes()).toEqual(afterWebhook);
    expect(deadLetters(env)).toEqual([]);
  });

  test("the puller re-reading what the webhook delivered (the same updated_at, queued as an update) writes nothing", async () => {
    await resetState();
    standInOf(env).reset();
    const task = lsTask(3307, 12, [{ id: 4524, x: 33 }]);
    const { annotations, ...taskPart } = task;
    // The webhook delivered the annotation as created ...
    await sendBodies(env, [
      JSON.stringify({
        action: "ANNOTATION_CREATED",
        annotation: { ...annotations[0], project: 12 },
        task: taskPart,
        project: { id: 12 },
      }),
    ]);
    await drain(env, poller);
    const held = () =>
      stored()
        .filter((a) => a.input_id === LS_INPUT)
        .map((a) => ({
          id: a.id,
          eventId: (a.annotation.annotation_info as { event_id?: string }).event_id,
          data: JSON.stringify(a.annotation.data),
        }))
        .sort((a, b) => a.id.localeCompare(b.id));
    const before = held();
    expect(before.length).toBeGreaterThan(0);
    expect(before.every((a) => a.eventId?.includes(":created:"))).toBe(true);
    const requests = standInOf(env).requests.length;
    // ... and the puller's first run reads it again within its window, queueing it as ANNOTATION_UPDATED.
    apis.labelStudio.set(12, [task]);
    expect(await run()).toMatchObject({ enqueued: 1 });
    await drain(env, poller);
    const after = standInOf(env).requests.slice(requests);
    // A lookup, and no write: the same event id, region ids and content (docs/tools/puller.md: "changes nothing").
    expect(after.filter((r) => r.method !== "GET")).toEqual([]);
    expect(held()).toEqual(before);
    expect(deadLetters(env)).toEqual([]);
  });
});

describe("the scheduled audit", () => {
  test("compares each project with its Clarifai task: clean after delivery; a hand deletion and a lost update counted", async () => {
    standInOf(env).reset();
    const tasks = [lsTask(3701, 20, [{ id: 4701 }]), lsTask(3702, 20, [{ id: 4702 }])];
    apis.labelStudio.set(12, tasks);
    // Delivered as their webhooks would (this puller's reconciliation state is the other tests').
    await sendBodies(
      env,
      tasks.flatMap((t) => taskBodies(t, undefined, 12).bodies),
    );
    await drain(env, poller);
    type AuditResult = { audited: { projectId: number; taskId: string; totals: Record<string, number> }[] };
    const audit = () =>
      puller(
        { audit: true } as unknown as ScheduledEvent,
        lambdaContext("audit", Date.now() + 300_000),
      ) as Promise<unknown> as Promise<AuditResult>;
    const clean = await audit();
    const held = stored().length;
    expect(clean.audited).toEqual([
      {
        projectId: 12,
        taskId: "street-audit",
        totals: expect.objectContaining({ inTool: held, inClarifai: held, missing: 0, stale: 0, extra: 0 }),
      },
    ]);
    // Annotation 4702 moved in Label Studio (its webhook lost, the puller not run yet), and one of 4701's set was
    // deleted in Clarifai by hand.
    apis.labelStudio.set(12, [tasks[0] as (typeof tasks)[number], lsTask(3702, 10, [{ id: 4702, x: 60 }])]);
    const victim = stored().find((a) => a.input_id === "sku-3701") as { id: string; input_id: string };
    await deleteByHand(env, [victim]);
    const found = await audit();
    expect(found.audited[0]?.totals).toMatchObject({
      missing: 1,
      stale: stored().filter((a) => a.input_id === "sku-3702").length,
    });
  });
});

describe("CVAT jobs", () => {
  test("a completed job's pull request becomes one annotation set per frame, unsupported shapes recorded", async () => {
    apis.cvat.set("/api/jobs/41", cvatApi("job-41.json"));
    apis.cvat.set("/api/labels?job_id=41&page_size=500", cvatApi("labels-41.json"));
    apis.cvat.set("/api/jobs/41/data/meta", cvatApi("meta-41.json"));
    apis.cvat.set("/api/jobs/41/annotations", cvatApi("annotations-41.json"));
    const record = {
      messageId: "pull-1",
      body: JSON.stringify({ cvat: "pull-job", jobId: 41 }),
    } as SQSEvent["Records"][number];
    expect(await puller({ Records: [record] }, lambdaContext("pull", Date.now() + 60_000))).toEqual({
      batchItemFailures: [],
    });
    expect(queueCounts(env).ready).toBe(3);
    await drain(env, poller);
    const byInput = (input: string) => stored().filter((a) => a.input_id === input);
    expect(byInput("IMG_0101")).toHaveLength(2); // two boxes, one of them rotated (a polygon)
    expect(byInput("IMG_0102")).toHaveLength(1); // the tag
    expect(byInput("IMG_0103")).toHaveLength(2); // the polygon and the point; the polyline skipped and recorded
    expect(JSON.stringify(byInput("IMG_0103"))).toContain("bridge_skipped");
    expect(deadLetters(env)).toEqual([]);

    // Pulled again (the job re-completed, unchanged): nothing doubles.
    await puller({ Records: [record] }, lambdaContext("pull", Date.now() + 60_000));
    await drain(env, poller);
    expect(byInput("IMG_0101")).toHaveLength(2);
  });

  test("a job CVAT cannot answer for is reported failed (retried from the pull queue), not lost", async () => {
    const record = { messageId: "pull-2", body: JSON.stringify({ cvat: "pull-job", jobId: 404 }) };
    expect(
      await puller(
        { Records: [record as SQSEvent["Records"][number]] },
        lambdaContext("pull", Date.now() + 60_000),
      ),
    ).toEqual({ batchItemFailures: [{ itemIdentifier: "pull-2" }] });
  });
});

async function resetState(): Promise<void> {
  const { DeleteObjectCommand } = await import("@aws-sdk/client-s3");
  const s3 = new S3Client({
    region: LOCAL_REGION,
    endpoint: env.sqsServer.address,
    forcePathStyle: true,
    credentials: LOCAL_AWS_CREDENTIALS,
  });
  await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: "label-studio/project-12.json" }));
  s3.destroy();
}

import { readFileSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "@jest/globals";
import type { AuditOutcome } from "../../bin/cli/audit.js";
import { main } from "../../bin/cli.js";
import { createClarifaiClient } from "../../lambda/clarifai/client.js";
import { createJsonGetter } from "../../lambda/pull/edges.js";
import { taskBodies } from "../../lambda/pull/label-studio-reconcile.js";
import { readCvatJob } from "../../lambda/pull/run-pull.js";
import { PROFILE_NAMES } from "../../local/clarifai/profiles.js";
import {
  LOCAL_APP,
  LOCAL_AWS_CREDENTIALS,
  LOCAL_PAT,
  LOCAL_REGION,
  LOCAL_USER,
  type LocalEnvironment,
  startLocalEnvironment,
} from "../../local/environment.js";
import type { InvokeInfo, Poller } from "../../local/poller.js";
import { type LabelStudioTask, startUpstreamApis, type UpstreamApis } from "../../local/upstream-apis.js";
import { loadBridge, standInOf } from "../support/bridge.js";
import { deadLetters, drain, sendBodies } from "../support/sqs.js";

/**
 * `clarifai-bridge work` and `audit` through the CLI, against a Label Studio API stand-in, the Clarifai stand-in and
 * the local SQS, with the real handler delivering: a project of 1,000 annotations by 5 labelers where 7 never
 * reached Clarifai, 3 are stale, 2 were deleted by hand in Clarifai and 4 wait in the dead-letter queue. The audit
 * must name exactly those, per labeler; `--repair` must make the next audit clean, and queue nothing when run again.
 */
const TOKEN = "label-studio-token-for-audit";
const TASK = "street-audit";
/** One Clarifai annotation per Label Studio annotation (no negatives: they would add an input-level member to a box). */
const mapping = {
  projects: {
    "label-studio:12": { taskId: TASK, labels: { Car: "car", Street: "street", Water: "water" } },
    "cvat:5": { taskId: TASK, unsupported: "skip" },
    "sagemaker-ground-truth:street-boxes": { taskId: TASK },
  },
};
let env: LocalEnvironment;
let apis: UpstreamApis;
let poller: Poller;
let mappingFile: string;
const invocations: InvokeInfo[] = [];
/** Inputs the Clarifai stand-in says do not exist (their annotations are refused, then dead-lettered). */
const absentInputs = new Set<string>();

beforeAll(async () => {
  // Two receives, a second apart: a refused input is dead-lettered within seconds, as after hours on AWS.
  env = await startLocalEnvironment({
    visibilityTimeoutSeconds: 2,
    maxReceiveCount: 2,
    standIn: { inputExists: (id: string) => !absentInputs.has(id) },
  });
  apis = await startUpstreamApis(TOKEN);
  ({ poller } = await loadBridge(
    env,
    {
      ...env.handlerEnv,
      BRIDGE_MAPPING: JSON.stringify(mapping),
      POWERTOOLS_LOG_LEVEL: "SILENT",
      POWERTOOLS_METRICS_DISABLED: "true",
      MAX_RECEIVE_COUNT: "2",
      BACKOFF_BASE_SECONDS: "1",
      BACKOFF_CAP_SECONDS: "1",
    },
    invocations,
    { batchSize: 10 },
  ));
  const dir = await mkdtemp(path.join(tmpdir(), "audit-"));
  mappingFile = path.join(dir, "mapping.json");
  await writeFile(mappingFile, JSON.stringify(mapping));
  process.env.AWS_ACCESS_KEY_ID = LOCAL_AWS_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = LOCAL_AWS_CREDENTIALS.secretAccessKey;
  process.env.LABEL_STUDIO_TOKEN = TOKEN;
  process.env.CLARIFAI_PAT = LOCAL_PAT;
}, 60_000);

afterAll(async () => {
  await apis?.close();
  await env?.close();
});

beforeEach(() => {
  env.sqsServer.reset();
  standInOf(env).reset();
  standInOf(env).setProfile("default");
  absentInputs.clear();
  apis.labelStudio.clear();
});

const labelerOf = (k: number) => `label-studio:${(k % 5) + 1}`;
const time = (minute: number) =>
  new Date(Date.UTC(2026, 10, 20, 9, minute)).toISOString().replace(/Z$/, "123Z");

/** One Label Studio annotation: a scene choice (even k) or a car box (odd k), each one Clarifai annotation. */
function lsAnnotation(id: number, task: number, k: number, updatedAt: string, scene = "Street") {
  const result =
    k % 2 === 0
      ? [{ id: `c${id}`, from_name: "scene", to_name: "image", type: "choices", value: { choices: [scene] } }]
      : [
          {
            id: `r${id}`,
            from_name: "label",
            to_name: "image",
            type: "rectanglelabels",
            original_width: 1000,
            original_height: 800,
            value: { x: 10, y: 10, width: 20, height: 20, rotation: 0, rectanglelabels: ["Car"] },
          },
        ];
  return {
    id,
    task,
    project: 12,
    completed_by: (k % 5) + 1,
    was_cancelled: false,
    created_at: updatedAt,
    updated_at: updatedAt,
    result,
  };
}

/** `sizes[i]` annotations on task i; annotation k overall is by labeler (k % 5) + 1. */
function project(sizes: readonly number[]): LabelStudioTask[] {
  let k = 0;
  return sizes.map((size, i) => {
    const taskId = 5000 + i;
    const annotations = Array.from({ length: size }, () => {
      const a = lsAnnotation(100_000 + k, taskId, k, time(0));
      k += 1;
      return a;
    });
    return {
      id: taskId,
      updated_at: time(0),
      data: { image: `s3://bucket/${taskId}.jpg`, clarifai_input_id: `audit-in-${taskId}` },
      annotations,
    };
  });
}

const bodiesOf = (tasks: readonly LabelStudioTask[]) =>
  tasks.flatMap((t) => taskBodies(t as unknown as Record<string, unknown>, undefined, 12).bodies);

async function deliver(bodies: readonly string[]) {
  await sendBodies(env, bodies);
  await drain(env, poller, 120_000);
}

async function cli(args: string[]): Promise<{ code: number; out: string[] }> {
  const out: string[] = [];
  const code = await main(args, { out: (s) => out.push(s), err: () => undefined });
  return { code, out };
}

const auditArgs = (...extra: string[]) => [
  "audit",
  "--task",
  TASK,
  "--source",
  "label-studio:12",
  "--tool-url",
  apis.url,
  "--mapping",
  mappingFile,
  "--api-base",
  standInOf(env).url,
  "--app",
  `${LOCAL_USER}/${LOCAL_APP}`,
  "--dlq-url",
  env.dlqUrl,
  "--endpoint",
  env.sqsServer.address,
  "--region",
  LOCAL_REGION,
  "--rate",
  "200",
  "--json",
  ...extra,
];

async function audit(...extra: string[]): Promise<AuditOutcome & { code: number }> {
  const { code, out } = await cli(auditArgs(...extra));
  return { ...(JSON.parse(out.join("\n")) as AuditOutcome), code };
}

function idsOf(
  report: AuditOutcome["report"],
  kind: "missing" | "stale" | "extra",
): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const l of report.labelers) {
    const ids = l[kind].map((x) => x.id).sort();
    if (ids.length) out[l.labeler] = ids;
  }
  return out;
}

describe("clarifai-bridge audit", () => {
  test("1,000 annotations by 5 labelers: exactly the 7 never sent, 3 stale, 2 deleted by hand and 4 dead-lettered; --repair makes it whole, once", async () => {
    // 198 tasks of 5, one of 4 (its input is missing in Clarifai: all 4 are dead-lettered), one of 6: 1,000.
    const tasks = project([...Array(198).fill(5), 4, 6]);
    apis.labelStudio.set(12, tasks);
    const dlqTask = tasks[198] as LabelStudioTask;
    absentInputs.add(String(dlqTask.data.clarifai_input_id));
    const all = tasks.flatMap((t) => t.annotations as { id: number; completed_by: number }[]);
    expect(all).toHaveLength(1000);
    const never = new Set([100_003, 100_111, 100_222, 100_333, 100_444, 100_555, 100_999]);
    const bodies = bodiesOf(tasks).filter((b) => !never.has(JSON.parse(b).annotation.id));
    await deliver(bodies);
    expect(deadLetters(env)).toHaveLength(4);

    // Held by Clarifai now; ids to plant the rest on, read back from the stand-in.
    const held = standInOf(env).annotations();
    expect(held).toHaveLength(1000 - 7 - 4);
    const idOf = (annotationId: number) =>
      held.find(
        (a) =>
          String(
            (a.annotation.annotation_info as { upstream?: { annotationId?: unknown } }).upstream
              ?.annotationId,
          ) === String(annotationId),
      )?.id as string;
    // Two deleted by hand in Clarifai.
    const deleted = [100_010, 100_021];
    const client = createClarifaiClient(standInOf(env).url, LOCAL_PAT);
    const deletedIds = deleted.map(idOf);
    const answer = await client.deleteAnnotations(
      { userId: LOCAL_USER, appId: LOCAL_APP },
      deletedIds,
      deleted.map((id) =>
        String(tasks.find((t) => t.annotations.some((a) => a.id === id))?.data.clarifai_input_id),
      ),
      5000,
    );
    expect(answer).toMatchObject({ httpStatus: 200 });
    client.close();
    // Three updated in Label Studio whose webhooks never came: Clarifai holds the older version.
    const stale = [100_100, 100_202, 100_304];
    for (const task of tasks)
      task.annotations = task.annotations.map((a) =>
        stale.includes(a.id as number)
          ? lsAnnotation(a.id as number, task.id, (a.id as number) - 100_000, time(30), "Water")
          : a,
      );

    const first = await audit();
    expect(first.code).toBe(1);
    expect(first.complete).toEqual({ tool: true, clarifai: true });
    const expectMissing = [...never, ...dlqTask.annotations.map((a) => a.id as number), ...deleted];
    const byLabeler = (ids: readonly number[], idFor: (n: number) => string) => {
      const out: Record<string, string[]> = {};
      for (const n of ids) {
        const labeler = labelerOf(n - 100_000);
        out[labeler] = [...(out[labeler] ?? []), idFor(n)];
      }
      for (const list of Object.values(out)) list.sort();
      return out;
    };
    // The derived id of an annotation never delivered: what the stand-in holds after the repair (checked below).
    const missing = idsOf(first.report, "missing");
    expect(first.report.totals).toMatchObject({
      inTool: 1000,
      inClarifai: 1000 - 13,
      missing: 13,
      stale: 3,
      extra: 0,
      inDeadLetters: 4,
    });
    expect(idsOf(first.report, "stale")).toEqual(byLabeler(stale, idOf));
    // The labelers of the 13 missing, and which 4 wait in the DLQ with the handler's reason.
    expect(
      Object.fromEntries(Object.entries(missing).map(([labeler, ids]) => [labeler, ids.length])),
    ).toEqual(
      Object.fromEntries(
        Object.entries(byLabeler(expectMissing, (n) => String(n))).map(([l, ids]) => [l, ids.length]),
      ),
    );
    const inDlq = first.report.labelers.flatMap((l) => l.missing.filter((m) => m.deadLetter));
    expect(inDlq.map((m) => m.inputId)).toEqual(Array(4).fill(dlqTask.data.clarifai_input_id));
    for (const m of inDlq) expect(m.deadLetter?.reason).toMatch(/input/i);
    expect(
      first.report.labelers.flatMap((l) => l.missing.filter((m) => !m.deadLetter).map((m) => m.id)),
    ).toEqual(expect.arrayContaining(deletedIds));
    expect(first.report.repairBodies).toHaveLength(7 + 4 + 2 + 3);

    // The operator creates the missing input, then repairs: the tool's current bodies go through the bridge.
    absentInputs.clear();
    const repaired = await audit("--repair", "--queue-url", env.queueUrl);
    expect(repaired.repaired).toEqual({ queued: 16, failed: [] });
    await drain(env, poller, 60_000);

    const second = await audit("--repair", "--queue-url", env.queueUrl);
    expect(second.report.totals).toMatchObject({
      inTool: 1000,
      inClarifai: 1000,
      missing: 0,
      stale: 0,
      extra: 0,
    });
    expect(second.repaired).toEqual({ queued: 0, failed: [] });
    expect(second.code).toBe(0);
    // Every id the first audit called missing is now held, by the labeler it named.
    const now = new Map(
      standInOf(env)
        .annotations()
        .map((a) => [a.id, a]),
    );
    for (const [labeler, ids] of Object.entries(missing))
      for (const id of ids) {
        const info = now.get(id)?.annotation.annotation_info as { labeler?: { id?: string } } | undefined;
        expect(`label-studio:${info?.labeler?.id}`).toBe(labeler);
      }
  }, 240_000);
});

describe("a careless or hostile Label Studio", () => {
  test("whatever its tasks hold, the audit ends with a report: refused bodies named, the rest compared", async () => {
    // As deep as a JSON answer can come (Label Studio's Python json, like V8's, stops near a few thousand levels).
    let deep: unknown = "leaf";
    for (let i = 0; i < 3000; i++) deep = [deep];
    const good = project([2]);
    const base = good[0] as LabelStudioTask;
    const hostile = [
      { ...base, id: 9001, annotations: null },
      { ...base, id: 9002, annotations: ["x", null, 7] },
      { ...base, id: 9003, annotations: [{ ...base.annotations[0], id: 9903, result: deep }] },
      {
        ...base,
        id: 9004,
        annotations: [
          {
            ...base.annotations[0],
            id: 9904,
            result: [{ type: "choices", value: { choices: ["x".repeat(1_100_000)] } }],
          },
        ],
      },
      {
        ...base,
        id: 9005,
        data: { clarifai_input_id: ".." },
        annotations: [{ ...base.annotations[0], id: 9905 }],
      },
      { id: "not-a-number", annotations: [] },
    ] as unknown as LabelStudioTask[];
    apis.labelStudio.set(12, [...good, ...hostile]);
    await deliver(bodiesOf(good));
    const result = await audit();
    expect(result.report.totals).toMatchObject({ inTool: 2, inClarifai: 2, missing: 0, stale: 0, extra: 0 });
    // Too deep to serialise, too large to queue, an input id the bridge refuses: each named with why.
    expect(result.report.refused.map((r) => [r.origin, r.errorCode])).toEqual([
      ["label-studio task 9004", "not-queueable"],
      ["label-studio task 9003 annotation 9903", "invalid-upstream"],
      ["label-studio task 9005 annotation 9905", "invalid-event"],
    ]);
    expect(JSON.stringify(result.report.refused)).not.toContain("x".repeat(1000));
  }, 60_000);
});

describe("a Ground Truth output manifest (file:)", () => {
  test("each line as the bridge reads it: the line never sent is missing, --repair sends it", async () => {
    const line = JSON.parse(readFileSync("examples/events/11-ground-truth-boxes.json", "utf8"));
    const lines = [line, { ...line, "source-ref": "s3://acme-gt/street/IMG_0308.jpg" }].map((l) =>
      JSON.stringify(l),
    );
    const dir = await mkdtemp(path.join(tmpdir(), "gt-"));
    const manifest = path.join(dir, "output.manifest");
    await writeFile(manifest, `${lines.join("\n")}\n`);
    await deliver(lines.slice(0, 1));
    const fileArgs = (...extra: string[]) =>
      auditArgs(...extra).map((a) => (a === "label-studio:12" ? `file:${manifest}` : a));
    const run = async (...extra: string[]) => {
      const { code, out } = await cli(fileArgs(...extra));
      return { ...(JSON.parse(out.join("\n")) as AuditOutcome), code };
    };
    const found = await run("--repair", "--queue-url", env.queueUrl);
    expect(found.report.totals).toMatchObject({ inTool: 4, inClarifai: 2, missing: 2, stale: 0, extra: 0 });
    expect(found.report.labelers.flatMap((l) => l.missing.map((m) => m.inputId))).toEqual([
      "IMG_0308",
      "IMG_0308",
    ]);
    expect(found.repaired?.queued).toBe(1);
    await drain(env, poller, 60_000);
    expect((await run()).report.totals).toMatchObject({ inTool: 4, inClarifai: 4, missing: 0 });

    // The same manifest where the labeling job wrote it, in S3 (the local S3 beside the local SQS).
    const s3 = new S3Client({
      region: LOCAL_REGION,
      endpoint: env.sqsServer.address,
      forcePathStyle: true,
      credentials: LOCAL_AWS_CREDENTIALS,
    });
    await s3.send(new CreateBucketCommand({ Bucket: "gt-output" }));
    await s3.send(
      new PutObjectCommand({
        Bucket: "gt-output",
        Key: "street-boxes/manifests/output/output.manifest",
        Body: lines.join("\n"),
      }),
    );
    s3.destroy();
    process.env.AWS_REGION = LOCAL_REGION;
    const fromS3 = await cli(
      auditArgs("--s3-endpoint", env.sqsServer.address).map((a) =>
        a === "label-studio:12" ? "file:s3://gt-output/street-boxes/manifests/output/output.manifest" : a,
      ),
    );
    expect((JSON.parse(fromS3.out.join("\n")) as AuditOutcome).report.totals).toMatchObject({
      inTool: 4,
      inClarifai: 4,
      missing: 0,
    });
  }, 60_000);
});

describe("a CVAT task", () => {
  test("its jobs read as the puller reads them: whole after delivery; a frame deleted by hand found and repaired", async () => {
    const api = (f: string) => JSON.parse(readFileSync(`test/fixtures/upstream/cvat-api/${f}`, "utf8"));
    apis.cvat.set("/api/jobs?task_id=17&page_size=100", {
      count: 1,
      next: null,
      results: [api("job-41.json")],
    });
    apis.cvat.set("/api/jobs/41", api("job-41.json"));
    apis.cvat.set("/api/labels?job_id=41&page_size=500", api("labels-41.json"));
    apis.cvat.set("/api/jobs/41/data/meta", api("meta-41.json"));
    apis.cvat.set("/api/jobs/41/annotations", api("annotations-41.json"));
    const bodies = await readCvatJob(apis.url, 41, TOKEN, { getJson: createJsonGetter(100, 5000) });
    await sendBodies(env, bodies, "cvat");
    await drain(env, poller, 60_000);
    process.env.CVAT_TOKEN = TOKEN;
    const cvatArgs = (...extra: string[]) =>
      auditArgs(...extra).map((a) => (a === "label-studio:12" ? "cvat:17" : a));
    const run = async (...extra: string[]) => {
      const { code, out } = await cli(cvatArgs(...extra));
      return { ...(JSON.parse(out.join("\n")) as AuditOutcome), code };
    };
    const whole = await run();
    const held = standInOf(env).annotations().length;
    expect(held).toBeGreaterThan(0);
    expect(whole.report.totals).toMatchObject({
      inTool: held,
      inClarifai: held,
      missing: 0,
      stale: 0,
      extra: 0,
    });
    expect(whole.code).toBe(0);

    const victim = standInOf(env).annotations()[0] as { id: string; input_id: string };
    const client = createClarifaiClient(standInOf(env).url, LOCAL_PAT);
    await client.deleteAnnotations(
      { userId: LOCAL_USER, appId: LOCAL_APP },
      [victim.id],
      [victim.input_id],
      5000,
    );
    client.close();
    const found = await run("--repair", "--queue-url", env.queueUrl);
    expect(found.report.labelers.flatMap((l) => l.missing.map((m) => m.id))).toEqual([victim.id]);
    expect(found.repaired?.queued).toBe(1);
    await drain(env, poller, 60_000);
    expect((await run()).report.totals).toMatchObject({ inClarifai: held, missing: 0, stale: 0, extra: 0 });
  }, 60_000);
});

describe("work and audit under every Clarifai profile", () => {
  test.each(PROFILE_NAMES)(
    "%s: the same counts",
    async (profile) => {
      standInOf(env).setProfile(profile);
      const tasks = project([5, 5, 5, 5]);
      apis.labelStudio.set(12, tasks);
      await deliver(bodiesOf(tasks));
      // One annotation removed in Label Studio since: Clarifai's copy is extra; --delete-extra removes it.
      const gone = tasks[0]?.annotations.pop() as { id: number };
      const work = await cli([
        "work",
        "--task",
        TASK,
        "--api-base",
        standInOf(env).url,
        "--app",
        `${LOCAL_USER}/${LOCAL_APP}`,
        "--rate",
        "200",
        "--json",
      ]);
      expect(work.code).toBe(0);
      const rows = JSON.parse(work.out.join("")).workers as {
        worker: string;
        total: number;
        upstream: object;
      }[];
      // The stand-in's own count per worker, as npm start prints it.
      const own = standInOf(env)
        .work()
        .filter((r) => r.taskId === TASK);
      expect(rows.reduce((n, r) => n + r.total, 0)).toBe(own.reduce((n, r) => n + r.count, 0));
      expect(rows.reduce((n, r) => n + r.total, 0)).toBe(20);
      expect(Object.keys(rows[0]?.upstream ?? {}).sort()).toEqual(
        [1, 2, 3, 4, 5].map((n) => `label-studio:${n}`),
      );

      const found = await audit("--delete-extra");
      expect(found.report.totals).toMatchObject({
        inTool: 19,
        inClarifai: 20,
        missing: 0,
        stale: 0,
        extra: 1,
      });
      expect(found.report.labelers.find((l) => l.extra.length)?.labeler).toBe(labelerOf(gone.id - 100_000));
      expect(found.deleted).toEqual({ count: 1, failed: [] });
      const after = await audit();
      expect(after.report.totals).toMatchObject({
        inTool: 19,
        inClarifai: 19,
        missing: 0,
        stale: 0,
        extra: 0,
      });
      expect(after.code).toBe(0);
    },
    60_000,
  );
});

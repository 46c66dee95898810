import { readFileSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, beforeEach } from "@jest/globals";
import type { AuditOutcome } from "../../bin/cli/audit.js";
import { main } from "../../bin/cli.js";
import { taskBodies } from "../../lambda/pull/label-studio-reconcile.js";
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
import { loadBridge, standInOf } from "./bridge.js";
import { drain, sendBodies } from "./sqs.js";

/**
 * What the audit suites share: the local SQS and Clarifai stand-in with the real handler delivering, a Label Studio
 * (and CVAT) API stand-in, the CLI called as a user calls it, and a project of Label Studio annotations by five
 * labelers. Inputs in `absentInputs` do not exist in Clarifai (their annotations are refused, then dead-lettered).
 */
export const TOKEN = "label-studio-token-for-audit";
export const TASK = "street-audit";
/** One Clarifai annotation per Label Studio annotation (no negatives: they would add an input-level member to a box). */
export const mapping = {
  projects: {
    "label-studio:12": { taskId: TASK, labels: { Car: "car", Street: "street", Water: "water" } },
    "cvat:5": { taskId: TASK, unsupported: "skip" },
    "sagemaker-ground-truth:street-boxes": { taskId: TASK },
    "sagemaker-ground-truth:street-seg": { taskId: TASK, maskOrigins: ["s3://acme-gt-output/street-seg/"] },
  },
};

export interface AuditWorld {
  readonly env: LocalEnvironment;
  readonly apis: UpstreamApis;
  readonly poller: Poller;
  readonly mappingFile: string;
  readonly absentInputs: Set<string>;
}

export async function startAuditWorld(): Promise<AuditWorld> {
  const absentInputs = new Set<string>();
  // Two receives, a second apart: a refused input is dead-lettered within seconds, as after hours on AWS.
  const env = await startLocalEnvironment({
    visibilityTimeoutSeconds: 2,
    maxReceiveCount: 2,
    standIn: { inputExists: (id: string) => !absentInputs.has(id) },
  });
  const apis = await startUpstreamApis(TOKEN);
  const invocations: InvokeInfo[] = [];
  const { poller } = await loadBridge(
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
  );
  const dir = await mkdtemp(path.join(tmpdir(), "audit-"));
  const mappingFile = path.join(dir, "mapping.json");
  await writeFile(mappingFile, JSON.stringify(mapping));
  process.env.AWS_ACCESS_KEY_ID = LOCAL_AWS_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = LOCAL_AWS_CREDENTIALS.secretAccessKey;
  process.env.LABEL_STUDIO_TOKEN = TOKEN;
  process.env.CLARIFAI_PAT = LOCAL_PAT;
  return { env, apis, poller, mappingFile, absentInputs };
}

/**
 * The world for a test file: started before its tests, stopped after, reset before each. The object is filled in
 * `beforeAll`, so tests read its fields, never destructure it at load time.
 */
export function useAuditWorld(): AuditWorld {
  const world = {} as { -readonly [K in keyof AuditWorld]: AuditWorld[K] };
  beforeAll(async () => {
    Object.assign(world, await startAuditWorld());
  }, 60_000);
  afterAll(async () => {
    await world.apis?.close();
    await world.env?.close();
  });
  beforeEach(() => resetAuditWorld(world));
  return world;
}

/** Empties the queues, the stand-ins and the planted faults between tests. */
export function resetAuditWorld(world: AuditWorld): void {
  world.env.sqsServer.reset();
  standInOf(world.env).reset();
  standInOf(world.env).setProfile("default");
  world.absentInputs.clear();
  world.apis.labelStudio.clear();
}

export const labelerOf = (k: number) => `label-studio:${(k % 5) + 1}`;
export const time = (minute: number) =>
  new Date(Date.UTC(2026, 10, 20, 9, minute)).toISOString().replace(/Z$/, "123Z");

/** One Label Studio annotation: a scene choice (even k) or a car box (odd k), each one Clarifai annotation. */
export function lsAnnotation(id: number, task: number, k: number, updatedAt: string, scene = "Street") {
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
export function project(sizes: readonly number[]): LabelStudioTask[] {
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

export const bodiesOf = (tasks: readonly LabelStudioTask[]) =>
  tasks.flatMap((t) => taskBodies(t as unknown as Record<string, unknown>, undefined, 12).bodies);

export async function deliver(world: AuditWorld, bodies: readonly string[], format?: string) {
  await sendBodies(world.env, bodies, format);
  await drain(world.env, world.poller, 120_000);
}

export async function cli(args: string[]): Promise<{ code: number; out: string[] }> {
  const out: string[] = [];
  const code = await main(args, { out: (s) => out.push(s), err: () => undefined });
  return { code, out };
}

/** The CLI's Clarifai: the stand-in, the local app. */
export const clarifaiArgs = (world: AuditWorld) => [
  "--api-base",
  standInOf(world.env).url,
  "--app",
  `${LOCAL_USER}/${LOCAL_APP}`,
];

export const auditArgs = (world: AuditWorld, ...extra: string[]) => [
  "audit",
  "--task",
  TASK,
  "--source",
  "label-studio:12",
  "--tool-url",
  world.apis.url,
  "--mapping",
  world.mappingFile,
  ...clarifaiArgs(world),
  "--dlq-url",
  world.env.dlqUrl,
  "--endpoint",
  world.env.sqsServer.address,
  "--region",
  LOCAL_REGION,
  "--rate",
  "200",
  "--json",
  ...extra,
];

export async function audit(world: AuditWorld, ...extra: string[]): Promise<AuditOutcome & { code: number }> {
  const { code, out } = await cli(auditArgs(world, ...extra));
  return { ...(JSON.parse(out.join("\n")) as AuditOutcome), code };
}

export function idsOf(
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

/** A CVAT task (17) of one job (41) in the tools' stand-in, from the API fixtures: what the puller reads. */
export function cvatTask17(world: AuditWorld): void {
  const api = (f: string) => JSON.parse(readFileSync(`test/fixtures/upstream/cvat-api/${f}`, "utf8"));
  world.apis.cvat.set("/api/jobs?task_id=17&page_size=100", {
    count: 1,
    next: null,
    results: [api("job-41.json")],
  });
  world.apis.cvat.set("/api/jobs/41", api("job-41.json"));
  world.apis.cvat.set("/api/labels?job_id=41&page_size=500", api("labels-41.json"));
  world.apis.cvat.set("/api/jobs/41/data/meta", api("meta-41.json"));
  world.apis.cvat.set("/api/jobs/41/annotations", api("annotations-41.json"));
}

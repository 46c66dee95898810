import { readFileSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import { DEFAULTS, visibilityTimeoutSeconds } from "../lib/defaults.js";
import { annotationKind } from "./clarifai/kinds.js";
import type { TaskSpec, WorkRow } from "./clarifai/stand-in.js";
import { type LocalEnvironment, startLocalEnvironment } from "./environment.js";
import { seedLocalS3 } from "./local-s3.js";
import { createPoller, type InvokeInfo, type Poller, type SqsHandler } from "./poller.js";

/**
 * The main job on the embedded default: the SQS-compatible server, the Clarifai stand-in (or the real Clarifai),
 * and the real handler behind a Lambda-style poller, configured like the CDK stack's defaults.
 */
const PROJECT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** The stack's defaults (lib/defaults.ts): the local queue and poller behave as the deployed ones do. */
export const STACK_DEFAULTS = {
  maxReceiveCount: DEFAULTS.maxReceiveCount,
  batchSize: DEFAULTS.batchSize,
  maxBatchingWindowMs: DEFAULTS.maxBatchingWindowSeconds * 1000,
  functionTimeoutSeconds: DEFAULTS.functionTimeoutSeconds,
  visibilityTimeoutSeconds: visibilityTimeoutSeconds(
    DEFAULTS.functionTimeoutSeconds,
    DEFAULTS.maxBatchingWindowSeconds,
  ),
} as const;

export interface LocalRunOptions {
  /** Send to the real Clarifai (CLARIFAI_PAT, CLARIFAI_USER_ID, CLARIFAI_APP_ID from the environment). */
  readonly realClarifai?: boolean;
  /** Throttle the stand-in's first call, so the run shows a retry. @default true with the stand-in */
  readonly throttleFirstCall?: boolean;
  /** Let the handler's own logs through. @default false */
  readonly verbose?: boolean;
  /** Fixed port for the SQS-compatible server (watch mode), or a free one. */
  readonly sqsPort?: number;
  /** The stand-in app's tasks (review strategy, workers). @default examples/tasks.json */
  readonly tasks?: Readonly<Record<string, TaskSpec>>;
  readonly onInvoke?: (info: InvokeInfo) => void;
}

export interface LocalRun {
  readonly env: LocalEnvironment;
  readonly poller: Poller;
  readonly invocations: InvokeInfo[];
  close(): Promise<void>;
}

export async function startLocalRun(options: LocalRunOptions = {}): Promise<LocalRun> {
  if (options.realClarifai) {
    for (const name of ["CLARIFAI_PAT", "CLARIFAI_USER_ID", "CLARIFAI_APP_ID"]) {
      if (!process.env[name]) throw new Error(`${name} must be set to send to the real Clarifai`);
    }
  }
  const env = await startLocalEnvironment({
    maxReceiveCount: STACK_DEFAULTS.maxReceiveCount,
    visibilityTimeoutSeconds: STACK_DEFAULTS.visibilityTimeoutSeconds,
    standIn: options.realClarifai
      ? false
      : { tasks: options.tasks ?? readTasks(path.join(PROJECT_DIR, "examples", "tasks.json")) },
    ...(options.sqsPort !== undefined ? { sqsPort: options.sqsPort } : {}),
  });
  // The files the examples point at (Ground Truth's segmentation PNG), where the handler reads them: S3.
  await seedLocalS3(env, path.join(PROJECT_DIR, "examples", "s3"));
  if (env.standIn && options.throttleFirstCall !== false) {
    env.standIn.faults.script.push("throttle");
    env.standIn.faults.retryAfterSeconds = 1;
  }
  Object.assign(process.env, env.handlerEnv, {
    // Which Label Studio, Labelbox and Ground Truth projects go to which Clarifai task, for the upstream examples.
    BRIDGE_MAPPING:
      process.env.BRIDGE_MAPPING ?? readFileSync(path.join(PROJECT_DIR, "examples", "mapping.json"), "utf8"),
    // Short backoff so a local run finishes in seconds; the deployed defaults are 10 s doubling to 15 min.
    BACKOFF_BASE_SECONDS: "1",
    BACKOFF_CAP_SECONDS: "2",
    MAX_RECEIVE_COUNT: String(STACK_DEFAULTS.maxReceiveCount),
    POWERTOOLS_SERVICE_NAME: "clarifai-annotation-bridge",
    ...(options.verbose ? {} : { POWERTOOLS_LOG_LEVEL: "SILENT", POWERTOOLS_METRICS_DISABLED: "true" }),
  });
  const { handler } = (await import("../lambda/handler.js")) as unknown as { handler: SqsHandler };
  const invocations: InvokeInfo[] = [];
  const poller = createPoller({
    sqs: env.sqs,
    queueUrl: env.queueUrl,
    queueArn: env.queueArn,
    handler,
    batchSize: STACK_DEFAULTS.batchSize,
    maxBatchingWindowMs: STACK_DEFAULTS.maxBatchingWindowMs,
    functionTimeoutMs: STACK_DEFAULTS.functionTimeoutSeconds * 1000,
    onInvoke: (info) => {
      invocations.push(info);
      options.onInvoke?.(info);
    },
  });
  return { env, poller, invocations, close: () => env.close() };
}

/** A tasks file (`{"tasks": {id: {review, workers}}}`, as examples/tasks.json) for the stand-in. */
export function readTasks(file: string): Record<string, TaskSpec> {
  const parsed = JSON.parse(readFileSync(file, "utf8")) as { tasks?: Record<string, TaskSpec> };
  return parsed.tasks ?? {};
}

/** Reads every `*.json` file of a folder as one message body, in name order. */
export async function readExampleBodies(dir: string): Promise<{ file: string; body: string }[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith(".json")).sort();
  return Promise.all(
    files.map(async (file) => ({ file, body: await readFile(path.join(dir, file), "utf8") })),
  );
}

export async function sendExamples(
  run: LocalRun,
  examples: readonly { file: string; body: string }[],
): Promise<Map<string, string>> {
  const fileByMessageId = new Map<string, string>();
  for (let i = 0; i < examples.length; i += 10) {
    const slice = examples.slice(i, i + 10);
    const answer = await run.env.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: run.env.queueUrl,
        Entries: slice.map((e, j) => ({ Id: String(j), MessageBody: e.body })),
      }),
    );
    for (const ok of answer.Successful ?? [])
      fileByMessageId.set(ok.MessageId as string, slice[Number(ok.Id)]?.file as string);
    for (const failed of answer.Failed ?? [])
      throw new Error(`could not send ${slice[Number(failed.Id)]?.file}: ${failed.Message}`);
  }
  return fileByMessageId;
}

/** Polls until the source queue is empty (nothing ready, in flight or delayed). */
export async function drainQueue(run: LocalRun, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const q = run.env.sqsServer.inspectQueue(run.env.queueName);
    const left =
      (q?.messages.ready.length ?? 0) +
      (q?.messages.inflight.length ?? 0) +
      (q?.messages.delayed.length ?? 0);
    if (left === 0) return;
    if (Date.now() > deadline)
      throw new Error(`the queue still holds ${left} messages after ${timeoutMs} ms`);
    await run.poller.pollOnce(1);
  }
}

export interface RunReport {
  readonly sent: number;
  readonly annotationsPerTask: Record<string, number>;
  /** Annotations by kind: `concepts`, `box`, `polygon`, `mask`, `point`, `keypoints`, `span`, `video box`, ... */
  readonly annotationsPerKind: Record<string, number>;
  readonly clarifaiRequests: number | undefined;
  readonly invocations: number;
  readonly retries: number;
  readonly deadLettered: { file: string; errorCode: string; reason: string }[];
  /** Annotations per task, per Clarifai user credited, per status (the stand-in's view of each labeler's work). */
  readonly work: readonly WorkRow[] | undefined;
  readonly elapsedMs: number;
}

export function buildReport(
  run: LocalRun,
  fileByMessageId: ReadonlyMap<string, string>,
  startedAt: number,
): RunReport {
  const annotationsPerTask: Record<string, number> = {};
  const annotationsPerKind: Record<string, number> = {};
  for (const stored of run.env.standIn?.annotations() ?? []) {
    const a = stored.annotation as { task_id?: string; annotation_info?: { task_id?: string } };
    const task = a.task_id ?? a.annotation_info?.task_id ?? "(no task)";
    annotationsPerTask[task] = (annotationsPerTask[task] ?? 0) + 1;
    const kind = annotationKind(stored.annotation);
    annotationsPerKind[kind] = (annotationsPerKind[kind] ?? 0) + 1;
  }
  const dlq = run.env.sqsServer.inspectQueue(run.env.dlqName);
  const deadLettered = (dlq?.messages.ready ?? []).map((m) => {
    const attrs = m.messageAttributes ?? {};
    const source = attrs.sourceMessageId?.StringValue ?? "";
    return {
      file: fileByMessageId.get(source) ?? source,
      errorCode: attrs.errorCode?.StringValue ?? "(none: moved by the queue's redrive policy)",
      reason: attrs.reason?.StringValue ?? "",
    };
  });
  return {
    sent: fileByMessageId.size,
    annotationsPerTask,
    annotationsPerKind,
    clarifaiRequests: run.env.standIn?.requests.length,
    invocations: run.invocations.length,
    retries: run.invocations.reduce((n, i) => n + i.failed, 0),
    deadLettered: deadLettered.sort((a, b) => a.file.localeCompare(b.file)),
    work: run.env.standIn?.work(),
    elapsedMs: Date.now() - startedAt,
  };
}

/** Differences between a report and what examples/expected.json says; empty when the run matched. */
export function compareWithExpected(
  report: RunReport,
  expected: {
    annotationsPerTask: Record<string, number>;
    deadLettered: Record<string, string>;
    /** "<task> <worker> <status>" -> annotations. */
    work?: Record<string, number>;
    /** kind -> annotations. */
    annotationsPerKind?: Record<string, number>;
  },
): string[] {
  const problems: string[] = [];
  const tasks = new Set([
    ...Object.keys(expected.annotationsPerTask),
    ...Object.keys(report.annotationsPerTask),
  ]);
  for (const task of tasks) {
    const want = expected.annotationsPerTask[task] ?? 0;
    const got = report.annotationsPerTask[task] ?? 0;
    if (want !== got) problems.push(`task ${task}: expected ${want} annotations, found ${got}`);
  }
  const dead = new Map(report.deadLettered.map((d) => [d.file, d.errorCode]));
  for (const [file, code] of Object.entries(expected.deadLettered)) {
    if (dead.get(file) !== code)
      problems.push(`${file}: expected dead-letter ${code}, found ${dead.get(file) ?? "none"}`);
  }
  for (const file of dead.keys())
    if (!(file in expected.deadLettered)) problems.push(`${file}: dead-lettered unexpectedly`);
  if (expected.annotationsPerKind) {
    const kinds = new Set([
      ...Object.keys(expected.annotationsPerKind),
      ...Object.keys(report.annotationsPerKind),
    ]);
    for (const kind of kinds) {
      const want = expected.annotationsPerKind[kind] ?? 0;
      const found = report.annotationsPerKind[kind] ?? 0;
      if (want !== found) problems.push(`kind ${kind}: expected ${want} annotations, found ${found}`);
    }
  }
  if (expected.work && report.work) {
    const got = new Map(report.work.map((r) => [`${r.taskId} ${r.worker} ${r.status}`, r.count]));
    for (const k of new Set([...Object.keys(expected.work), ...got.keys()])) {
      const want = expected.work[k] ?? 0;
      const found = got.get(k) ?? 0;
      if (want !== found) problems.push(`work ${k}: expected ${want} annotations, found ${found}`);
    }
  }
  return problems;
}

export function formatReport(report: RunReport, target: string): string {
  const lines = [`clarifai-annotation-bridge local run against ${target}`, ""];
  lines.push(`  messages sent            ${report.sent}`);
  const total = Object.values(report.annotationsPerTask).reduce((a, b) => a + b, 0);
  lines.push(`  annotations in Clarifai  ${total}`);
  for (const [task, n] of Object.entries(report.annotationsPerTask).sort())
    lines.push(`    task ${task.padEnd(24)} ${n}`);
  const kinds = Object.entries(report.annotationsPerKind).sort(([a], [b]) => a.localeCompare(b));
  if (kinds.length > 0) lines.push(`    by kind: ${kinds.map(([kind, n]) => `${kind} ${n}`).join(", ")}`);
  if (report.clarifaiRequests !== undefined)
    lines.push(`  Clarifai requests        ${report.clarifaiRequests}`);
  lines.push(`  handler invocations      ${report.invocations}`);
  lines.push(`  record retries           ${report.retries}`);
  lines.push(`  dead-lettered            ${report.deadLettered.length}`);
  for (const d of report.deadLettered)
    lines.push(`    ${d.file.padEnd(32)} ${d.errorCode.padEnd(26)} ${truncate(d.reason, 90)}`);
  if (report.work && report.work.length > 0) {
    lines.push("  work in Clarifai's tasks (task, worker credited, status)");
    for (const r of report.work)
      lines.push(`    ${r.taskId.padEnd(24)} ${r.worker.padEnd(14)} ${r.status.padEnd(38)} ${r.count}`);
  }
  lines.push(`  elapsed                  ${(report.elapsedMs / 1000).toFixed(1)} s`);
  return lines.join("\n");
}

const truncate = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

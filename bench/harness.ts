// Over 300 lines: the benchmark's workers and services, one harness for every case.
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { SendMessageBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import { PROJECT_ROOT } from "../lib/bundling.js";
import { LOCAL_AWS_CREDENTIALS, LOCAL_REGION } from "../local/environment.js";
import type { Row } from "./rows.js";
import { type BenchServices, benchEvent } from "./workload.js";

/**
 * The benchmark's moving parts, for bench/run.ts: the services process (stand-in and queue), worker processes,
 * the core and cold-start probes, filling and feeding the queue, and turning what a case measured into a row.
 */
const NODE = path.join(PROJECT_ROOT, "node_modules", ".bin", "node");
const TSX = path.join(PROJECT_ROOT, "node_modules", ".bin", "tsx");

export type Services = BenchServices;
export interface Stats {
  requests: number;
  posts: number;
  postMsTotal: number;
  throttled: number;
  annotations: number;
  deadLettered: number;
}
export interface WorkerResult {
  delivered: number;
  failedRecords: number;
  invocations: number;
  elapsedMs: number;
  cpuUs: number;
  /** The main thread's CPU alone (the handler's code, the HTTP client, GC pauses), without V8's helper threads. */
  mainThreadCpuUs: number;
  /** Direct mode: [events, process CPU µs, main-thread CPU µs] at every tenth batch. */
  curve?: [number, number, number][];
  maxRssKb: number;
  latencies: number[];
  /** Set in direct mode: the stand-in's counters around the measured part only. */
  statsBefore?: Stats;
  statsAfter?: Stats;
}

export async function startServices(args: string[]): Promise<{ services: Services; child: ChildProcess }> {
  const child = spawn(TSX, [path.join(PROJECT_ROOT, "bench", "services.ts"), ...args], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, POWERTOOLS_LOG_LEVEL: "SILENT" },
  });
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    rl.once("line", resolve);
    child.once("exit", (code) => reject(new Error(`services exited with ${code}`)));
  });
  return { services: JSON.parse(line) as Services, child };
}

export const stats = async (s: Services): Promise<Stats> =>
  (await fetch(`${s.admin}/stats`)).json() as Promise<Stats>;
export const reset = async (s: Services) => {
  await fetch(`${s.admin}/reset`, { method: "POST" });
};

/** `n` worker processes with `args` (bench/worker.ts); `nodeFlags` go to Node itself (the profiler's, say). */
export async function runWorkers(
  n: number,
  args: string[],
  nodeFlags: string[] = [],
): Promise<WorkerResult[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "bridge-bench-"));
  const runs = Array.from({ length: n }, async (_, i) => {
    const out = path.join(dir, `worker-${i}.json`);
    const child = spawn(
      TSX,
      [
        ...nodeFlags,
        path.join(PROJECT_ROOT, "bench", "worker.ts"),
        ...args,
        "--instance",
        String(i),
        "--out",
        out,
      ],
      {
        // The handler's own JSON logs go where Lambda's would go: written, but not to this terminal.
        stdio: ["ignore", "ignore", "inherit"],
      },
    );
    await new Promise<void>((resolve, reject) =>
      child.once("exit", (code) =>
        code === 0 ? resolve() : reject(new Error(`worker exited with ${code}`)),
      ),
    );
    return JSON.parse(await readFile(out, "utf8")) as WorkerResult;
  });
  return Promise.all(runs);
}

export async function coreRun(batches: number): Promise<{ cpuUsPerEvent: number; runs: number[] }> {
  const out = path.join(await mkdtemp(path.join(os.tmpdir(), "bridge-core-")), "core.json");
  const child = spawn(
    TSX,
    [path.join(PROJECT_ROOT, "bench", "core.ts"), "--out", out, "--batches", String(batches)],
    {
      stdio: ["ignore", "ignore", "inherit"],
    },
  );
  await new Promise<void>((resolve, reject) =>
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`core.ts exited with ${code}`)))),
  );
  return JSON.parse(await readFile(out, "utf8")) as { cpuUsPerEvent: number; runs: number[] };
}

export const percentile = (xs: number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted.length
    ? (sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number)
    : 0;
};

export function row(
  impl: string,
  caseName: string,
  results: WorkerResult[],
  before: Stats,
  after: Stats,
): Row {
  const delivered = results.reduce((n, r) => n + r.delivered, 0);
  const elapsed = Math.max(...results.map((r) => r.elapsedMs));
  const requests = after.requests - before.requests;
  const latencies = results.flatMap((r) => r.latencies);
  const posts = after.posts - before.posts;
  return {
    serverMs: posts ? (after.postMsTotal - before.postMsTotal) / posts : 0,
    impl,
    caseName,
    delivered,
    eventsPerSecond: delivered / (elapsed / 1000),
    requests,
    throttledPct: requests ? ((after.throttled - before.throttled) / requests) * 100 : 0,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    cpuUsPerEvent: delivered ? results.reduce((n, r) => n + r.cpuUs, 0) / delivered : 0,
    mainCpuUsPerEvent: delivered ? results.reduce((n, r) => n + r.mainThreadCpuUs, 0) / delivered : 0,
    ...(results.length === 1 && results[0]?.curve ? { warm: warmHalf(results[0].curve) } : {}),
    peakRssMb: Math.max(...results.map((r) => r.maxRssKb)) / 1024,
    deadLettered: after.deadLettered - before.deadLettered,
    invocations: results.reduce((n, r) => n + r.invocations, 0),
    billedMs: latencies.reduce((n, ms) => n + Math.ceil(ms), 0),
  };
}

/**
 * CPU per event over the second half of a direct-mode run: a Lambda instance draining a queue handles thousands
 * of batches, so this is its steady state; compared with the whole run it shows how much of the figure is JIT
 * warm-up (in the runs so far, none: the second half costs the same).
 */
export function warmHalf(curve: [number, number, number][]): Row["warm"] {
  const last = curve.at(-1);
  const mid = curve.find(([events]) => last !== undefined && events >= last[0] / 2);
  if (!last || !mid || last[0] === mid[0]) return undefined;
  const events = last[0] - mid[0];
  return {
    cpuUsPerEvent: (last[1] - mid[1]) / events,
    mainCpuUsPerEvent: (last[2] - mid[2]) / events,
    fromEvent: mid[0],
  };
}

/**
 * Annotations per second in the steady state: between the 5th and the 95th percentile of the stand-in's arrival
 * times, so the workers' start (process start, module load, the first task reads) and the last few stragglers
 * are left out. The overall figure, start included, is the table's.
 */
export async function sustainedRate(s: Services): Promise<number> {
  const times = ((await (await fetch(`${s.admin}/arrivals`)).json()) as { at: number }[])
    .map((a) => a.at)
    .sort((a, b) => a - b);
  if (times.length < 20) return 0;
  const from = times[Math.floor(0.05 * (times.length - 1))] as number;
  const to = times[Math.floor(0.95 * (times.length - 1))] as number;
  // A request's annotations arrive together: count those after the window's first arrival time, up to its last.
  const inside = times.filter((t) => t > from && t <= to).length;
  return to > from ? inside / ((to - from) / 1000) : 0;
}

/** An SQS client for the services' embedded queue. */
export const benchSqs = (s: Services) =>
  new SQSClient({
    region: LOCAL_REGION,
    endpoint: s.sqsEndpoint,
    useQueueUrlAsEndpoint: false,
    credentials: LOCAL_AWS_CREDENTIALS,
  });

export async function fillQueue(s: Services, n: number, run: string) {
  const sqs = benchSqs(s);
  const sends = [];
  for (let i = 0; i < n; i += 10) {
    sends.push(
      sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: s.queueUrl,
          Entries: Array.from({ length: Math.min(10, n - i) }, (_, j) => ({
            Id: String(j),
            MessageBody: JSON.stringify(benchEvent(i + j, run)),
          })),
        }),
      ),
    );
    if (sends.length >= 50) await Promise.all(sends.splice(0));
  }
  await Promise.all(sends);
  sqs.destroy();
}

/** Sends events at `rate` per second for `seconds`, ten per SendMessageBatch, recording when each was sent. */
export async function produce(
  s: Services,
  rate: number,
  seconds: number,
  run: string,
  sentAt: Map<string, number>,
) {
  const sqs = benchSqs(s);
  const total = Math.ceil(rate * seconds);
  const perSend = rate >= 10 ? 10 : 1;
  const start = Date.now();
  for (let i = 0; i < total; i += perSend) {
    const due = start + (i / rate) * 1000;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const n = Math.min(perSend, total - i);
    const now = Date.now();
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: s.queueUrl,
        Entries: Array.from({ length: n }, (_, j) => {
          sentAt.set(`bench-${run}-${i + j}`, now);
          return { Id: String(j), MessageBody: JSON.stringify(benchEvent(i + j, run)) };
        }),
      }),
    );
  }
  sqs.destroy();
}

export async function coldStart(bundle: string, runs = 7): Promise<number> {
  return medianOfFresh(
    runs,
    `const t = performance.now(); await import(${JSON.stringify(`file://${bundle}`)}); console.log(performance.now() - t);`,
  );
}

/**
 * The AWS SDK's Secrets Manager client alone, in a fresh node: the part of the cold module load that is not the
 * bundle's (the runtime provides the SDK; Powertools' parameters import it to read the key before the first
 * record). Median of `runs`, in ms.
 */
export async function sdkLoad(runs = 7): Promise<number> {
  return medianOfFresh(
    runs,
    'const t = performance.now(); await import("@aws-sdk/client-secrets-manager"); console.log(performance.now() - t);',
  );
}

/**
 * What a format's first record costs to load: in a fresh node, the entry imported, then the format's chunk (with
 * the chunks it imports) timed. Median of `runs`, in ms.
 */
export async function firstUse(bundle: string, chunk: string, runs = 5): Promise<number> {
  return medianOfFresh(
    runs,
    `await import(${JSON.stringify(`file://${bundle}`)}); const t = performance.now(); await import(${JSON.stringify(`file://${chunk}`)}); console.log(performance.now() - t);`,
  );
}

/** Runs `script` (an ES module printing one number) in `runs` fresh node processes; the median of what they print. */
async function medianOfFresh(runs: number, script: string): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const child = spawn(NODE, ["--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "inherit"],
      env: {
        ...process.env,
        DEAD_LETTER_QUEUE_URL: "http://127.0.0.1:1/q",
        CLARIFAI_PAT: "x",
        AWS_REGION: "us-east-1",
      },
    });
    let out = "";
    child.stdout?.on("data", (c) => {
      out += c;
    });
    await new Promise((r) => child.once("exit", r));
    times.push(Number(out.trim()));
  }
  return percentile(times, 50);
}

/** The bytes of a folder zipped as the CDK zips an asset (deflate, every file), with the `zip` tool. */
export async function zippedBytes(dir: string): Promise<number> {
  const { execFile } = await import("node:child_process");
  const { mkdtemp, stat, rm } = await import("node:fs/promises");
  const { tmpdir } = await import("node:os");
  const path = await import("node:path");
  const out = path.join(await mkdtemp(path.join(tmpdir(), "zip-")), "asset.zip");
  await new Promise<void>((resolve, reject) =>
    execFile("zip", ["-q", "-r", "-9", out, "."], { cwd: dir }, (error) =>
      error ? reject(error) : resolve(),
    ),
  );
  const bytes = (await stat(out)).size;
  await rm(path.dirname(out), { recursive: true, force: true });
  return bytes;
}

/** The machine's CPU time by kind, from /proc/stat (Linux); zeros elsewhere. */
export function cpuTimes(): { total: number; idle: number; steal: number } {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
    const [, ...fields] = line.trim().split(/\s+/);
    const n = fields.map(Number);
    const total = n.reduce((a, b) => a + b, 0);
    return { total, idle: (n[3] ?? 0) + (n[4] ?? 0), steal: n[7] ?? 0 };
  } catch {
    return { total: 0, idle: 0, steal: 0 };
  }
}

export function machineNoise(start: { cpu: ReturnType<typeof cpuTimes> }): {
  stealPct: number;
  busyPct: number;
} {
  const end = cpuTimes();
  const total = end.total - start.cpu.total;
  if (total <= 0) return { stealPct: 0, busyPct: 0 };
  return {
    stealPct: ((end.steal - start.cpu.steal) / total) * 100,
    busyPct: (1 - (end.idle - start.cpu.idle) / total) * 100,
  };
}

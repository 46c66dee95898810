import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import type { SQSRecord } from "aws-lambda";

/**
 * The bundled handler in a child process that is ended as Lambda ends a function: killed the moment its resident
 * memory passes `memoryMb` (read from /proc every few milliseconds: a heap flag alone does not bound the buffers a
 * decoder allocates), or when the invocation's time is up. The child imports the bundle's index.mjs, invokes it
 * once per batch it is given (as one warm instance would) and prints each answer.
 */
export interface BoundedRun {
  /** Each invocation's answer (batchItemFailures), for as many as finished. */
  readonly answers: { batchItemFailures: { itemIdentifier: string }[] }[];
  /** Why the process was ended, if it was: `memory` (at `peakMb`) or `time`. */
  readonly killed?: "memory" | "time";
  /** The highest resident memory seen, in MiB. */
  readonly peakMb: number;
  readonly stderr: string;
}

/**
 * How node is started: `lambda` as Lambda's Node.js runtime starts it (its bootstrap passes `--expose-gc` and sizes
 * the heap from AWS_LAMBDA_FUNCTION_MEMORY_SIZE: semi-space a twentieth, old space nine tenths; as reproduced by the
 * public runtime emulators, not confirmed by AWS's documentation), or `bare`, with node's own defaults. A bound
 * that holds must hold under both.
 */
export type NodeFlags = "lambda" | "bare";

export function nodeFlags(flags: NodeFlags, memoryMb: number): string[] {
  return flags === "bare"
    ? []
    : [
        "--expose-gc",
        `--max-semi-space-size=${Math.floor(memoryMb / 20)}`,
        `--max-old-space-size=${Math.floor((memoryMb * 9) / 10)}`,
      ];
}

/** Node started as `flags` says, in the bundle's folder, running `script` with the function's environment. */
function spawnHandler(
  bundleDir: string,
  script: string,
  env: Record<string, string>,
  options: { readonly memoryMb: number; readonly flags?: NodeFlags },
) {
  return spawn(
    process.execPath,
    [...nodeFlags(options.flags ?? "lambda", options.memoryMb), "--input-type=module", "-e", script],
    {
      cwd: bundleDir,
      env: {
        ...process.env,
        ...env,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(options.memoryMb),
        POWERTOOLS_LOG_LEVEL: "SILENT",
        POWERTOOLS_METRICS_DISABLED: "true",
        NODE_OPTIONS: "",
      },
      stdio: ["pipe", "pipe", "pipe"],
    },
  );
}

export async function runBounded(
  bundleDir: string,
  batches: readonly (readonly SQSRecord[])[],
  env: Record<string, string>,
  options: { readonly memoryMb: number; readonly timeoutMs: number; readonly flags?: NodeFlags },
): Promise<BoundedRun> {
  const script = `
    const { handler } = await import(${JSON.stringify(path.join(bundleDir, "index.mjs"))});
    const batches = JSON.parse(await new Promise((resolve) => { let t = ""; process.stdin.on("data", (c) => (t += c)); process.stdin.on("end", () => resolve(t)); }));
    for (const Records of batches) {
      const end = Date.now() + ${options.timeoutMs};
      const context = { awsRequestId: "r", functionName: "f", getRemainingTimeInMillis: () => end - Date.now() };
      const answer = await handler({ Records }, context);
      process.stdout.write(JSON.stringify(answer) + "\\n");
    }
  `;
  const child = spawnHandler(bundleDir, script, env, options);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c) => (stdout += c));
  child.stderr.on("data", (c) => (stderr += c));
  child.stdin.end(JSON.stringify(batches));
  let killed: BoundedRun["killed"];
  const memory = watchMemory(child, options.memoryMb, () => {
    killed ??= "memory";
  });
  // Each invocation may take its time, plus a few seconds of process start and module load.
  const timer = setTimeout(
    () => {
      killed ??= "time";
      child.kill("SIGKILL");
    },
    batches.length * options.timeoutMs + 10_000,
  );
  await new Promise((resolve) => child.on("close", resolve));
  memory.stop();
  clearTimeout(timer);
  const answers = stdout
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));
  return { answers, ...(killed ? { killed } : {}), peakMb: memory.peak() / 1024 / 1024, stderr };
}

/** The child's resident memory read every 2 ms; past `memoryMb` it is killed, as Lambda kills a function. */
function watchMemory(child: ChildProcess, memoryMb: number, onKill: () => void) {
  let peak = 0;
  const limit = memoryMb * 1024 * 1024;
  const watch = setInterval(() => {
    const rss = residentBytes(child.pid);
    peak = Math.max(peak, rss);
    if (rss > limit && !child.killed) {
      onKill();
      child.kill("SIGKILL");
    }
  }, 2);
  return { peak: () => peak, stop: () => clearInterval(watch) };
}

function residentBytes(pid: number | undefined): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1];
    return kb ? Number(kb) * 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * A warm instance: the bundled handler in one child process that serves invocation after invocation (as a Lambda
 * instance does: its module state, the task cache and the pace, carry over), killed the moment its resident
 * memory passes `memoryMb`. An invocation is answered, or the instance was killed (then start another).
 */
export interface BoundedInstance {
  invoke(
    records: readonly SQSRecord[],
    timeoutMs: number,
  ): Promise<
    | {
        readonly answer: { batchItemFailures: { itemIdentifier: string }[] };
        readonly elapsedMs: number;
        readonly answeredAt: number;
        /** Resident memory and heap in use when it answered, MiB. */
        readonly rssMb: number;
        readonly heapMb: number;
      }
    | { readonly killed: "memory" | "time" }
  >;
  readonly peakMb: () => number;
  readonly stderr: () => string;
  close(): Promise<void>;
}

export function startBoundedInstance(
  bundleDir: string,
  env: Record<string, string>,
  options: { readonly memoryMb: number; readonly flags?: NodeFlags },
): BoundedInstance {
  const script = `
    const { handler } = await import(${JSON.stringify(path.join(bundleDir, "index.mjs"))});
    const { createInterface } = await import("node:readline");
    for await (const line of createInterface({ input: process.stdin })) {
      const { Records, timeoutMs } = JSON.parse(line);
      const begun = Date.now();
      const end = begun + timeoutMs;
      const context = { awsRequestId: "r", functionName: "f", getRemainingTimeInMillis: () => end - Date.now() };
      const answer = await handler({ Records }, context);
      const { rss, heapUsed } = process.memoryUsage();
      process.stdout.write(JSON.stringify({ answer, elapsedMs: Date.now() - begun, rssMb: rss / 1048576, heapMb: heapUsed / 1048576 }) + "\\n");
    }
  `;
  const child = spawnHandler(bundleDir, script, env, options);
  let stderr = "";
  let buffered = "";
  let killed: "memory" | "time" | undefined;
  let waiting: ((line: string | undefined) => void) | undefined;
  child.stderr.on("data", (c) => (stderr += c));
  child.stdout.on("data", (c) => {
    buffered += c;
    let at = buffered.indexOf("\n");
    while (at >= 0) {
      const line = buffered.slice(0, at);
      buffered = buffered.slice(at + 1);
      waiting?.(line);
      waiting = undefined;
      at = buffered.indexOf("\n");
    }
  });
  const closed = new Promise<void>((resolve) =>
    child.on("close", () => {
      waiting?.(undefined);
      resolve();
    }),
  );
  const memory = watchMemory(child, options.memoryMb, () => {
    killed ??= "memory";
  });
  return {
    async invoke(records, timeoutMs) {
      if (killed) return { killed };
      const line = new Promise<string | undefined>((resolve) => {
        waiting = resolve;
      });
      // Lambda ends an invocation at its timeout: the process goes with it (a few seconds' grace for module load).
      const timer = setTimeout(() => {
        killed ??= "time";
        child.kill("SIGKILL");
      }, timeoutMs + 5_000);
      child.stdin.write(`${JSON.stringify({ Records: records, timeoutMs })}\n`);
      const answered = await line;
      clearTimeout(timer);
      if (answered === undefined) return { killed: killed ?? "time" };
      const { answer, elapsedMs, rssMb, heapMb } = JSON.parse(answered);
      return { answer, elapsedMs, answeredAt: Date.now(), rssMb, heapMb };
    },
    peakMb: () => memory.peak() / 1024 / 1024,
    stderr: () => stderr,
    async close() {
      memory.stop();
      child.stdin.end();
      child.kill("SIGKILL");
      await closed;
    },
  };
}

import { spawn } from "node:child_process";
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
  const flags = nodeFlags(options.flags ?? "lambda", options.memoryMb);
  const child = spawn(process.execPath, [...flags, "--input-type=module", "-e", script], {
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
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c) => (stdout += c));
  child.stderr.on("data", (c) => (stderr += c));
  child.stdin.end(JSON.stringify(batches));
  let peak = 0;
  let killed: BoundedRun["killed"];
  const limit = options.memoryMb * 1024 * 1024;
  const watch = setInterval(() => {
    const rss = residentBytes(child.pid);
    peak = Math.max(peak, rss);
    if (rss > limit && !killed) {
      killed = "memory";
      child.kill("SIGKILL");
    }
  }, 2);
  // Each invocation may take its time, plus a few seconds of process start and module load.
  const timer = setTimeout(
    () => {
      killed ??= "time";
      child.kill("SIGKILL");
    },
    batches.length * options.timeoutMs + 10_000,
  );
  await new Promise((resolve) => child.on("close", resolve));
  clearInterval(watch);
  clearTimeout(timer);
  const answers = stdout
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));
  return { answers, ...(killed ? { killed } : {}), peakMb: peak / 1024 / 1024, stderr };
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

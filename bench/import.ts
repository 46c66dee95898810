import { execFileSync, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { LOCAL_REGION, startLocalEnvironment } from "../local/environment.js";
import { labelStudioExportTasks, lsMapping } from "../test/support/label-studio.js";
import { queueCounts } from "../test/support/sqs.js";

/**
 * `clarifai-bridge import` (bin/cli/import.ts): a Label Studio export of tasks of 3 annotations each (a box, a
 * polygon, a choice), imported by the CLI in a process of its own (its resident memory read from /proc every
 * 20 ms) against the stand-in answering in 50 ms and throttling above 15 requests a second. Figures, not
 * assertions: test/integration/import.test.ts asserts.
 */
export interface ImportRow {
  readonly path: string;
  readonly annotations: number;
  readonly stored: number;
  readonly seconds: number;
  /** Annotations a second from the first Clarifai request to the end, and its share of 15 x 128 = 1,920. */
  readonly perSecond: number;
  readonly share: number;
  readonly firstMs: number;
  readonly peakMb: number;
  readonly requests: number;
  /** Every run's share (the row is the median run's). */
  readonly runs: readonly number[];
}

const PER_TASK = 3;
/** Runs of each case; the table shows the median run's figures and the highest peak. */
const RUNS = 3;

export async function importTable(quick: boolean): Promise<ImportRow[]> {
  const env = await startLocalEnvironment({ standIn: { faults: { latencyMs: 50, throttleAboveRps: 15 } } });
  const standIn = env.standIn as NonNullable<typeof env.standIn>;
  const dir = await mkdtemp(path.join(tmpdir(), "bench-import-"));
  const exportOf = (annotations: number) => {
    const tasks = Math.ceil(annotations / PER_TASK);
    const file = path.join(dir, `export-${annotations}.json`);
    writeFileSync(file, JSON.stringify(labelStudioExportTasks(tasks, "bench-in-", 1_000_000)));
    return { file, annotations: tasks * PER_TASK };
  };
  const mapping = path.join(dir, "mapping.json");
  writeFileSync(mapping, JSON.stringify(lsMapping));
  const cases: [string, number, string[]][] = quick
    ? [["--direct --fresh", 10_000, ["--direct", "--fresh"]]]
    : [
        ["--direct --fresh", 10_000, ["--direct", "--fresh"]],
        ["--direct --fresh", 100_000, ["--direct", "--fresh"]],
        ["--direct (a lookup per 50 inputs)", 10_000, ["--direct"]],
        [
          "--queue-url (sent to the queue)",
          100_000,
          ["--queue-url", env.queueUrl, "--endpoint", env.sqsServer.address, "--region", LOCAL_REGION],
        ],
      ];
  const rows: ImportRow[] = [];
  execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.build.json"], {
    stdio: "inherit",
  });
  try {
    for (const [name, size, args] of cases) {
      const runs: ImportRow[] = [];
      for (let run = 0; run < (quick ? 1 : RUNS); run++) {
        standIn.reset();
        env.sqsServer.reset();
        const { file, annotations } = exportOf(size);
        const started = Date.now();
        // The CLI as the package ships it (dist/, built above) and as a user runs it: no flags. Its import runs in
        // a worker thread with a small young generation (bin/clarifai-bridge.mjs), so the peak shows what the import
        // keeps (flat whatever the size), the whole process measured.
        const child = spawn(
          process.execPath,
          ["bin/clarifai-bridge.mjs", "import", "--source", file, "--mapping", mapping, ...args],
          {
            env: { ...process.env, ...env.handlerEnv, NODE_OPTIONS: "", POWERTOOLS_METRICS_DISABLED: "true" },
            stdio: "ignore",
          },
        );
        let peak = 0;
        let first = 0;
        const watch = setInterval(() => {
          try {
            const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))?.[1];
            peak = Math.max(peak, Number(kb ?? 0) * 1024);
          } catch {
            // ended
          }
          if (!first && (standIn.requests.length > 0 || queueCounts(env).ready > 0))
            first = Date.now() - started;
        }, 20);
        await new Promise((resolve) => child.on("close", resolve));
        clearInterval(watch);
        const seconds = (Date.now() - started) / 1000;
        const queued = args.includes("--queue-url");
        const stored = queued ? queueCounts(env).ready * PER_TASK : standIn.annotations().length;
        const active = Math.max(0.001, seconds - first / 1000);
        runs.push({
          path: name,
          annotations,
          stored,
          seconds,
          perSecond: stored / active,
          share: (100 * stored) / active / 1_920,
          firstMs: first,
          peakMb: peak / 1024 / 1024,
          requests: standIn.requests.length,
          runs: [],
        });
        console.log(`import ${name} ${annotations}: ${JSON.stringify(runs.at(-1))}`);
      }
      const sorted = [...runs].sort((a, b) => a.share - b.share);
      const median = sorted[Math.floor((sorted.length - 1) / 2)] as ImportRow;
      rows.push({
        ...median,
        runs: runs.map((r) => r.share),
        peakMb: Math.max(...runs.map((r) => r.peakMb)),
      });
    }
  } finally {
    await env.close();
    await rm(dir, { recursive: true, force: true });
  }
  return rows;
}

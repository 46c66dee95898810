import { rmSync } from "node:fs";
import path from "node:path";
import { readingBudgetBytes, recordCost } from "../lambda/delivery/reading-budget.js";
import { startLocalEnvironment } from "../local/environment.js";
import { startMaskFileServer } from "../local/mask-files.js";
import { runBounded } from "../test/support/bounded-process.js";
import {
  fullResolutionMask,
  labelboxComposite,
  labelboxMasks,
  labelStudioBrushes,
  labelStudioTrack,
} from "../test/support/heavy-records.js";
import { sqsRecord } from "../test/support/record.js";

/**
 * Memory, per record kind: the bundled handler in a process of its own, killed (as Lambda would) past the stack's
 * default 256 MB, given one heavy record; its peak resident memory (read from /proc every 2 ms), the time, what
 * became of the record, and the cost the reading budget weighed it at before reading it (reading-budget.ts;
 * mask files' part once they are fetched). Figures, not assertions: test/integration/memory-bound.test.ts asserts.
 */
export interface MemoryRow {
  readonly kind: string;
  /** How node was started: as Lambda's runtime starts it, or with node's defaults (test/support/bounded-process.ts). */
  readonly flags: string;
  readonly peakMb: number;
  readonly ms: number;
  readonly outcome: string;
  readonly costMb: number;
  readonly budgetMb: number;
}

const MEMORY_MB = 256;

export async function memoryTable(bundleDir: string): Promise<MemoryRow[]> {
  const env = await startLocalEnvironment();
  const files = await startMaskFileServer();
  const mapping = {
    projects: {
      "labelbox:clx0pr0000street": { taskId: "street-masks", maskOrigins: [files.url] },
      "label-studio:12": { taskId: "street-audit" },
      "label-studio:15": { taskId: "traffic-video", labels: { Car: "car" } },
    },
  };
  const composite = labelboxComposite(50, `${files.url}/composite.png`);
  files.files.set("/composite.png", { bytes: composite.file });
  const full = fullResolutionMask();
  for (let i = 0; i < 10; i++) files.files.set(`/full/${i}.png`, { bytes: full });
  const cases: { kind: string; body: string; files: Uint8Array[] }[] = [
    {
      kind: "a 1920 x 1080 mask file of 50 classes (Labelbox composite)",
      body: composite.body,
      files: [composite.file],
    },
    {
      kind: "a Labelbox label of 10 masks at 4096 x 4096",
      body: labelboxMasks(10, (i) => `${files.url}/full/${i}.png`),
      files: Array(10).fill(full),
    },
    {
      kind: "a 1 MB Label Studio body of 4096 x 4096 brush masks",
      body: labelStudioBrushes().body,
      files: [],
    },
    { kind: "an 18,000-frame Label Studio track", body: labelStudioTrack(18_000), files: [] },
  ];
  const rows: MemoryRow[] = [];
  try {
    for (const c of cases)
      for (const flags of ["lambda", "bare"] as const) {
        env.standIn?.reset();
        const started = performance.now();
        const run = await runBounded(
          bundleDir,
          [[sqsRecord(c.body, 0)]],
          {
            ...env.handlerEnv,
            BRIDGE_MAPPING: JSON.stringify(mapping),
            LABELBOX_API_KEY: "lb-bench-key-0123456789",
            LABELBOX_API_ORIGIN: files.url,
          },
          { memoryMb: MEMORY_MB, timeoutMs: 60_000, flags },
        );
        const failed = run.answers[0]?.batchItemFailures.length ?? 0;
        const letters = env.sqsServer.inspectQueue(env.dlqName)?.messages.ready ?? [];
        const code = letters[0]?.messageAttributes?.errorCode?.StringValue;
        rows.push({
          kind: c.kind,
          flags,
          peakMb: run.peakMb,
          ms: performance.now() - started,
          outcome: run.killed
            ? `killed (${run.killed})`
            : code
              ? `dead letter ${code}`
              : failed
                ? "retried"
                : `delivered (${env.standIn?.annotations().length ?? 0} annotations)`,
          costMb: recordCost(c.body.length, c.files) / 1024 / 1024,
          budgetMb: readingBudgetBytes(MEMORY_MB) / 1024 / 1024,
        });
        env.sqsServer.reset();
      }
  } finally {
    await files.close();
    await env.close();
  }
  return rows;
}

// `npx tsx bench/memory.ts`: the table alone, from a fresh bundle.
if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  const { buildHandler } = await import("../bin/build.js");
  const dir = path.join(process.cwd(), "cdk.out", `bench-memory-${process.pid}`);
  const { file } = await buildHandler(dir);
  try {
    for (const r of await memoryTable(path.dirname(file))) console.log(JSON.stringify(r));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// Over 300 lines: the benchmark's script: each measurement in the order it runs, printing and writing the report.
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { build } from "esbuild";
import { buildHandler } from "../bin/build.js";
import { BUNDLING, HANDLER_ENTRY, PROJECT_ROOT } from "../lib/bundling.js";
import { chart } from "./chart.js";
import {
  coldStart,
  coreRun,
  cpuTimes,
  fillQueue,
  firstUse,
  machineNoise,
  percentile,
  produce,
  reset,
  row,
  runWorkers,
  sdkLoad,
  startServices,
  stats,
  sustainedRate,
  zippedBytes,
} from "./harness.js";
import { importTable } from "./import.js";
import { longEventsTable } from "./long-events.js";
import { maskFileWork } from "./masks.js";
import { memoryTable } from "./memory.js";
import { profileHandler } from "./profile.js";
import { fmt, renderReport } from "./report.js";
import type { Row } from "./rows.js";

/**
 * `npm run bench`: the same workload through this handler (the bundle as deployed), a naive one-POST-per-record
 * handler, and Powertools' BatchProcessor with one POST per record, against the Clarifai stand-in in another
 * process; then the same under Clarifai's rate limit with the stack's default concurrency. Prints a table and
 * writes it to bench/RESULTS.md. Figures, not assertions.
 */
const { values } = parseArgs({
  options: {
    events: { type: "string", default: "20000" },
    latency: { type: "string", default: "50" },
    jitter: { type: "string", default: "10" },
    "rate-limit": { type: "string", default: "15" },
    backlog: { type: "string", default: "20000" },
    seconds: { type: "string", default: "15" },
    concurrency: { type: "string", default: "2" },
    quick: { type: "boolean", default: false },
    repeat: { type: "string", default: "3" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log(`Usage: npm run bench -- [--events N] [--latency MS] [--jitter MS] [--rate-limit RPS] [--backlog N]
                        [--seconds S] [--concurrency C]
  --events N       events per case in the unthrottled pass (default 20000)
  --latency MS     the stand-in's answer latency, plus up to --jitter MS (defaults 50, 10)
  --rate-limit R   requests/s the stand-in allows in the throttled pass (default 15, Clarifai's default)
  --backlog N      events queued before the throttled pass of this handler (default 20000)
  --seconds S      time limit per case, so slow baselines finish (default 15; 40 for the throttled pass)
  --concurrency C  handler instances in the throttled pass (default 2, the stack's default)
  --repeat N       runs of each headline case (this handler at B=100, and under the limit); the tables and
                   targets show the median run and the spread (default 3; 1 with --quick)
  --quick          a development run in under a minute: 1,000 events, 5 s per case, the naive baseline left out
                   at B=100 and under the limit, no latency pass or profile; prints the tables, writes nothing`);
  process.exit(0);
}

const quick = values.quick;
const latencyMs = Number(values.latency);
const events = quick ? 1_000 : Number(values.events);
const seconds = quick ? 5 : Number(values.seconds);
const throttledSeconds = quick ? 5 : Math.max(seconds, 40);
const backlogEvents = quick ? 3_000 : Number(values.backlog);
const concurrency = Number(values.concurrency);
const repeat = quick ? 1 : Math.max(1, Math.floor(Number(values.repeat)) || 1);
const rateLimit = Number(values["rate-limit"]);
const PER_REQUEST = 128;
/** Annotations per second Clarifai's rate limit allows with full requests. */
const ceiling = rateLimit * PER_REQUEST;

const startedAt = Date.now();
const noiseStart = { load: os.loadavg()[0] ?? 0, cpu: cpuTimes() };
const { file: bundle, bytes, totalBytes, contributors, lazy } = await buildHandler();
const coldMs = await coldStart(bundle, quick ? 3 : 7);
const sdkMs = await sdkLoad(quick ? 3 : 7);
// What each format's first record adds: its chunk's bytes, and the time to load it in a fresh process.
const lazyRows = [];
for (const l of lazy)
  lazyRows.push({
    ...l,
    ms: await firstUse(bundle, path.join(path.dirname(bundle), "chunks", l.chunk), quick ? 3 : 5),
  });
// Masks read from files: one decode per file, a pass and a PNG per class (bench/masks.ts).
const maskWork = maskFileWork(quick ? 1 : 3);
// Peak resident memory per heavy record kind, in a process killed past 256 MB (bench/memory.ts).
const memoryRows = await memoryTable(path.dirname(bundle));
const longRows = await longEventsTable(path.dirname(bundle), quick);
const importRows = await importTable(quick);
// The deployed zip, split as now and as the single file it was (the same code, every adapter in one file).
const single = await mkdtemp(path.join(os.tmpdir(), "single-"));
await build({
  entryPoints: [HANDLER_ENTRY],
  outfile: path.join(single, "index.mjs"),
  bundle: true,
  platform: "node",
  target: BUNDLING.target,
  format: BUNDLING.format,
  minify: BUNDLING.minify,
  sourcemap: BUNDLING.sourceMap,
  external: [...BUNDLING.externalModules],
  mainFields: [...BUNDLING.mainFields],
  logLevel: "warning",
});
const zip = {
  split: await zippedBytes(path.dirname(bundle)),
  single: await zippedBytes(single),
  singleBytes: (await stat(path.join(single, "index.mjs"))).size,
};
await rm(single, { recursive: true, force: true });
// Before any worker starts: the handler's code alone, without HTTP (bench/core.ts), median of 3 in a process of its own.
const core = await coreRun(quick ? 100 : 300);
const implementations = [
  ["ours", "this handler (bundle)"],
  ["naive", "naive: 1 POST/record, sequential"],
  ["per-record", "Powertools BatchProcessor: 1 POST/record, parallel"],
] as const;

const rows: Row[] = [];
/** Every run of this handler at B=100 (--repeat); the table shows the median one. */
const ours100Runs: Row[] = [];
const plain = await startServices(["--latency", String(latencyMs), "--jitter", values.jitter as string]);
try {
  for (const b of [10, 100]) {
    for (const [impl, label] of implementations) {
      // The naive handler at B=100 spends the whole time limit on one batch (100 sequential POSTs): --quick skips it.
      if (quick && impl === "naive" && b === 100) continue;
      const runs = impl === "ours" && b === 100 ? repeat : 1;
      for (let n = 0; n < runs; n++) {
        await reset(plain.services);
        const before = await stats(plain.services);
        const results = await runWorkers(1, [
          "--impl",
          impl,
          "--bundle",
          bundle,
          "--batch",
          String(b),
          "--events",
          String(events),
          "--seconds",
          String(seconds),
          "--mode",
          "direct",
          "--services",
          JSON.stringify(plain.services),
        ]);
        // Direct mode reports the stand-in's counters around its measured part, so warm-up requests are left out.
        const [only] = results;
        const after = only?.statsAfter ?? (await stats(plain.services));
        const measured = row(label, `B=${b}, ${latencyMs} ms`, results, only?.statsBefore ?? before, after);
        if (runs > 1) ours100Runs.push(measured);
        else rows.push(measured);
        console.error(`done: ${label}, B=${b}${runs > 1 ? ` (run ${n + 1} of ${runs})` : ""}`);
      }
      if (runs > 1) rows.push(medianBy(ours100Runs, (r) => r.eventsPerSecond));
    }
  }
} finally {
  plain.child.kill("SIGTERM");
}

/** The stand-in under Clarifai's rate limit, for the throttled and the latency passes. */
const limitedServiceArgs = [
  "--latency",
  String(latencyMs),
  "--jitter",
  values.jitter as string,
  "--rate-limit",
  String(rateLimit),
];
const limited = await startServices(limitedServiceArgs);
const throttledRows: Row[] = [];
/** Every run of this handler under the limit (--repeat), with its sustained rate; the median is reported. */
const limitedRuns: { row: Row; sustained: number }[] = [];
let sustained = 0;
try {
  for (const [impl, label] of implementations) {
    if (quick && impl === "naive") continue;
    const runs = impl === "ours" ? repeat : 1;
    for (let n = 0; n < runs; n++) {
      await reset(limited.services);
      const backlog = impl === "ours" ? backlogEvents : Math.min(backlogEvents, 2_000);
      await fillQueue(limited.services, backlog, `throttled-${impl}`);
      const before = await stats(limited.services);
      // The stack's defaults: batch size 128, `concurrency` instances, each paced at floor(rate / concurrency).
      const batch = impl === "ours" ? 128 : 10;
      const rate = impl === "ours" ? String(Math.floor(rateLimit / concurrency)) : "0";
      const results = await runWorkers(concurrency, [
        "--impl",
        impl,
        "--bundle",
        bundle,
        "--batch",
        String(batch),
        "--events",
        String(backlog),
        "--seconds",
        String(throttledSeconds),
        "--mode",
        "queue",
        "--rate",
        rate,
        "--services",
        JSON.stringify(limited.services),
      ]);
      const measured = row(
        label,
        `${concurrency} instances, B=${batch}, ${rateLimit} req/s limit`,
        results,
        before,
        await stats(limited.services),
      );
      if (impl === "ours")
        limitedRuns.push({ row: measured, sustained: await sustainedRate(limited.services) });
      else throttledRows.push(measured);
      console.error(`done: ${label}, rate-limited${runs > 1 ? ` (run ${n + 1} of ${runs})` : ""}`);
    }
    if (impl === "ours") {
      const median = medianBy(limitedRuns, (r) => r.sustained);
      throttledRows.push(median.row);
      sustained = median.sustained;
    }
  }
} finally {
  limited.child.kill("SIGTERM");
}

// End-to-end latency, SendMessage to the annotation existing at Clarifai, with the stack's defaults (batch 128, a
// 5 s batching window, 2 instances paced at floor(15 / 2) requests/s), in three regimes.
const latencyRows: { regime: string; events: number; p50: number; p99: number; max: number }[] = [];
// Each regime runs its workers until a deadline (a trickle has quiet spells): a minute in all, so --quick skips it.
const lat = quick ? undefined : await startServices(limitedServiceArgs);
try {
  const regimes = [
    { name: "trickle: 1 event/s", rate: 1, seconds: 20, backlog: 0 },
    { name: `half the limit: ${fmt(ceiling / 2)} events/s`, rate: ceiling / 2, seconds: 10, backlog: 0 },
    { name: "saturation: a backlog of 10,000", rate: 0, seconds: 0, backlog: 10_000 },
  ];
  for (const regime of lat ? regimes : []) {
    if (!lat) break;
    await reset(lat.services);
    const sentAt = new Map<string, number>();
    const run = `latency-${latencyRows.length}`;
    if (regime.backlog > 0) {
      const now = Date.now();
      await fillQueue(lat.services, regime.backlog, run);
      for (let i = 0; i < regime.backlog; i++) sentAt.set(`bench-${run}-${i}`, now);
    }
    const budget =
      regime.backlog > 0 ? Math.ceil(regime.backlog / (ceiling * 0.8)) + 10 : regime.seconds + 12;
    const workers = runWorkers(concurrency, [
      "--impl",
      "ours",
      "--bundle",
      bundle,
      "--batch",
      "128",
      "--events",
      String(Math.max(regime.backlog, Math.ceil(regime.rate * regime.seconds))),
      "--seconds",
      String(budget),
      "--mode",
      "queue",
      "--window",
      "5000",
      "--until-deadline",
      "--rate",
      String(Math.floor(rateLimit / concurrency)),
      "--services",
      JSON.stringify(lat.services),
    ]);
    if (regime.rate > 0) await produce(lat.services, regime.rate, regime.seconds, run, sentAt);
    await workers;
    const arrivals = (await (await fetch(`${lat.services.admin}/arrivals`)).json()) as {
      eventId: string;
      at: number;
    }[];
    const latencies = arrivals
      .filter((a) => sentAt.has(a.eventId))
      .map((a) => a.at - (sentAt.get(a.eventId) as number));
    latencyRows.push({
      regime: regime.name,
      events: latencies.length,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      max: Math.max(0, ...latencies),
    });
    console.error(`done: latency, ${regime.name}`);
  }
} finally {
  lat?.child.kill("SIGTERM");
}

// Where a warm handler's main thread spends its CPU at B=100 (bench/profile.ts); 20 s, so --quick leaves it out.
const profiled = quick ? undefined : await profileHandler(events, 100);
console.error("done: profile");

const { report, settings, machine } = renderReport({
  quick,
  latencyMs,
  jitter: values.jitter as string,
  events,
  seconds,
  backlogEvents,
  concurrency,
  rateLimit,
  perRequest: PER_REQUEST,
  rows,
  throttledRows,
  latencyRows,
  sustained,
  bytes,
  totalBytes,
  contributors,
  coldMs,
  sdkMs,
  lazy: lazyRows,
  maskWork,
  memoryRows,
  longRows,
  importRows,
  zip,
  repeats: { ours100: ours100Runs, limited: limitedRuns },
  core,
  profiled,
  noiseStart,
  noise: machineNoise(noiseStart),
  loadAtEnd: os.loadavg()[0] ?? 0,
});
console.log(
  `\n${report}\nMachine: ${machine}\nSettings: ${settings}\nElapsed: ${fmt((Date.now() - startedAt) / 1000, 0)} s`,
);
if (quick) {
  console.error("quick run: nothing written (bench/RESULTS.md holds full runs only)");
  process.exit(0);
}
await writeFile(path.join(PROJECT_ROOT, "bench", "results.svg"), chart(rows));

/** The run whose `by` is the median (the lower middle of an even count). */
function medianBy<T>(runs: readonly T[], by: (run: T) => number): T {
  const sorted = [...runs].sort((a, b) => by(a) - by(b));
  return sorted[Math.floor((sorted.length - 1) / 2)] as T;
}
await writeFile(
  path.join(PROJECT_ROOT, "bench", "RESULTS.md"),
  `# Benchmark results\n\nWritten by \`npm run bench\` on ${new Date().toISOString()}.\n\nMachine: ${machine}\n\nSettings: ${settings}\n\n![throughput by batch size](results.svg)\n\n${report}`,
);

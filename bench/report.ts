import os from "node:os";
import type { Contributor } from "../bin/build.js";
import type { ImportRow } from "./import.js";
import type { LongEventRow } from "./long-events.js";
import type { MemoryRow } from "./memory.js";
import { costPerMillion, MEMORY_GB, PRICES, SQS_REQUESTS_PER_MESSAGE } from "./prices.js";
import type { ProfileRow, Row } from "./rows.js";

/**
 * The benchmark's report as Markdown, from what `npm run bench` measured (bench/run.ts): the targets, the two
 * tables, the notes, end-to-end latency and cost. A plain function of its facts; run.ts prints it and writes it to
 * bench/RESULTS.md.
 */

export interface LatencyRow {
  readonly regime: string;
  readonly events: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export interface BenchFacts {
  readonly quick: boolean;
  readonly latencyMs: number;
  readonly jitter: string;
  readonly events: number;
  readonly seconds: number;
  readonly backlogEvents: number;
  readonly concurrency: number;
  readonly rateLimit: number;
  /** Annotations per request Clarifai takes at most. */
  readonly perRequest: number;
  readonly rows: Row[];
  readonly throttledRows: Row[];
  readonly latencyRows: LatencyRow[];
  /** Annotations per second between the 5th and 95th percentile of arrivals, this handler under the limit. */
  readonly sustained: number;
  /** JS loaded before the first record (the entry and its static chunks). */
  readonly bytes: number;
  /** Every chunk, the lazily loaded ones too. */
  readonly totalBytes: number;
  readonly contributors: Contributor[];
  readonly coldMs: number;
  /** Of the cold module load, the AWS SDK's Secrets Manager client alone (fresh node, median). */
  readonly sdkMs: number;
  /** Each lazily loaded chunk: its bytes, its sources, and its load time on first use (ms, fresh process). */
  readonly lazy: { chunk: string; bytes: number; sources: string[]; ms: number }[];
  /** Masks read from a 1920 x 1080 file with `classes` classes (bench/masks.ts). */
  readonly maskWork: { classes: number; indexMs: number; colorMs: number; firstMs: number; pngBytes: number };
  /** Peak resident memory per heavy record kind, in a process killed past 256 MB (bench/memory.ts). */
  readonly memoryRows: readonly MemoryRow[];
  /** Long events carried across invocations in continuations (bench/long-events.ts). */
  readonly longRows: readonly LongEventRow[];
  /** clarifai-bridge import from a Label Studio export (bench/import.ts). */
  readonly importRows: readonly ImportRow[];
  /** The deployed asset zipped: split as built, and as the single file it was (same code). */
  readonly zip: { split: number; single: number; singleBytes: number };
  /** Every run of the headline cases (--repeat): the tables show the median run. */
  readonly repeats: { ours100: Row[]; limited: { row: Row; sustained: number }[] };
  readonly core: { cpuUsPerEvent: number; runs: number[] };
  readonly profiled: { usPerEvent: number; delivered: number; rows: ProfileRow[] } | undefined;
  readonly noiseStart: { load: number };
  readonly noise: { stealPct: number; busyPct: number };
  readonly loadAtEnd: number;
}

export function renderReport(facts: BenchFacts): { report: string; settings: string; machine: string } {
  const {
    quick,
    latencyMs,
    events,
    seconds,
    backlogEvents,
    concurrency,
    rateLimit,
    rows,
    throttledRows,
    latencyRows,
    sustained,
    bytes,
    totalBytes,
    contributors,
    coldMs,
    sdkMs,
    lazy,
    maskWork,
    zip,
    repeats,
    core,
    profiled,
    noiseStart,
    noise,
    loadAtEnd,
  } = facts;
  const PER_REQUEST = facts.perRequest;
  const ceiling = rateLimit * PER_REQUEST;
  const coreUs = core.cpuUsPerEvent;
  const values = { jitter: facts.jitter };
  const ours100 = rows.find((r) => r.impl.startsWith("this") && r.caseName.startsWith("B=100"));
  const naive100 = rows.find((r) => r.impl.startsWith("naive") && r.caseName.startsWith("B=100"));
  const oursLimited = throttledRows.find((r) => r.impl.startsWith("this"));
  const oneTripLimit = 100 / (latencyMs / 1000);
  const measuredLimit = ours100?.serverMs ? 100 / (ours100.serverMs / 1000) : 0;
  const allowedShare = ((ours100?.eventsPerSecond ?? 0) / (measuredLimit || 1)) * 100;
  const limitedShare = ((oursLimited?.eventsPerSecond ?? 0) / ceiling) * 100;
  const sustainedShare = (sustained / ceiling) * 100;
  /** Requests per second the stack's default pace allows all instances together: floor(limit / instances) each. */
  const pacedShare = ((Math.floor(rateLimit / concurrency) * concurrency) / rateLimit) * 100;
  const warm = ours100?.warm;
  const kib = (n: number) => fmt(n / 1024, 1);
  // A chunk is named for the tool whose folder holds its entry (lambda/events/<tool>/index.ts), or for what it is.
  const formatOf = (sources: string[]) => {
    const last = sources.at(-1) ?? "";
    return (
      /events\/(label-studio|labelbox|cvat|ground-truth|scale)\/index\.ts$/.exec(last)?.[1] ??
      /events\/kinds\/(mask-png)\.ts$/.exec(last)?.[1] ??
      (sources.some((x) => /delivery\/fetch-masks\.ts$/.test(x)) ? "fetch-masks" : "shared")
    );
  };
  const spread = (values: number[], digits = 1) =>
    values.length > 1
      ? ` (median of ${values.length}; runs ${[...values]
          .sort((a, b) => a - b)
          .map((v) => fmt(v, digits))
          .join(", ")})`
      : "";
  const oneTripShares = repeats.ours100.map((r) =>
    r.serverMs ? (r.eventsPerSecond / (100 / (r.serverMs / 1000))) * 100 : 0,
  );
  const warmRuns = repeats.ours100.map((r) => r.warm?.cpuUsPerEvent ?? r.cpuUsPerEvent);
  const sustainedRuns = repeats.limited.map((r) => (r.sustained / ceiling) * 100);
  const summary = [
    `- Bundled handler: ${fmt(bytes)} bytes minified (${kib(bytes)} KiB) loaded at cold start for canonical events (the entry and the chunks it imports), ${kib(totalBytes)} KiB with every format's chunk; cold module load (fresh node, median of ${quick ? 3 : 7}): ${fmt(coldMs, 1)} ms. Largest parts of the cold start (esbuild's metafile, KiB): ${contributors
      .slice(0, 9)
      .map((c) => `${c.name} ${kib(c.bytes)}`)
      .join(", ")}.`,
    `- Each format's first record loads its adapter (a chunk of its own, esbuild code splitting): ${lazy
      .filter((l) => l.bytes > 0)
      .map((l) => `${formatOf(l.sources)} +${kib(l.bytes)} KiB in ${fmt(l.ms, 1)} ms`)
      .join(
        ", ",
      )} (median of ${quick ? 3 : 5} fresh processes each; mask-png is the PNG decoder, loaded by the first record whose masks are files).`,
    `- Masks read from files (bench/masks.ts): ${maskWork.classes} class masks from one 1920 x 1080 file in ${fmt(maskWork.indexMs, 0)} ms from an indexed PNG (Scale) and ${fmt(maskWork.colorMs, 0)} ms from an RGBA one (Ground Truth, Labelbox), the file decoded once (the first mask, decode included: ${fmt(maskWork.firstMs, 0)} ms); each mask's PNG at most ${fmt(maskWork.pngBytes)} bytes. One file's masks may pass over 10^9 pixels in all (about 480 of 1080p), so a record's masks cannot outlast the function (\`too-many-masks\` above).`,
    `- The deployed asset zipped (as the CDK zips it, source maps included): ${kib(zip.split)} KiB split; ${kib(zip.single)} KiB for the same code as one file of ${kib(zip.singleBytes)} KiB, as it was deployed before the split.`,
    `- Limit at B=100 and ${latencyMs} ms: one round trip per batch = ${fmt(oneTripLimit)} events/s; this handler reached ${fmt(ours100?.eventsPerSecond ?? 0)} events/s = ${fmt(((ours100?.eventsPerSecond ?? 0) / oneTripLimit) * 100, 1)}% of it${naive100?.eventsPerSecond ? `, ${fmt((ours100?.eventsPerSecond ?? 0) / naive100.eventsPerSecond, 1)}x the naive baseline` : ""}.`,
    `- The stand-in's mean answer time in that case was ${fmt(ours100?.serverMs ?? 0, 1)} ms (latency + jitter + its own proto checks), so one round trip per batch allows ${fmt(measuredLimit)} events/s: this handler reached ${fmt(allowedShare, 1)}% of that.`,
    "- CPU µs / event is the worker process's CPU time over the measured events, after a warm-up of 5 batches: all threads, that is the main thread (the handler's code, the HTTP client, GC pauses) and V8's compiler and GC helper threads. Events are built before timing starts. In the rate-limited pass it also includes the local event-source poller's own SQS calls, which Lambda does outside the function. The handler logs one INFO line per batch (per-record lines are DEBUG).",
    `- This handler at B=100: ${fmt(ours100?.cpuUsPerEvent ?? 0, 1)} µs CPU per event over the run (main thread alone ${fmt(ours100?.mainCpuUsPerEvent ?? 0, 1)}); ${warm ? `warm, over the second half of its events (from event ${fmt(warm.fromEvent)} on): ${fmt(warm.cpuUsPerEvent, 1)} µs (main thread ${fmt(warm.mainCpuUsPerEvent, 1)})` : "too few batches to measure it warm"}. The two tell JIT warm-up (the first batches pay for compilation; a Lambda instance draining a queue spends nearly all its life warm) from steady work: when the second half is not cheaper, the cost is the work itself and where V8's major GCs fall, not warm-up.`,
    `- The handler's own code without HTTP (processBatch over batches of 100 with an in-process Clarifai that answers at once, request bodies still serialised; bench/core.ts): ${fmt(coreUs, 1)} µs CPU per event (median of 3: ${core.runs.map((r) => fmt(r, 1)).join(", ")}). The rest of the CPU column is the HTTP client (node:http, loopback TCP), the JSON of Clarifai's answers (each echoes its annotations), and the runtime's JIT and GC threads.`,
    `- Requests per 1,000 events at B=100: ${fmt(ours100 ? (ours100.requests / ours100.delivered) * 1000 : 0, 1)} (minimum the API allows with batches of 100: ${fmt(Math.ceil(1000 / 100), 0)}; with full 128-annotation requests: ${fmt(Math.ceil(1000 / PER_REQUEST))}).`,
    `- Under the ${rateLimit} req/s limit (${concurrency} instances): ${fmt(oursLimited?.eventsPerSecond ?? 0)} annotations/s from the workers' start to the last delivery = ${fmt(limitedShare, 1)}% of the ${fmt(ceiling)}/s ceiling (${rateLimit} x ${PER_REQUEST}); sustained (between the 5th and 95th percentile of arrivals at the stand-in) ${fmt(sustained)}/s = ${fmt(sustainedShare, 1)}%; throttled ${fmt(oursLimited?.throttledPct ?? 0, 2)}% of requests; dead-lettered ${oursLimited?.deadLettered ?? 0}.`,
  ];
  summary.push(
    `- Machine noise while it ran: 1-minute load average ${fmt(noiseStart.load, 2)} at the start and ${fmt(loadAtEnd, 2)} at the end on ${os.cpus().length} cores; CPU steal ${fmt(noise.stealPct, 2)}%; the whole machine was ${fmt(noise.busyPct, 1)}% busy (the benchmark's own processes included). A run on a busy machine shows it here.`,
  );
  const latencySection = quick
    ? "## End-to-end latency\n\nNot measured in a --quick run (it takes a minute of its own).\n"
    : `## End-to-end latency\n\nFrom SendMessage to the annotation existing at Clarifai (the stand-in's created_at), with the stack's defaults: batch size 128, a 5 s batching window, ${concurrency} instances paced at ${Math.floor(rateLimit / concurrency)} requests/s each, Clarifai answering in ${latencyMs} ms + up to ${values.jitter} ms.\n\n| regime | events | p50 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|\n${latencyRows.map((r) => `| ${r.regime} | ${fmt(r.events)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.max)} |`).join("\n")}\n\nA quiet event waits for the batching window (the event source gathers up to 5 s for a full batch): the trickle's latency is that window plus one round trip. \`maxBatchingWindow\` (construct prop) trades it: 1 s cuts a quiet event's wait to about a second, at the price of smaller batches and more Clarifai requests when traffic is light; under load, batches fill before the window ends and the window does not matter. At saturation the latency is the queue's: how long the backlog takes to drain at the rate limit.\n`;
  const profileText = profiled
    ? `Where the main thread spends it, warm (\`npm run bench:profile\`: V8's sampling profiler over the second half of ${fmt(profiled.delivered)} events at B=100, an unminified bundle; ${fmt(profiled.usPerEvent, 1)} µs per event with the profiler's own overhead), the largest self times:\n\n| µs / event | share | function | module |\n|---:|---:|---|---|\n${profiled.rows
        .slice(0, 15)
        .map((r) => `| ${fmt(r.usPerEvent, 2)} | ${fmt(r.share * 100, 1)}% | ${r.fn} | ${r.where} |`)
        .join(
          "\n",
        )}\n\nNo one function holds more than a few percent: validating and parsing JSON in, serialising and sending JSON out, and reading Clarifai's answers (which echo every annotation) make up most of it. The cuts found so far are in: one client and connection per instance, one reused single-metric instance, ids hashed in one call.`
    : "`npm run bench:profile` prints where a warm handler's main thread spends it.";
  const verdict = (met: boolean, by: string) => (met ? "met" : `missed by ${by}`);
  // Each headline figure is the median of its own runs (the tables show the run with the median events/s, whose
  // other figures need not be their medians).
  const median = (values: number[], fallback: number) =>
    values.length
      ? ([...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)] as number)
      : fallback;
  const warmCpu = median(warmRuns, warm?.cpuUsPerEvent ?? ours100?.cpuUsPerEvent ?? 0);
  const oneTripShare = median(oneTripShares, allowedShare);
  const targetsSection = `## Targets

| target | measured | |
|---|---|---|
| cold start: JS loaded before the first record ≤ 115 KiB, canonical events only | ${kib(bytes)} KiB | ${verdict(bytes <= 115 * 1024, `${kib(bytes - 115 * 1024)} KiB`)} |
| cold module load ≤ 50 ms (fresh node, median of ${quick ? 3 : 7}) | ${fmt(coldMs, 1)} ms, of which the AWS SDK's Secrets Manager client alone takes ${fmt(sdkMs, 1)} ms | ${verdict(coldMs <= 50, `${fmt(coldMs - 50, 1)} ms`)} |
| warm CPU ≤ 50 µs / event at B=100, canonical events | ${fmt(warmCpu, 1)} warm${spread(warmRuns)}; the median-throughput run: ${fmt(warm?.cpuUsPerEvent ?? 0, 1)} warm (main thread ${fmt(warm?.mainCpuUsPerEvent ?? 0, 1)}), ${fmt(ours100?.cpuUsPerEvent ?? 0, 1)} over the whole run | ${verdict(warmCpu <= 50, `${fmt(warmCpu - 50, 1)} µs`)} |
| throughput ≥ 90% of the stand-in-measured one-round-trip limit at B=100 | ${fmt(oneTripShare, 1)}%${spread(oneTripShares)} | ${verdict(oneTripShare >= 90, `${fmt(90 - oneTripShare, 1)} points`)} |
| ≥ 92% of ${fmt(ceiling)} annotations/s sustained under the limit, < 0.5% throttled | ${fmt(sustainedShare, 1)}% sustained${spread(sustainedRuns)} (${fmt(limitedShare, 1)}% with the start), ${fmt(oursLimited?.throttledPct ?? 0, 2)}% throttled | ${verdict(sustainedShare >= 92 && (oursLimited?.throttledPct ?? 0) < 0.5, `${fmt(92 - sustainedShare, 1)} points`)} |
| deployed zip (cdk.out asset), before and after the split | ${kib(zip.single)} KiB before, ${kib(zip.split)} KiB after | reported |

Why, where a target is missed:
- **Under the limit**: the stack paces each of its ${concurrency} instances at floor(${rateLimit} / ${concurrency}) = ${Math.floor(rateLimit / concurrency)} requests/s, together ${fmt(pacedShare, 1)}% of the limit, and the sustained figure sits at that ceiling. An instance that never puts more than k requests in any one-second window averages at most k per second, so without coordination between instances ${fmt(pacedShare, 1)}% is the most a sliding-window limit (the stand-in's, and the safe reading of Clarifai's) allows with no throttling; a fractional share lets both instances put their larger count in the same second. More needs a shared token bucket between instances (a DynamoDB conditional write per request) or a single instance (the SQS event source's smallest maxConcurrency is 2). Not built: see docs/performance.md.
- **Cold start**: the adapters are out of it (each loads on its format's first record), and so is zod: records and BRIDGE_MAPPING are checked by validators generated from the zod schemas, the settings are read from a table (lambda/env-settings.ts), and zod loads only to word a refusal; updates and deletes, dead letters and retries, long events and mask files load their code on first use. What is left is the core: Powertools logger, metrics, commons and parameters, middy, our delivery and Clarifai code, the record validators. The module load's floor is not ours: Powertools' parameters import the AWS SDK's Secrets Manager client (${fmt(sdkMs, 1)} ms alone, measured above; the runtime provides it, outside the bundle), which the deployed function needs to read the key before its first record. Loading it on the first invocation instead would move that time into the first batch, not remove it.
- **CPU and throughput at B=100** are one budget: at the stand-in's answer time, 90% of the one-round-trip limit leaves ${fmt(((ours100?.serverMs ?? 0) / 0.9 - (ours100?.serverMs ?? 0)) * 10, 0)} µs of wall time per event for everything else. ${profileText}
`;
  const costs = [...rows.filter((r) => r.caseName.startsWith("B=100")), ...throttledRows];
  const costTable = [
    `| implementation | case | Lambda requests | GB-seconds | SQS requests | cost (USD) |`,
    "|---|---|---:|---:|---:|---:|",
    ...costs.map((r) => {
      const c = costPerMillion(r.delivered, r.invocations, r.billedMs);
      return `| ${r.impl} | ${r.caseName} | ${fmt(c.lambdaRequests)} | ${fmt(c.gbSeconds, 1)} | ${fmt(c.sqsRequests)} | ${fmt(c.dollars, 2)} |`;
    }),
  ].join("\n");
  const costSection = `## Cost per million annotations\n\nFrom each case's measured invocations and durations (rounded up per invocation, as billed), at the stack's defaults: ${MEMORY_GB * 1024} MB on arm64, SQS requests at ${fmt(SQS_REQUESTS_PER_MESSAGE, 1)} per message (batched send, receive and delete, 10 per request). Prices: Lambda $${PRICES.lambdaPerGbSecond} per GB-s and $${fmt(PRICES.lambdaPerRequest * 1e6, 2)} per million requests, SQS $${fmt(PRICES.sqsPerRequest * 1e6, 2)} per million requests; ${PRICES.asOf}, in bench/prices.ts. Durations include the stand-in's ${latencyMs} ms answer time, as a real Clarifai's would be billed; the baselines' figures stop at their time limit.\n\n${costTable}\n`;
  const cpus = os.cpus();
  const settings = `${quick ? "quick, " : ""}events=${events}, latency=${latencyMs} ms + up to ${values.jitter} ms jitter, time limit ${seconds} s per case (baselines stop there), rate limit ${rateLimit} req/s, backlog ${backlogEvents}, concurrency ${concurrency}`;
  const machine = `${cpus.length} x ${cpus[0]?.model ?? "cpu"}, ${fmt(os.totalmem() / 2 ** 30, 0)} GiB, ${os.platform()} ${os.release()}, Node ${process.version}`;
  const memorySection = `## Memory per record kind\n\nThe bundled handler in a process of its own, killed (as Lambda kills it) when its resident memory passes the stack's default 256 MB, given one heavy record; the peak is read from /proc every 2 ms. "Cost" is what the reading budget weighed the record at before reading it (lambda/delivery/reading-budget.ts; its mask files' part once fetched), against the ${fmt(facts.memoryRows[0]?.budgetMb ?? 0)} MB a 256 MB function leaves for a batch's reading. An instance's resident memory with nothing read yet is about 76 MB.\n\n| record | node started | peak RSS MB | time ms | outcome | cost MB |\n|---|---|---:|---:|---|---:|\n${facts.memoryRows.map((r) => `| ${r.kind} | ${r.flags === "lambda" ? "as Lambda starts it (--expose-gc, heap from the memory)" : "node's defaults"} | ${fmt(r.peakMb)} | ${fmt(r.ms)} | ${r.outcome} | ${fmt(r.costMb, 1)} |`).join("\n")}\n`;
  const longSection = `## Long events\n\nOne event of many annotations beside a small Label Studio neighbour, through the real queue: the bundled handler in a warm instance killed past 256 MB, invocations of the given length, 14 requests a second against the stand-in that throttles above 15 (lambda/delivery/long-change.ts). "Requests" are Clarifai's answers other than 429; the floor is the annotations / 128 plus the 4 the batch needs whatever the event (the neighbour's lookup and POST, a GetTask for each task); "resume" is the most requests a continuation made before its first write.\n\n| event | invocation s | annotations | stored | invocations | requests | floor | over floor | resume | 429s | seconds | peak RSS MB | dead letters |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n${facts.longRows.map((r) => `| ${r.case} | ${r.timeoutS} | ${fmt(r.annotations)} | ${fmt(r.stored)} | ${r.invocations} | ${fmt(r.requests)} | ${r.floor === undefined ? "" : fmt(r.floor)} | ${r.floor === undefined ? "" : `${fmt((100 * (r.requests - r.floor)) / r.floor, 1)}%`} | ${r.resumeMax} | ${fmt(r.throttled)} | ${fmt(r.seconds)} | ${fmt(r.peakMb)} | ${r.deadLetters} |`).join("\n")}\n`;
  const importSection = `## Import\n\n\`clarifai-bridge import\` of a Label Studio JSON export (tasks of 3 annotations: a box, a polygon, a choice), the CLI in a process of its own, as a user runs it (no node flags: the bin runs the import in a worker thread whose young generation is held small), against the stand-in answering in 50 ms and throttling above 15 requests a second (bench/import.ts; the median of three runs, the highest peak of the three). The rate is from the first request to the end; its share is of the 15 x 128 = 1,920 annotations a second Clarifai's limit allows. Onto the queue, the figure is the import's own rate (the stack's handlers then deliver at the rate of "Under Clarifai's rate limit" below).\n\n| path | annotations | delivered or queued | seconds | annotations/s | of 1,920/s | first request ms | peak RSS MB | Clarifai requests |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n${facts.importRows.map((r) => `| ${r.path} | ${fmt(r.annotations)} | ${fmt(r.stored)} | ${fmt(r.seconds, 1)} | ${fmt(r.perSecond)} | ${fmt(r.share, 1)}%${r.runs.length > 1 ? ` (${r.runs.map((x) => fmt(x, 1)).join(", ")})` : ""} | ${fmt(r.firstMs)} | ${fmt(r.peakMb)} | ${fmt(r.requests)} |`).join("\n")}\n`;
  const report = `${targetsSection}\n${memorySection}\n${longSection}\n${importSection}\n## Unthrottled (${latencyMs} ms latency)\n\n${table(rows)}\n\n## Under Clarifai's rate limit\n\n${table(throttledRows)}\n\n${summary.join("\n")}\n\n${latencySection}\n${costSection}`;
  return { report, settings, machine };
}

export const fmt = (n: number, digits = 0) =>
  n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

export function table(rows: Row[]): string {
  const head =
    "| implementation | case | events | events/s | Clarifai requests | req / 1,000 events | throttled | p50 batch ms | p99 batch ms | CPU µs / event | peak RSS MB | dead-lettered |";
  const sep = "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|";
  const lines = rows.map(
    (r) =>
      `| ${r.impl} | ${r.caseName} | ${fmt(r.delivered)} | ${fmt(r.eventsPerSecond)} | ${fmt(r.requests)} | ${fmt(r.delivered ? (r.requests / r.delivered) * 1000 : 0, 1)} | ${fmt(r.throttledPct, 1)}% | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.cpuUsPerEvent, 1)} | ${fmt(r.peakRssMb)} | ${r.deadLettered} |`,
  );
  return [head, sep, ...lines].join("\n");
}

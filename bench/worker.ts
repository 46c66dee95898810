import { writeFile } from "node:fs/promises";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { SQSClient } from "@aws-sdk/client-sqs";
import type { SQSEvent } from "aws-lambda";
import {
  LOCAL_APP,
  LOCAL_AWS_CREDENTIALS,
  LOCAL_PAT,
  LOCAL_REGION,
  LOCAL_USER,
} from "../local/environment.js";
import { createPoller, lambdaContext, type SqsHandler, toRecord } from "../local/poller.js";
import { naiveHandler, perRecordHandler } from "./baselines.js";
import { type BenchServices, benchEvent } from "./workload.js";

/**
 * One benchmark case in a process of its own (its own CPU time, peak RSS and module instances): feeds one
 * implementation either synthetic SQS batches directly (`direct`) or batches polled from the embedded queue
 * (`queue`), until N events or T seconds, and writes what it measured to a JSON file.
 */
const { values } = parseArgs({
  options: {
    impl: { type: "string" },
    bundle: { type: "string" },
    batch: { type: "string" },
    events: { type: "string" },
    seconds: { type: "string" },
    mode: { type: "string", default: "direct" },
    services: { type: "string" },
    rate: { type: "string", default: "0" },
    out: { type: "string" },
    instance: { type: "string", default: "0" },
    /** Queue mode: the event source's batching window, ms. */
    window: { type: "string", default: "500" },
    /** Queue mode: poll until the deadline, even through quiet spells (the latency pass's trickle). */
    "until-deadline": { type: "boolean", default: false },
  },
});
const services = JSON.parse(values.services as string) as BenchServices;
const batchSize = Number(values.batch);
const maxEvents = Number(values.events);
let deadline = Date.now() + Number(values.seconds) * 1000;
const stats = async () => (await fetch(`${services.admin}/stats`)).json();

Object.assign(process.env, {
  AWS_REGION: LOCAL_REGION,
  AWS_ACCESS_KEY_ID: LOCAL_AWS_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: LOCAL_AWS_CREDENTIALS.secretAccessKey,
  AWS_ENDPOINT_URL_SQS: services.sqsEndpoint,
  CLARIFAI_API_BASE: services.clarifai,
  CLARIFAI_PAT: LOCAL_PAT,
  CLARIFAI_USER_ID: LOCAL_USER,
  CLARIFAI_APP_ID: LOCAL_APP,
  DEAD_LETTER_QUEUE_URL: services.dlqUrl,
  CLARIFAI_REQUESTS_PER_SECOND: values.rate,
  BACKOFF_BASE_SECONDS: "1",
  BACKOFF_CAP_SECONDS: "2",
});
const target = { apiBase: services.clarifai, userId: LOCAL_USER, appId: LOCAL_APP, pat: LOCAL_PAT };
const handler: SqsHandler =
  values.impl === "ours"
    ? ((await import(pathToFileURL(values.bundle as string).href)) as { handler: SqsHandler }).handler
    : values.impl === "naive"
      ? (naiveHandler(target) as SqsHandler)
      : (perRecordHandler(target) as unknown as SqsHandler);

/** Batches run before measuring, in direct mode. */
const WARMUP_BATCHES = 5;
const latencies: number[] = [];
let delivered = 0;
let failedRecords = 0;
let invocations = 0;
let lastDeliveryAt: number | undefined;
/** The stand-in's counters around the measured part (direct mode), so warm-up requests are not counted. */
let statsBefore: unknown;
let cpuStart = process.cpuUsage();
let threadStart = process.threadCpuUsage();
let started = performance.now();
/**
 * Direct mode: [events so far, process CPU µs, main-thread CPU µs] after every tenth batch and the last, so the
 * report can tell a warm instance's CPU from the first batches' (JIT warm-up from steady work).
 */
const curve: [number, number, number][] = [];

if (values.mode === "direct") {
  // Synthetic batches, built before timing starts, as Lambda's event source would hand them over.
  const batches: SQSEvent[] = [];
  for (let i = 0; i < maxEvents; i += batchSize) {
    batches.push({
      Records: Array.from({ length: Math.min(batchSize, maxEvents - i) }, (_, j) =>
        toRecord(
          {
            MessageId: `m-${values.instance}-${i + j}`,
            ReceiptHandle: `r-${i + j}`,
            Body: JSON.stringify(benchEvent(i + j, `${values.impl}-${values.batch}-${values.instance}`)),
            Attributes: { ApproximateReceiveCount: "1" },
          },
          services.queueArn,
          LOCAL_REGION,
        ),
      ),
    });
  }
  // Warm-up: the first batches pay for JIT compilation and connection set-up; they are delivered, not measured.
  // At most WARMUP_BATCHES, a tenth of the work, or two seconds, so a slow baseline still gets measured.
  const warmupEnd = Date.now() + 2_000;
  let warmup = Math.min(WARMUP_BATCHES, Math.floor(batches.length / 10));
  while (warmup-- > 0 && batches.length > 0 && Date.now() < warmupEnd) {
    await handler(batches.shift() as SQSEvent, lambdaContext("warmup", Date.now() + 60_000));
  }
  statsBefore = await stats();
  deadline = Date.now() + Number(values.seconds) * 1000;
  cpuStart = process.cpuUsage();
  threadStart = process.threadCpuUsage();
  started = performance.now();
  // Each batch is let go once handled, as Lambda lets an event go: a run that kept 20,000 records alive made
  // every major GC of the handler's heap walk them too.
  const total = batches.length;
  for (let event = batches.shift(); event; event = batches.shift()) {
    if (Date.now() > deadline) break;
    const t = performance.now();
    let failed = event.Records.length;
    try {
      const response = await handler(event, lambdaContext(`b-${invocations}`, Date.now() + 60_000));
      failed = response?.batchItemFailures?.length ?? 0;
    } catch {
      // a naive handler fails the whole batch
    }
    latencies.push(performance.now() - t);
    invocations += 1;
    delivered += event.Records.length - failed;
    failedRecords += failed;
    if (invocations % 10 === 0 || invocations === total) {
      const cpuNow = process.cpuUsage(cpuStart);
      const threadNow = process.threadCpuUsage(threadStart);
      curve.push([delivered + failedRecords, cpuNow.user + cpuNow.system, threadNow.user + threadNow.system]);
    }
  }
} else {
  const sqs = new SQSClient({
    region: LOCAL_REGION,
    endpoint: services.sqsEndpoint,
    useQueueUrlAsEndpoint: false,
    credentials: LOCAL_AWS_CREDENTIALS,
  });
  const poller = createPoller({
    sqs,
    queueUrl: services.queueUrl,
    queueArn: services.queueArn,
    handler,
    batchSize,
    maxBatchingWindowMs: Number(values.window),
    onInvoke: (info) => {
      latencies.push(info.ms);
      invocations += 1;
      delivered += info.deleted;
      failedRecords += info.failed;
      if (info.deleted > 0) lastDeliveryAt = performance.now();
    },
  });
  let idle = 0;
  await poller.run((size) => {
    idle = size === 0 ? idle + 1 : 0;
    if (values["until-deadline"]) return Date.now() > deadline;
    return Date.now() > deadline || delivered >= maxEvents || idle >= 2;
  });
}

// Up to the last delivery: a queue-mode worker waits a little at the end to be sure the queue is empty.
const elapsedMs = (lastDeliveryAt ?? performance.now()) - started;
const cpu = process.cpuUsage(cpuStart);
const thread = process.threadCpuUsage(threadStart);
const statsAfter = statsBefore ? await stats() : undefined;
await writeFile(
  values.out as string,
  JSON.stringify({
    delivered,
    failedRecords,
    invocations,
    elapsedMs,
    cpuUs: cpu.user + cpu.system,
    mainThreadCpuUs: thread.user + thread.system,
    curve,
    maxRssKb: process.resourceUsage().maxRSS,
    latencies,
    statsBefore,
    statsAfter,
  }),
);
process.exit(0);

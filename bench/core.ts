import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import type { SQSEvent } from "aws-lambda";
import type { HttpResult } from "../lambda/clarifai/classify.js";
import type { ClarifaiClient } from "../lambda/clarifai/client.js";
import { loadConfig } from "../lambda/config.js";
import { processBatch } from "../lambda/delivery/process-batch.js";
import { createTaskDirectory } from "../lambda/delivery/tasks.js";
import { benchEvent } from "./workload.js";

/**
 * The handler's own CPU per event, without HTTP: `processBatch` over batches of `batchSize` bench events with a
 * Clarifai client that answers at once in process (the request body is still serialised, as the real client
 * does). Separates the bridge's code from the HTTP client, the network and the runtime's threads in the bench's
 * CPU column. Figures, not assertions.
 */
export async function coreCpuPerEvent(batchSize = 100, batches = 300): Promise<number> {
  const config = await loadConfig({
    DEAD_LETTER_QUEUE_URL: "http://127.0.0.1:1/dlq",
    CLARIFAI_PAT: "bench-key",
    CLARIFAI_USER_ID: "bench",
    CLARIFAI_APP_ID: "bench",
  } as NodeJS.ProcessEnv);
  // Its INFO line per batch and its EMF metrics go to stdout, as in Lambda; run.ts starts this file as a process
  // whose stdout is discarded, like the bench workers', so a terminal's cost is not counted.
  const logger = new Logger({ serviceName: "bench-core", logLevel: "INFO" });
  const metrics = new Metrics({ namespace: "bench-core", serviceName: "bench-core" });
  const ok = (annotations: readonly { id: string }[]): HttpResult => ({
    kind: "response",
    httpStatus: 200,
    body: {
      status: { code: 10000 },
      annotations: annotations.map((a) => ({ id: a.id, status: { code: 24150 } })),
    },
  });
  const clarifai: ClarifaiClient = {
    postAnnotations: async (_app, annotations) => {
      JSON.stringify({ annotations });
      return ok(annotations);
    },
    patchAnnotations: async (_app, annotations) => ok(annotations),
    deleteAnnotations: async () => ok([]),
    getTask: async (_app, id) => ({
      kind: "response",
      httpStatus: 200,
      body: { status: { code: 10000 }, task: { id, review: { strategy: "NONE" } } },
    }),
    listAnnotations: async () => ok([]),
  };
  const deps = {
    config,
    clarifai,
    sqs: async () => {
      throw new Error("no SQS calls expected: every event is delivered");
    },
    logger,
    metrics,
    remainingMs: () => 60_000,
    tasks: createTaskDirectory({ ttlMs: 300_000 }),
  };
  const batch = (k: number): SQSEvent => ({
    Records: Array.from({ length: batchSize }, (_, i) => ({
      messageId: `m-${k}-${i}`,
      receiptHandle: "r",
      body: JSON.stringify(benchEvent(k * batchSize + i, "core")),
      attributes: {
        ApproximateReceiveCount: "1",
        SentTimestamp: String(Date.now()),
        SenderId: "bench",
        ApproximateFirstReceiveTimestamp: String(Date.now()),
      },
      messageAttributes: {},
      md5OfBody: "",
      eventSource: "aws:sqs",
      eventSourceARN: "arn:aws:sqs:us-east-1:000000000000:bench",
      awsRegion: "us-east-1",
    })),
  });
  const events = Array.from({ length: batches + 50 }, (_, k) => batch(k));
  for (let k = 0; k < 50; k++) await processBatch(events[k] as SQSEvent, deps as never); // warm-up
  const start = process.cpuUsage();
  for (let k = 50; k < events.length; k++) await processBatch(events[k] as SQSEvent, deps as never);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / (batches * batchSize);
}

// `tsx bench/core.ts --out FILE [--batches N]`: measures in a process of its own and writes {"cpuUsPerEvent"}.
if (process.argv[1]?.endsWith("core.ts")) {
  const { parseArgs } = await import("node:util");
  const { writeFile } = await import("node:fs/promises");
  const { values } = parseArgs({
    options: { out: { type: "string" }, batches: { type: "string", default: "300" } },
  });
  const runs: number[] = [];
  for (let i = 0; i < 3; i++) runs.push(await coreCpuPerEvent(100, Number(values.batches)));
  runs.sort((a, b) => a - b);
  await writeFile(values.out as string, JSON.stringify({ cpuUsPerEvent: runs[1], runs }));
}

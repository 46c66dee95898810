import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { describe, expect, test } from "@jest/globals";
import type { SQSEvent, SQSRecord } from "aws-lambda";
import fc from "fast-check";
import type { ClarifaiClient } from "../../lambda/clarifai/client.js";
import { loadConfig } from "../../lambda/config.js";
import { processBatch } from "../../lambda/delivery/process-batch.js";
import { makeEvent } from "../support/events.js";

const runs = Number(process.env.FUZZ_RUNS ?? 100);
const config = loadConfig({
  DEAD_LETTER_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/1/dlq",
  CLARIFAI_PAT: "k",
  CLARIFAI_USER_ID: "u",
  CLARIFAI_APP_ID: "a",
});
const logger = new Logger({ serviceName: "fuzz", logLevel: "SILENT" });
process.env.POWERTOOLS_METRICS_DISABLED = "true"; // metrics are counted, not printed
const metrics = new Metrics({ namespace: "fuzz", serviceName: "fuzz" });

/** Clarifai that accepts everything it is sent (the Clarifai side is fuzzed in classify.fuzz.test.ts). */
const acceptingClarifai: ClarifaiClient = {
  postAnnotations: async (_app, annotations) => ({
    kind: "response",
    httpStatus: 200,
    body: {
      status: { code: 10000 },
      annotations: annotations.map((a) => ({ id: a.id, status: { code: 24150 } })),
    },
  }),
  patchAnnotations: async (_app, annotations) => ({
    kind: "response",
    httpStatus: 200,
    body: {
      status: { code: 10000 },
      annotations: annotations.map((a) => ({ id: a.id, status: { code: 24250 } })),
    },
  }),
  deleteAnnotations: async () => ({ kind: "response", httpStatus: 200, body: { status: { code: 10000 } } }),
  listAnnotations: async () => ({
    kind: "response",
    httpStatus: 200,
    body: { status: { code: 10000 }, annotations: [] },
  }),
};

/** The one SQS stand-in here: it records what would be dead-lettered (real SQS is covered by the integration tests). */
function recordingSqs() {
  const sent: { body: string; reason: string; errorCode: string }[] = [];
  const client = {
    send: async (command: {
      constructor: { name: string };
      input: {
        Entries?: { MessageBody?: string; MessageAttributes?: Record<string, { StringValue?: string }> }[];
      };
    }) => {
      if (command.constructor.name === "SendMessageBatchCommand") {
        for (const e of command.input.Entries ?? []) {
          sent.push({
            body: e.MessageBody ?? "",
            reason: e.MessageAttributes?.reason?.StringValue ?? "",
            errorCode: e.MessageAttributes?.errorCode?.StringValue ?? "",
          });
        }
        return { Successful: (command.input.Entries ?? []).map((_, i) => ({ Id: String(i) })), Failed: [] };
      }
      return { Successful: [], Failed: [] };
    },
  } as unknown as SQSClient;
  return { client, sent };
}

const record = (body: string, i: number): SQSRecord => ({
  messageId: `m-${i}`,
  receiptHandle: `r-${i}`,
  body,
  attributes: {
    ApproximateReceiveCount: "1",
    SentTimestamp: "0",
    SenderId: "s",
    ApproximateFirstReceiveTimestamp: "0",
  },
  messageAttributes: {},
  md5OfBody: "",
  eventSource: "aws:sqs",
  eventSourceARN: "arn:aws:sqs:us-east-1:1:q",
  awsRegion: "us-east-1",
});

describe("processBatch under arbitrary batches", () => {
  test("never throws; every record is delivered or dead-lettered with its body and a reason; none is dropped", async () => {
    const body = fc.oneof(
      fc.string({ unit: "grapheme" }),
      fc.jsonValue({ maxDepth: 6 }).map((v) => JSON.stringify(v)),
      fc.constant(null).map(() => JSON.stringify(makeEvent())),
      fc.constant(null).map(() => JSON.stringify({ ...makeEvent(), taskId: "" })),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(body, { minLength: 1, maxLength: 20 }), async (bodies) => {
        const sqs = recordingSqs();
        const event: SQSEvent = { Records: bodies.map(record) };
        const response = await processBatch(event, {
          config,
          clarifai: acceptingClarifai,
          sqs: async () => sqs.client,
          logger,
          metrics,
          remainingMs: () => 30_000,
        });
        // With Clarifai accepting everything, nothing needs a retry: valid records are delivered, others dead-lettered.
        expect(response.batchItemFailures).toEqual([]);
        const deadBodies = sqs.sent.map((s) => s.body);
        for (const b of bodies) {
          let valid = false;
          try {
            const parsed = JSON.parse(b) as { specVersion?: unknown; taskId?: unknown };
            valid =
              parsed?.specVersion === "1" &&
              typeof parsed.taskId === "string" &&
              parsed.taskId.length > 0 &&
              b.includes('"concepts"');
          } catch {
            valid = false;
          }
          if (!valid) expect(deadBodies).toContain(b);
        }
        for (const s of sqs.sent) {
          expect(s.reason.length).toBeGreaterThan(0);
          expect(s.errorCode).toMatch(/^[a-z-]+$/);
        }
      }),
      { numRuns: runs },
    );
  });
});

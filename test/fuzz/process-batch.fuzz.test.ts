import { readFileSync } from "node:fs";
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { describe, expect, test } from "@jest/globals";
import type { SQSEvent } from "aws-lambda";
import fc from "fast-check";
import type { ClarifaiClient } from "../../lambda/clarifai/client.js";
import { loadConfig } from "../../lambda/config.js";
import { processBatch } from "../../lambda/delivery/process-batch.js";
import { sqsValueProblem } from "../../lambda/delivery/sqs-safe.js";
import { scrubberFor } from "../../lambda/redact.js";
import { makeEvent } from "../support/events.js";
import { GOLDEN_MAPPING } from "../support/golden.js";
import { sqsRecord } from "../support/record.js";

const runs = Number(process.env.FUZZ_RUNS ?? 100);
const config = await loadConfig({
  DEAD_LETTER_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/1/dlq",
  CLARIFAI_PAT: "k",
  CLARIFAI_USER_ID: "u",
  CLARIFAI_APP_ID: "a",
});
/** A distinctive key, planted in hostile values too: it must never come back in a dead-letter attribute. */
const KEY = "pat-fuzz-51d2-SECRET-key";
const mappedConfig = await loadConfig({
  DEAD_LETTER_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/1/dlq",
  CLARIFAI_PAT: KEY,
  CLARIFAI_USER_ID: "u",
  CLARIFAI_APP_ID: "a",
  BRIDGE_MAPPING: JSON.stringify(GOLDEN_MAPPING),
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
  // Every task exists, without review (task answers are covered by task-work.test.ts and attribution.test.ts).
  getTask: async (_app, taskId) => ({
    kind: "response",
    httpStatus: 200,
    body: { status: { code: 10000 }, task: { id: taskId, review: { strategy: "NONE" } } },
  }),
  listAnnotations: async () => ({
    kind: "response",
    httpStatus: 200,
    body: { status: { code: 10000 }, annotations: [] },
  }),
};

/** The one SQS stand-in here: it records what would be dead-lettered (real SQS is covered by the integration tests). */
function recordingSqs() {
  const sent: { body: string; reason: string; errorCode: string; values: string[] }[] = [];
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
            values: Object.values(e.MessageAttributes ?? {}).map((v) => v.StringValue ?? ""),
          });
        }
        return { Successful: (command.input.Entries ?? []).map((_, i) => ({ Id: String(i) })), Failed: [] };
      }
      return { Successful: [], Failed: [] };
    },
  } as unknown as SQSClient;
  return { client, sent };
}

const record = sqsRecord;

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
        const event: SQSEvent = { Records: bodies.map((b, i) => record(b, i)) };
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

/** Every path to a value in a JSON document, iteratively (objects' keys and arrays' indexes). */
function paths(root: unknown): (string | number)[][] {
  const out: (string | number)[][] = [];
  const stack: { value: unknown; path: (string | number)[] }[] = [{ value: root, path: [] }];
  while (stack.length > 0) {
    const { value, path } = stack.pop() as { value: unknown; path: (string | number)[] };
    if (path.length > 0) out.push(path);
    if (Array.isArray(value))
      for (const [i, v] of value.entries()) stack.push({ value: v, path: [...path, i] });
    else if (value !== null && typeof value === "object")
      for (const [k, v] of Object.entries(value)) stack.push({ value: v, path: [...path, k] });
  }
  return out;
}

/** Replaces the value at `path` (a JSON string inside, as Labelbox v1's `label`, is edited as JSON too). */
function setAt(root: unknown, path: (string | number)[], value: unknown): void {
  let at = root as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) at = at[key] as Record<string | number, unknown>;
  at[path[path.length - 1] as string | number] = value;
}

/** What a hostile or careless sender puts where a value goes. */
const DEEP = "__deep_marker__";
const hostileValue = fc.oneof(
  fc.constantFrom<unknown>(
    null,
    0,
    -1,
    1e308,
    true,
    "",
    ".",
    "..",
    "/",
    [],
    {},
    [null],
    { toString: 1 },
    DEEP,
  ),
  fc.constantFrom<unknown>({ __proto__: null, constructor: "x" }, { toString: "x", valueOf: 1 }, [[[]]]),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ maxLength: 20 }).map((s) => `${s}${KEY}${s}`),
  fc.integer({ min: 1_000, max: 200_000 }).map((n) => "x".repeat(n)),
  fc.jsonValue({ maxDepth: 4 }),
);

const UPSTREAM: readonly { fixture: string; attributes: Record<string, string> }[] = [
  { fixture: "label-studio-created.json", attributes: {} },
  { fixture: "label-studio-rotated.json", attributes: {} },
  { fixture: "label-studio-bulk.json", attributes: {} },
  { fixture: "labelbox-v2-row.json", attributes: { "labelbox-event": "LABEL_UPDATED" } },
  { fixture: "labelbox-v1-created.json", attributes: { "labelbox-event": "LABEL_CREATED" } },
  { fixture: "ground-truth-boxes.json", attributes: {} },
  { fixture: "ground-truth-multilabel.json", attributes: {} },
  { fixture: "scale-imageannotation.json", attributes: {} },
  { fixture: "scale-categorization.json", attributes: {} },
  { fixture: "scale-canceled.json", attributes: { format: "scale" } },
];

/** An upstream fixture with 1 to 3 values replaced by hostile ones (Labelbox v1's `label` text is mutated as JSON). */
const mutatedUpstream = fc
  .record({
    which: fc.nat({ max: UPSTREAM.length - 1 }),
    edits: fc.array(fc.tuple(fc.nat(), hostileValue), { minLength: 1, maxLength: 3 }),
  })
  .map(({ which, edits }) => {
    const { fixture, attributes } = UPSTREAM[which] as (typeof UPSTREAM)[number];
    const doc = JSON.parse(readFileSync(`test/fixtures/upstream/${fixture}`, "utf8")) as Record<
      string,
      unknown
    >;
    const inner = typeof doc.label === "string" ? (JSON.parse(doc.label) as unknown) : undefined;
    for (const [n, value] of edits) {
      const target = inner !== undefined && n % 2 === 0 ? inner : doc;
      const all = paths(target);
      const path = all[n % all.length];
      // A copy: a constant placed twice must not become a cycle when a later edit lands inside it.
      if (path)
        setAt(target, path, value === null || typeof value !== "object" ? value : structuredClone(value));
    }
    if (inner !== undefined) doc.label = JSON.stringify(inner);
    const body = JSON.stringify(doc).replace(`"${DEEP}"`, `${"[".repeat(5_000)}${"]".repeat(5_000)}`);
    return { body, attributes };
  });

describe("processBatch under hostile upstream bodies, with a mapping so they reach the adapters", () => {
  test("no throw; one fate per record; valid neighbours delivered in the same invocation; SQS-valid, key-free dead letters", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(mutatedUpstream, { minLength: 1, maxLength: 12 }), async (hostile) => {
        const sqs = recordingSqs();
        const valid = [makeEvent(), makeEvent()];
        const posted: string[] = [];
        const clarifai: ClarifaiClient = {
          ...acceptingClarifai,
          postAnnotations: async (app, annotations, timeoutMs) => {
            for (const a of annotations) posted.push(a.input_id);
            return acceptingClarifai.postAnnotations(app, annotations, timeoutMs);
          },
        };
        const records = [
          ...hostile.map((h, i) => record(h.body, i, h.attributes)),
          ...valid.map((e, i) => record(JSON.stringify(e), 100 + i)),
        ];
        const response = await processBatch(
          { Records: records },
          {
            config: mappedConfig,
            clarifai,
            sqs: async () => sqs.client,
            logger,
            metrics,
            remainingMs: () => 30_000,
            scrub: scrubberFor([KEY]),
          },
        );
        // Clarifai accepts everything: no record needs a retry; each is delivered or dead-lettered once.
        expect(response.batchItemFailures).toEqual([]);
        for (const r of records)
          expect(sqs.sent.filter((s) => s.body === r.body).length).toBeLessThanOrEqual(
            records.filter((x) => x.body === r.body).length,
          );
        for (const e of valid) {
          expect(posted).toContain(e.inputId);
          expect(sqs.sent.map((s) => s.body)).not.toContain(JSON.stringify(e));
        }
        for (const s of sqs.sent) {
          expect(s.reason.length).toBeGreaterThan(0);
          expect(s.errorCode).toMatch(/^[a-z-]+$/);
          for (const value of s.values) {
            expect(sqsValueProblem(value)).toBeUndefined();
            expect(value).not.toContain(KEY);
          }
        }
      }),
      { numRuns: Math.max(50, Math.floor(runs / 2)) },
    );
  }, 60_000);
});

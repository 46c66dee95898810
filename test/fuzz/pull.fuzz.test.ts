import { readFileSync } from "node:fs";
import { describe, expect, test } from "@jest/globals";
import fc from "fast-check";
import { parseRecord } from "../../lambda/delivery/parse-record.js";
import { MAX_QUEUED_BODY_BYTES, sqsValueProblem } from "../../lambda/delivery/sqs-safe.js";
import { CvatJobError, cvatFrameBodies } from "../../lambda/pull/cvat-job.js";
import { emptyState, planChangedPage, planSweepPage } from "../../lambda/pull/label-studio-reconcile.js";

const runs = Number(process.env.FUZZ_RUNS ?? 200);
const options = { projectId: 12, pageSize: 5, overlapSeconds: 600, initialLookbackSeconds: 86_400 };
const oddValue = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.double(),
  fc.string({ unit: "binary" }),
  fc.constant("\uFFFF\uFFFE\u0000"),
  fc.constant("."),
  fc.constant(".."),
  fc.array(fc.anything(), { maxLength: 3 }),
  fc.dictionary(fc.string(), fc.anything(), { maxKeys: 3 }),
);
const task = fc.record(
  {
    id: fc.oneof(fc.nat(), oddValue),
    updated_at: fc.oneof(
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      oddValue,
    ),
    data: fc.oneof(fc.dictionary(fc.string(), fc.oneof(fc.string({ unit: "binary" }), oddValue)), oddValue),
    annotations: fc.oneof(
      fc.array(
        fc.oneof(
          fc.record({
            id: fc.oneof(fc.nat(), oddValue),
            result: fc.oneof(fc.array(fc.anything()), oddValue),
          }),
          oddValue,
        ),
        { maxLength: 3 },
      ),
      oddValue,
    ),
  },
  { requiredKeys: [] },
);

describe("the puller's plans under hostile tool answers", () => {
  test("a page of arbitrary tasks: never throws; every body is JSON that SQS accepts, under the size limit", () => {
    fc.assert(
      fc.property(fc.array(task, { maxLength: 6 }), (tasks) => {
        const plan = planChangedPage(
          tasks as Record<string, unknown>[],
          emptyState(),
          { since: "x", page: 1 },
          options,
        );
        const again = planChangedPage(
          tasks as Record<string, unknown>[],
          plan.state,
          { since: "x", page: 1 },
          options,
        );
        const swept = planSweepPage(tasks as Record<string, unknown>[], again.state, options);
        for (const body of [...plan.bodies, ...again.bodies, ...swept.bodies]) {
          expect(() => JSON.parse(body)).not.toThrow();
          expect(sqsValueProblem(body)).toBeUndefined();
          expect(Buffer.byteLength(body)).toBeLessThanOrEqual(MAX_QUEUED_BODY_BYTES);
        }
        // State survives storage as JSON.
        expect(JSON.parse(JSON.stringify(swept.state))).toEqual(swept.state);
      }),
      { numRuns: runs },
    );
  });

  test("a 5,000-deep task, a 2 MB annotation and U+FFFF in a label: passed over or escaped, never a stuck page", () => {
    let deep: unknown = "leaf";
    for (let i = 0; i < 5_000; i++) deep = { d: deep };
    const tasks = [
      { id: 1, updated_at: "2026-11-29T10:00:00Z", data: { deep }, annotations: [{ id: 11, result: [] }] },
      {
        id: 2,
        updated_at: "2026-11-29T10:00:01Z",
        data: {},
        annotations: [{ id: 21, result: ["x".repeat(2_000_000)] }],
      },
      {
        id: 3,
        updated_at: "2026-11-29T10:00:02Z",
        data: {},
        annotations: [{ id: 31, result: ["car\uFFFF"] }],
      },
    ];
    const plan = planChangedPage(tasks, emptyState(), { since: "x", page: 1 }, options);
    expect(plan.refused.map((r) => r.taskId)).toEqual(expect.arrayContaining(["2"]));
    expect(plan.state.watermark).toBe("2026-11-29T10:00:02Z");
    const third = plan.bodies.find((b) => b.includes('"id":31'));
    expect(third).toContain("\\uffff");
    expect(JSON.parse(third as string).annotation.result[0]).toBe("car\uFFFF");
  });

  test("a CVAT job with arbitrary shapes and tags: frame bodies or a CvatJobError, and each body gets one fate", () => {
    const api = (f: string) => JSON.parse(readFileSync(`test/fixtures/upstream/cvat-api/${f}`, "utf8"));
    const base = {
      job: api("job-41.json"),
      labels: api("labels-41.json").results,
      meta: api("meta-41.json"),
    };
    const shape = fc.record(
      {
        id: fc.oneof(fc.nat(), oddValue),
        type: fc.oneof(fc.constantFrom("rectangle", "polygon", "points", "mask", "skeleton"), oddValue),
        frame: fc.oneof(fc.integer({ min: -1, max: 3 }), oddValue),
        label_id: fc.oneof(fc.constantFrom(101, 102, 103, 999), oddValue),
        points: fc.oneof(fc.array(fc.double(), { maxLength: 9 }), oddValue),
        rotation: fc.oneof(fc.double(), oddValue),
      },
      { requiredKeys: [] },
    );
    const mapping = { projects: { "cvat:5": { taskId: "t", unsupported: "skip" as const } } };
    fc.assert(
      fc.property(fc.array(shape, { maxLength: 5 }), fc.array(shape, { maxLength: 3 }), (shapes, tags) => {
        let bodies: string[];
        try {
          bodies = cvatFrameBodies({ ...base, annotations: { shapes, tags, tracks: [] } });
        } catch (error) {
          expect(error).toBeInstanceOf(CvatJobError);
          return;
        }
        for (const body of bodies) {
          const parsed = parseRecord(body, {
            taskLink: "both",
            defaultApp: { userId: "u", appId: "a" },
            upstream: mapping,
            attributes: { format: "cvat" },
          });
          if (!parsed.ok) expect(parsed.failure.code).toMatch(/^[a-z-]+$/);
        }
      }),
      { numRuns: runs },
    );
  });
});

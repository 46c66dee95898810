import { describe, expect, test } from "@jest/globals";
import fc from "fast-check";
import { classifyBatch, type HttpResult } from "../../lambda/clarifai/classify.js";
import { STATUS_CODES } from "../../lambda/clarifai/status-codes.js";
import { readTaskAnswer } from "../../lambda/clarifai/task-info.js";

const runs = Number(process.env.FUZZ_RUNS ?? 500);
// Success, or a state of a stored annotation (it exists: delivered).
const SUCCESS_CODES = new Set([10000, 24150, 24151, 24154, 24157, 24158, 24159, 24250, 24251]);
const SUCCESS_NAMES = new Set(
  Object.entries(STATUS_CODES)
    .filter(([, c]) => SUCCESS_CODES.has(c))
    .map(([n]) => n),
);
const saysSuccess = (code: unknown) =>
  (typeof code === "number" && SUCCESS_CODES.has(code)) ||
  (typeof code === "string" && (SUCCESS_NAMES.has(code) || SUCCESS_CODES.has(Number(code))));

const code = fc.oneof(
  fc.constantFrom(...Object.values(STATUS_CODES)),
  fc.constantFrom(...Object.keys(STATUS_CODES)),
  fc.integer(),
  fc.string(),
  fc.constant(null),
);
const status = fc.record(
  { code, description: fc.option(fc.string(), { nil: undefined }) },
  { requiredKeys: [] },
);
const ids = fc.uniqueArray(fc.stringMatching(/^[a-z0-9-]{1,12}$/), { minLength: 1, maxLength: 8 });

describe("classifyBatch under arbitrary answers", () => {
  test("an annotation is delivered only if Clarifai said so for it, or for the whole request", () => {
    fc.assert(
      fc.property(
        ids,
        fc.integer({ min: 100, max: 599 }),
        fc.option(status, { nil: undefined }),
        fc.array(
          fc.record(
            { id: fc.option(fc.string(), { nil: undefined }), status: fc.option(status, { nil: undefined }) },
            { requiredKeys: [] },
          ),
          { maxLength: 10 },
        ),
        fc.boolean(),
        (sent, httpStatus, top, items, shuffleIn) => {
          // Sometimes the items name the sent ids, in another order.
          const named = shuffleIn
            ? items.map((item, i) => ({ ...item, id: sent[(i * 7) % sent.length] }))
            : items;
          const body = top === undefined ? { annotations: named } : { status: top, annotations: named };
          const verdict = classifyBatch({ kind: "response", httpStatus, body }, sent);
          if (verdict.kind === "split") return;
          expect([...verdict.outcomes.keys()].sort()).toEqual([...sent].sort());
          for (const id of sent) {
            if (verdict.outcomes.get(id)?.kind !== "delivered") continue;
            const mine = named.filter((i) => i.id === id && i.status);
            const topSuccess = top !== undefined && "code" in top && saysSuccess(top.code);
            const itemSuccess = mine.some((i) => saysSuccess(i.status?.code));
            const positional =
              named.every((i) => typeof i.id !== "string") &&
              named.length === sent.length &&
              saysSuccess(named[sent.indexOf(id)]?.status?.code);
            expect(topSuccess || itemSuccess || positional).toBe(true);
          }
        },
      ),
      { numRuns: runs },
    );
  });

  test("bodies that are not JSON, truncated or odd never deliver anything", () => {
    fc.assert(
      fc.property(
        ids,
        fc.integer({ min: 100, max: 599 }),
        fc.oneof(fc.string(), fc.constant(undefined), fc.jsonValue()),
        (sent, httpStatus, raw) => {
          const body =
            typeof raw === "object" && raw !== null && "status" in (raw as object) ? undefined : raw;
          const result: HttpResult = { kind: "response", httpStatus, body };
          const verdict = classifyBatch(result, sent);
          if (verdict.kind === "per-annotation")
            for (const o of verdict.outcomes.values()) expect(o.kind).not.toBe("delivered");
        },
      ),
      { numRuns: runs },
    );
  });
});

describe("readTaskAnswer under arbitrary GetTask answers", () => {
  const anything = fc.anything({ maxDepth: 3 });
  const answer = fc.oneof(
    fc.record({
      kind: fc.constant("response" as const),
      httpStatus: fc.integer({ min: 100, max: 599 }),
      body: fc.oneof(
        anything,
        fc.record({
          status: fc.option(status, { nil: undefined }),
          task: fc.option(anything, { nil: undefined }),
        }),
        fc.record({
          status: fc.constant({ code: 10000 }),
          task: fc.record(
            { id: anything, review: fc.record({ strategy: anything }), worker: anything },
            { requiredKeys: [] },
          ),
        }),
      ),
    }),
    fc.record({ kind: fc.constant("transport" as const), timedOut: fc.boolean(), message: fc.string() }),
  );

  test("never throws; missing only on TASK_MISSING or a 404 with a Clarifai status other than a bad path, auth or throttling", () => {
    fc.assert(
      fc.property(answer, (result) => {
        const read = readTaskAnswer(result as HttpResult, "t");
        expect(["found", "missing", "unreadable", "failed"]).toContain(read.kind);
        if (read.kind === "found") expect(result).toMatchObject({ kind: "response", httpStatus: 200 });
        if (read.kind === "missing") {
          const body = (result as { body?: { status?: { code?: unknown } } }).body;
          const c = body?.status?.code;
          const taskMissing = c === 54102 || c === "TASK_MISSING" || c === "54102";
          expect(taskMissing || (result as { httpStatus?: number }).httpStatus === 404).toBe(true);
          expect([11101, "CONN_DOES_NOT_EXIST"]).not.toContain(c);
        }
        if (read.kind === "failed") expect(read.failure.kind).toBe("retryable");
        if (result.kind === "transport") expect(read.kind).toBe("failed");
      }),
      { numRuns: runs },
    );
  });
});

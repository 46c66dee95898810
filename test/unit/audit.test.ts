import { describe, expect, test } from "@jest/globals";
import fc from "fast-check";
import { compareWork } from "../../lambda/audit/compare.js";
import { deadLetterIds, expectedFromBodies, laterTime } from "../../lambda/audit/expected.js";
import { workReport } from "../../lambda/audit/work.js";

/**
 * The audit's pure core: what Clarifai answers and what a dead letter holds are outside input, so every reader is
 * total (any JSON in, a report out); and the comparison's rules, one finding at a time.
 */
const options = {
  taskLink: "both" as const,
  defaultApp: null,
  upstream: { projects: { "label-studio:12": { taskId: "t", labels: { Car: "car" } } } },
};

function lsBody(id: number, updatedAt: string, labeler: number | { id: number; email: string } = 7): string {
  return JSON.stringify({
    action: "ANNOTATION_UPDATED",
    annotation: {
      id,
      task: 1,
      project: 12,
      completed_by: labeler,
      updated_at: updatedAt,
      result: [{ id: "a", from_name: "l", to_name: "image", type: "choices", value: { choices: ["Car"] } }],
    },
    task: { id: 1, data: { clarifai_input_id: "in-1" } },
    project: { id: 12 },
  });
}

const source = (body: string) => ({ body, groupId: "g", origin: "test" });

describe("audit comparison", () => {
  const expected = expectedFromBodies(
    [source(lsBody(1, "2026-11-20T09:00:00.000100Z")), source(lsBody(2, "2026-11-20T09:00:00Z", 8))],
    options,
  );
  const [one, two] = [...expected.annotations.values()];
  const held = (id: string, version: string, extra: Record<string, unknown> = {}) => ({
    id,
    input_id: "in-1",
    data: { metadata: { bridge_occurred_at: version } },
    annotation_info: {
      source: "label-studio",
      labeler: { id: "7" },
      upstream: { system: "label-studio", projectId: "12" },
    },
    ...extra,
  });

  test("the tool's annotations as the bridge derives them, with their labelers and versions", () => {
    expect(expected.annotations.size).toBe(2);
    expect(one).toMatchObject({
      labeler: "label-studio:7",
      version: "2026-11-20T09:00:00.000100Z",
      scope: "label-studio:12",
    });
    expect(two?.labeler).toBe("label-studio:8");
  });

  test("missing, stale (to the microsecond), extra and other annotations, each where it belongs", () => {
    const report = compareWork(
      "t",
      expected,
      [
        held(one?.id as string, "2026-11-20T09:00:00.000000Z"), // a microsecond older: stale
        held("cab-00000000000000000000000000000000", "2026-11-20T09:00:00Z"), // ours, not in the tool: extra
        held("made-by-hand", "2026-11-20T09:00:00Z"), // not the bridge's: left alone
        held("cab-11111111111111111111111111111111", "x", {
          annotation_info: { upstream: { system: "labelbox", projectId: "p" } },
        }), // another source: left alone
      ],
      [],
    );
    expect(report.totals).toMatchObject({
      inTool: 2,
      inClarifai: 2,
      missing: 1,
      stale: 1,
      extra: 1,
      otherInTask: 2,
    });
    expect(report.labelers.find((l) => l.labeler === "label-studio:8")?.missing.map((m) => m.id)).toEqual([
      two?.id,
    ]);
    expect(report.repairBodies).toEqual([0, 1]);
  });

  test("the same version is not stale; a missing one waiting in the DLQ says so, found by its set's base id", () => {
    const report = compareWork(
      "t",
      expected,
      [held(one?.id as string, "2026-11-20T09:00:00.000100Z")],
      [
        {
          messageId: "m-1",
          errorCode: "clarifai-input-missing",
          reason: "no input",
          // By the base id only: an older body's ids may differ from the tool's current ones (regions changed).
          ...deadLetterIds(lsBody(2, "2026-11-19T00:00:00Z", 8), options),
          ids: [],
        },
      ],
    );
    expect(report.totals).toMatchObject({ missing: 1, stale: 0, inDeadLetters: 1 });
    expect(report.labelers.find((l) => l.missing.length)?.missing[0]?.deadLetter?.messageId).toBe("m-1");
  });

  test("a labeler's email and Clarifai user go with the row", () => {
    const withIdentity = expectedFromBodies(
      [source(lsBody(3, "2026-11-20T09:00:00Z", { id: 9, email: "ana@example.com" }))],
      {
        ...options,
        upstream: { ...options.upstream, labelers: { "label-studio:9": "ana-clarifai" } },
      },
    );
    const report = compareWork("t", withIdentity, [], []);
    expect(report.labelers).toEqual([
      expect.objectContaining({
        labeler: "label-studio:9",
        email: "ana@example.com",
        worker: "ana-clarifai",
      }),
    ]);
    expect(compareWork("t", expected, [], []).labelers[0]).not.toHaveProperty("email");
  });

  test("annotations the mapping sends to another task are counted, not compared", () => {
    expect(compareWork("other-task", expected, [], []).totals).toMatchObject({
      inTool: 0,
      missing: 0,
      otherTask: 2,
    });
  });

  test("microseconds decide between times in the same millisecond", () => {
    expect(laterTime("2026-11-20T09:00:00.000101Z", "2026-11-20T09:00:00.000100Z")).toBe(true);
    expect(laterTime("2026-11-20T09:00:00.000100Z", "2026-11-20T09:00:00.000100Z")).toBe(false);
  });
});

describe("work report", () => {
  test("per worker: statuses by code or name, the newest time, the upstream labelers", () => {
    const rows = workReport([
      {
        id: "a",
        worker: { user: { id: "ana" } },
        status: { code: 24150 },
        modified_at: "2026-11-20T09:00:00Z",
        annotation_info: { source: "cvat", labeler: { id: "3" } },
      },
      {
        id: "b",
        worker: { user: { id: "ana" } },
        status: { code: "ANNOTATION_AWAITING_REVIEW" },
        created_at: "2026-11-21T09:00:00Z",
      },
      { id: "c", user_id: "owner", status: { code: 24158 } },
      { id: "d", status: { code: 99 } },
    ]);
    expect(rows.map((r) => [r.worker, r.total])).toEqual([
      ["(key's owner)", 1],
      ["ana", 2],
      ["owner", 1],
    ]);
    const ana = rows.find((r) => r.worker === "ana");
    expect(ana?.byStatus).toMatchObject({ success: 1, "awaiting review": 1 });
    expect(ana?.newest).toBe("2026-11-21T09:00:00Z");
    expect(ana?.upstream).toEqual({ "cvat:3": 1 });
    expect(rows[0]?.byStatus.other).toBe(1);
    expect(rows.find((r) => r.worker === "owner")?.byStatus["review denied"]).toBe(1);
  });

  test("--since keeps what was modified at or after it", () => {
    const rows = workReport(
      [
        { id: "a", modified_at: "2026-11-20T09:00:00Z" },
        { id: "b", modified_at: "2026-11-22T09:00:00Z" },
        { id: "c" },
      ],
      "2026-11-21T00:00:00Z",
    );
    expect(rows.reduce((n, r) => n + r.total, 0)).toBe(1);
  });
});

describe("hostile answers", () => {
  test("any JSON from Clarifai, and any dead-letter body, gives a report and never throws", () => {
    const expected = expectedFromBodies([source(lsBody(1, "2026-11-20T09:00:00Z"))], options);
    fc.assert(
      fc.property(fc.array(fc.jsonValue(), { maxLength: 20 }), fc.string(), (held, body) => {
        const annotations = held.filter(
          (a) => a !== null && typeof a === "object" && !Array.isArray(a),
        ) as Record<string, unknown>[];
        const ids = deadLetterIds(body, options);
        const report = compareWork("t", expected, annotations, [
          { messageId: "m", errorCode: "e", reason: "r", ...ids },
        ]);
        expect(report.totals.inTool).toBe(1);
        expect(workReport(annotations).reduce((n, r) => n + r.total, 0)).toBe(annotations.length);
      }),
      { numRuns: 300 },
    );
  });

  test("bodies the bridge refuses are listed with its reason, not thrown", () => {
    const result = expectedFromBodies(
      [
        source("{"),
        source("null"),
        source("x".repeat(2_000_000)),
        source(`${"[".repeat(5000)}${"]".repeat(5000)}`),
      ],
      options,
    );
    expect(result.annotations.size).toBe(0);
    expect(result.refused.map((r) => r.errorCode)).toEqual([
      "invalid-json",
      "invalid-event",
      "body-too-large",
      "invalid-event",
    ]);
  });
});

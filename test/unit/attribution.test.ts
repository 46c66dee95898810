import { describe, expect, test } from "@jest/globals";
import { attribute, statusFor, statusPolicyOf } from "../../lambda/clarifai/attribution.js";
import { readTaskAnswer } from "../../lambda/clarifai/task-info.js";
import { eventToDeliveries } from "../../lambda/clarifai/to-annotation.js";
import { parseRecord } from "../../lambda/delivery/parse-record.js";
import { type MappingConfig, mappingConfigSchema } from "../../lambda/events/contract/mapping-config.js";
import { makeEvent } from "../support/events.js";

const mapping = (extra: Partial<MappingConfig>): MappingConfig =>
  mappingConfigSchema.parse({ projects: {}, ...extra });

describe("labeler -> Clarifai user", () => {
  const table = mapping({
    labelers: {
      "label-studio:7": "ana-clarifai",
      "Bo@Example.com": "bo-clarifai",
      "worker-42": "gt-worker",
    },
  });

  test("by <source>:<id>, by email in any case (a Labelbox id is its email), by the id alone", () => {
    expect(attribute(makeEvent({ source: "label-studio", labeler: { id: "7" } }), table)).toEqual({
      kind: "worker",
      userId: "ana-clarifai",
    });
    expect(
      attribute(makeEvent({ source: "label-studio", labeler: { id: "8", email: "bo@example.COM" } }), table),
    ).toEqual({ kind: "worker", userId: "bo-clarifai" });
    expect(attribute(makeEvent({ source: "labelbox", labeler: { id: "BO@example.com" } }), table)).toEqual({
      kind: "worker",
      userId: "bo-clarifai",
    });
    expect(
      attribute(makeEvent({ source: "sagemaker-ground-truth", labeler: { id: "worker-42" } }), table),
    ).toEqual({
      kind: "worker",
      userId: "gt-worker",
    });
  });

  test("a producer's clarifaiUserId wins over the table", () => {
    const event = makeEvent({ source: "label-studio", labeler: { id: "7", clarifaiUserId: "direct-user" } });
    expect(attribute(event, table)).toEqual({ kind: "worker", userId: "direct-user" });
  });

  test("the table's keys are looked up as own keys only (no prototype names)", () => {
    expect(attribute(makeEvent({ labeler: { id: "constructor" } }), table)).toEqual({
      kind: "bridge-user",
      unmapped: "test-suite:constructor",
    });
    expect(attribute(makeEvent({ labeler: { id: "__proto__" } }), table).kind).toBe("bridge-user");
  });

  test("unmapped: bridge-user by default (named for the logs); dead-letter refuses, naming the labeler", () => {
    const event = makeEvent({ source: "label-studio", labeler: { id: "99", email: "new@example.com" } });
    expect(attribute(event, table)).toEqual({
      kind: "bridge-user",
      unmapped: "label-studio:99 (new@example.com)",
    });
    const strict = attribute(event, { ...table, unmappedLabelers: "dead-letter" });
    expect(strict).toMatchObject({
      kind: "refused",
      failure: { kind: "permanent", code: "unmapped-labeler" },
    });
    expect(strict.kind === "refused" && strict.failure.reason).toContain("label-studio:99 (new@example.com)");
    const anonymous = attribute(makeEvent(), { ...table, unmappedLabelers: "dead-letter" });
    expect(anonymous).toMatchObject({ kind: "refused", failure: { code: "unmapped-labeler" } });
  });

  test("a mapped labeler's annotations carry worker.user.id; annotation_info.labeler keeps the upstream identity", () => {
    const event = makeEvent({
      labeler: { id: "7", email: "ana@example.com" },
      regions: [
        {
          boundingBox: { top: 0.1, left: 0.1, bottom: 0.5, right: 0.5 },
          concepts: [{ id: "car", value: 1 }],
        },
      ],
    });
    const deliveries = eventToDeliveries(
      event,
      { taskLink: "both", defaultApp: null },
      { worker: "ana-clarifai", statusPolicy: "awaiting-review" },
    );
    expect(deliveries).toHaveLength(2);
    for (const d of deliveries) {
      expect(d.annotation.worker).toEqual({ user: { id: "ana-clarifai" } });
      expect(d.annotation.annotation_info?.labeler).toEqual({ id: "7", email: "ana@example.com" });
      expect(d.statusPolicy).toBe("awaiting-review");
    }
  });

  test("the mapping's user ids are Clarifai ids; a bad one is refused when the mapping is read", () => {
    expect(mappingConfigSchema.safeParse({ labelers: { a: "has space" } }).success).toBe(false);
    expect(mappingConfigSchema.safeParse({ unmappedLabelers: "drop" }).success).toBe(false);
    expect(mappingConfigSchema.safeParse({ status: "approved" }).success).toBe(false);
    expect(mappingConfigSchema.safeParse({ tasks: { "../x": { status: "success" } } }).success).toBe(false);
  });

  test("parseRecord: the dead-letter policy makes an unmapped labeler this record's permanent failure", () => {
    const body = JSON.stringify(makeEvent({ labeler: { id: "stranger" } }));
    expect(
      parseRecord(body, {
        taskLink: "both",
        defaultApp: null,
        upstream: { ...table, unmappedLabelers: "dead-letter" },
      }),
    ).toMatchObject({
      ok: false,
      failure: { code: "unmapped-labeler" },
    });
    const ok = parseRecord(body, { taskLink: "both", defaultApp: null, upstream: table });
    expect(ok.ok && ok.deliveries[0]?.annotation.worker).toBeUndefined();
  });
});

describe("status", () => {
  const m = mapping({
    projects: { "label-studio:12": { taskId: "t-project", status: "pending" } },
    status: "success",
    tasks: { "t-task": { status: "awaiting-consensus-review" } },
  });

  test("the task's override wins over the project's, which wins over the mapping's; from-task by default", () => {
    expect(statusPolicyOf(m, "t-task", "label-studio:12")).toBe("awaiting-consensus-review");
    expect(statusPolicyOf(m, "t-project", "label-studio:12")).toBe("pending");
    expect(statusPolicyOf(m, "other", undefined)).toBe("success");
    expect(statusPolicyOf(mapping({}), "other", undefined)).toBe("from-task");
  });

  test.each([
    ["from-task", "NONE", "ANNOTATION_SUCCESS"],
    ["from-task", "NOT_SET", "ANNOTATION_SUCCESS"],
    ["from-task", "MANUAL", "ANNOTATION_AWAITING_REVIEW"],
    ["from-task", "CONSENSUS", "ANNOTATION_AWAITING_CONSENSUS_REVIEW"],
    ["from-task", undefined, undefined],
    ["success", "MANUAL", "ANNOTATION_SUCCESS"],
    ["pending", undefined, "ANNOTATION_PENDING"],
    ["awaiting-review", "NONE", "ANNOTATION_AWAITING_REVIEW"],
    ["awaiting-consensus-review", "NONE", "ANNOTATION_AWAITING_CONSENSUS_REVIEW"],
  ] as const)("policy %s with review %s posts %s", (policy, review, expected) => {
    expect(statusFor(policy, review)).toBe(expected);
  });
});

describe("reading GetTask answers", () => {
  const ok = (task: unknown) => ({
    kind: "response" as const,
    httpStatus: 200,
    body: { status: { code: 10000 }, task },
  });

  test("review strategy by name or number; workers from workers, and the deprecated users and user_ids", () => {
    const found = readTaskAnswer(
      ok({
        id: "t",
        review: { strategy: 2 },
        worker: {
          workers: [{ user: { id: "a" } }, { model: { id: "m" } }],
          users: [{ id: "b" }],
          user_ids: ["c", 5],
        },
      }),
      "t",
    );
    expect(found).toMatchObject({ kind: "found", task: { id: "t", review: "MANUAL" } });
    expect(found.kind === "found" && [...found.task.workers].sort()).toEqual(["a", "b", "c"]);
    expect(readTaskAnswer(ok({ id: "t", review: { strategy: "CONSENSUS" } }), "t")).toMatchObject({
      task: { review: "CONSENSUS" },
    });
    expect(readTaskAnswer(ok({ id: "t" }), "t")).toMatchObject({ task: { review: "NOT_SET" } });
  });

  test.each([
    ["404 TASK_MISSING", 404, { status: { code: 54102 } }, "missing"],
    ["400 TASK_MISSING", 400, { status: { code: "TASK_MISSING" } }, "missing"],
    ["404 FAILURE", 404, { status: { code: 10020, description: "Resource does not exist" } }, "missing"],
    ["404 bad path (wrong user or app)", 404, { status: { code: 11101 } }, "failed"],
    ["403 TASK_PERMISSION_DENIED", 403, { status: { code: 54103 } }, "unreadable"],
    ["401 insufficient scopes", 401, { status: { code: 11007 } }, "unreadable"],
    ["403 without a Clarifai status", 403, "Forbidden", "unreadable"],
    ["429 throttled", 429, { status: { code: 11005 } }, "failed"],
    ["503", 503, "Service Unavailable", "failed"],
    ["200 without a task", 200, { status: { code: 10000 } }, "failed"],
    ["404 without a Clarifai status (a proxy)", 404, "Not Found", "failed"],
  ])("%s is %s", (_name, httpStatus, body, kind) => {
    expect(readTaskAnswer({ kind: "response", httpStatus, body }, "t").kind).toBe(kind);
  });

  test("a network failure is failed (retried), never missing", () => {
    expect(readTaskAnswer({ kind: "transport", timedOut: true, message: "timeout" }, "t")).toMatchObject({
      kind: "failed",
      failure: { kind: "retryable" },
    });
  });
});

describe("attribution by source: a key that names a source matches only that source's events", () => {
  const table = mapping({
    labelers: {
      "labelbox:ana@example.com": "ana-labelbox",
      "sagemaker-ground-truth:w-9": "gt-nine",
      "bo@example.com": "bo-clarifai",
      "w-10": "bare-ten",
    },
  });
  const strict = { ...table, unmappedLabelers: "dead-letter" as const };

  test("a Label Studio labeler whose id or email spells another tool's key is not that tool's labeler", () => {
    for (const labeler of [
      { id: "labelbox:ana@example.com" },
      { id: "LABELBOX:ANA@example.com" },
      { id: "1", email: "labelbox:ana@example.com" },
      { id: "sagemaker-ground-truth:w-9" },
    ]) {
      const event = makeEvent({ source: "label-studio", labeler });
      expect(attribute(event, table).kind).toBe("bridge-user");
      expect(attribute(event, strict)).toMatchObject({
        kind: "refused",
        failure: { code: "unmapped-labeler" },
      });
    }
  });

  test("the source's own events still match, by id and by email in any case", () => {
    expect(attribute(makeEvent({ source: "labelbox", labeler: { id: "Ana@Example.com" } }), table)).toEqual({
      kind: "worker",
      userId: "ana-labelbox",
    });
    expect(attribute(makeEvent({ source: "sagemaker-ground-truth", labeler: { id: "w-9" } }), table)).toEqual(
      {
        kind: "worker",
        userId: "gt-nine",
      },
    );
  });

  test("unprefixed keys serve every source, by email and by bare id; an id with ':' is data", () => {
    expect(
      attribute(makeEvent({ source: "cvat", labeler: { id: "3", email: "BO@example.com" } }), table),
    ).toEqual({ kind: "worker", userId: "bo-clarifai" });
    expect(attribute(makeEvent({ source: "scale", labeler: { id: "w-10" } }), table)).toEqual({
      kind: "worker",
      userId: "bare-ten",
    });
    const colon = mapping({ labelers: { "label-studio:team:7": "team-seven" } });
    expect(attribute(makeEvent({ source: "label-studio", labeler: { id: "team:7" } }), colon)).toEqual({
      kind: "worker",
      userId: "team-seven",
    });
    expect(attribute(makeEvent({ source: "cvat", labeler: { id: "label-studio:team:7" } }), colon).kind).toBe(
      "bridge-user",
    );
  });
});

import { describe, expect, test } from "@jest/globals";
import { classifyBatch, classifyStatus, type HttpResult } from "../../lambda/clarifai/classify.js";

const kindOf = (code: unknown) => {
  const outcome = classifyStatus(code);
  return outcome.kind === "delivered" ? "delivered" : `${outcome.kind}:${outcome.code}`;
};

describe("classifyStatus follows the table in clarifai-api.md", () => {
  test.each([
    [10000, "delivered"],
    [24150, "delivered"],
    [24151, "delivered"],
    [24157, "delivered"],
    [24154, "delivered"],
    [24158, "delivered"],
    [24159, "delivered"],
    [24250, "delivered"],
    [24251, "delivered"],
    [10030, "retryable:clarifai-server-error"],
    [10020, "retryable:clarifai-server-error"],
    [11000, "retryable:clarifai-auth"],
    [11001, "retryable:clarifai-auth"],
    [11002, "retryable:clarifai-auth"],
    [11007, "retryable:clarifai-auth"],
    [11008, "retryable:clarifai-auth"],
    [11009, "retryable:clarifai-auth"],
    [24156, "retryable:clarifai-auth"],
    [11003, "retryable:clarifai-throttled"],
    [11004, "retryable:clarifai-throttled"],
    [11005, "retryable:clarifai-throttled"],
    [11006, "retryable:clarifai-throttled"],
    [11100, "permanent:clarifai-invalid-request"],
    // "Something wrong with a header" in the proto: a key or header problem an operator fixes, never a dead letter.
    [11102, "retryable:clarifai-auth"],
    [90400, "permanent:clarifai-invalid-request"],
    [11101, "retryable:clarifai-path-not-found"],
    [24152, "retryable:clarifai-annotation-failed"],
    [24252, "retryable:clarifai-annotation-failed"],
    [24155, "permanent:clarifai-invalid-argument"],
    [30102, "retryable:clarifai-input-missing"],
    [30104, "permanent:clarifai-invalid-input"],
    [54102, "retryable:clarifai-task-missing"],
    [40031, "retryable:clarifai-server-error"],
    [40032, "retryable:clarifai-server-error"],
    [98004, "retryable:clarifai-server-error"],
    [98021, "retryable:clarifai-server-error"],
    [99009, "retryable:clarifai-server-error"],
    [90500, "retryable:clarifai-server-error"],
    [40010, "retryable:clarifai-duplicate-id"],
    [12345, "retryable:clarifai-server-error"],
  ])("%d -> %s", (code, expected) => {
    expect(kindOf(code)).toBe(expected);
  });

  test.each([
    ["SUCCESS", "delivered"],
    ["ANNOTATION_SUCCESS", "delivered"],
    ["CONN_THROTTLED", "retryable:clarifai-throttled"],
    ["ANNOTATION_INVALID_ARGUMENT", "permanent:clarifai-invalid-argument"],
    ["10000", "delivered"],
    ["SOMETHING_NEW", "retryable:clarifai-unknown-status"],
    [null, "retryable:clarifai-unknown-status"],
    [{}, "retryable:clarifai-unknown-status"],
  ])("the enum name or odd value %p -> %s", (code, expected) => {
    expect(kindOf(code)).toBe(expected);
  });

  test("a duplicate id and an invalid argument are checked with a GET before anything else is decided", () => {
    expect(classifyStatus(40010)).toMatchObject({ checkExisting: true });
    expect(classifyStatus(24155)).toMatchObject({ checkExisting: true });
    expect(classifyStatus(30104)).not.toHaveProperty("checkExisting");
  });

  test("the description reaches the reason", () => {
    expect(classifyStatus(24155, "bad box")).toMatchObject({
      reason: "24155 ANNOTATION_INVALID_ARGUMENT: bad box",
    });
  });
});

const response = (httpStatus: number, body: unknown, retryAfterSeconds?: number): HttpResult => ({
  kind: "response",
  httpStatus,
  body,
  ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
});
const kinds = (result: HttpResult, ids: string[]) => {
  const verdict = classifyBatch(result, ids);
  if (verdict.kind === "split") return "split";
  return ids.map((id) => {
    const o = verdict.outcomes.get(id);
    return o?.kind === "delivered" ? "delivered" : `${o?.kind}:${o?.code}`;
  });
};

describe("classifyBatch reads a whole answer per annotation", () => {
  test("MIXED_STATUS is matched by id, not by position", () => {
    const body = {
      status: { code: 10010 },
      annotations: [
        { id: "b", status: { code: 30102 } },
        { id: "a", status: { code: 24150 } },
      ],
    };
    expect(kinds(response(207, body), ["a", "b"])).toEqual(["delivered", "retryable:clarifai-input-missing"]);
  });

  test("an annotation the answer does not mention is not delivered", () => {
    const body = { status: { code: 10010 }, annotations: [{ id: "a", status: { code: 24150 } }] };
    expect(kinds(response(207, body), ["a", "b"])).toEqual([
      "delivered",
      "retryable:clarifai-missing-result",
    ]);
  });

  test("items without ids fall back to position only when the counts match", () => {
    const body = {
      status: { code: 10010 },
      annotations: [{ status: { code: 24150 } }, { status: { code: 24155 } }],
    };
    expect(kinds(response(207, body), ["a", "b"])).toEqual([
      "delivered",
      "permanent:clarifai-invalid-argument",
    ]);
    expect(kinds(response(207, { ...body, annotations: body.annotations.slice(0, 1) }), ["a", "b"])).toEqual([
      "retryable:clarifai-missing-result",
      "retryable:clarifai-missing-result",
    ]);
  });

  test("a top-level SUCCESS without item statuses delivers all; FAILURE without items retries all", () => {
    expect(kinds(response(200, { status: { code: 10000 } }), ["a", "b"])).toEqual(["delivered", "delivered"]);
    expect(kinds(response(400, { status: { code: 10020 } }), ["a"])).toEqual([
      "retryable:clarifai-server-error",
    ]);
  });

  test("an item without a status is delivered only under a top-level SUCCESS", () => {
    expect(
      kinds(
        response(200, {
          status: { code: 10000 },
          annotations: [{ id: "a" }, { id: "b", status: { code: 24150 } }],
        }),
        ["a", "b"],
      ),
    ).toEqual(["delivered", "delivered"]);
    expect(
      kinds(
        response(207, {
          status: { code: 10010 },
          annotations: [{ id: "a" }, { id: "b", status: { code: 24150 } }],
        }),
        ["a", "b"],
      ),
    ).toEqual(["retryable:clarifai-missing-result", "delivered"]);
  });

  test("under a top-level SUCCESS, item statuses are states of the stored annotations: all delivered, states kept", () => {
    const body = {
      status: { code: 10000 },
      annotations: [
        { id: "a", status: { code: 24157 } },
        { id: "b", status: { code: "ANNOTATION_REVIEW_DENIED" } },
        { id: "c", status: { code: 24154 } },
        { id: "d", status: { code: 24151 } },
        { id: "e", status: { code: 24150 } },
      ],
    };
    const verdict = classifyBatch(response(200, body), ["a", "b", "c", "d", "e"]);
    if (verdict.kind !== "per-annotation") throw new Error("expected per-annotation");
    expect([...verdict.outcomes.values()].map((o) => o.kind)).toEqual(Array(5).fill("delivered"));
    expect(verdict.outcomes.get("a")).toEqual({
      kind: "delivered",
      state: "24157 ANNOTATION_AWAITING_REVIEW",
    });
    expect(verdict.outcomes.get("b")).toEqual({ kind: "delivered", state: "24158 ANNOTATION_REVIEW_DENIED" });
    expect(verdict.outcomes.get("c")).toEqual({
      kind: "delivered",
      state: "24154 ANNOTATION_UNKNOWN_STATUS",
    });
  });

  test("any permanent whole-request rejection naming no annotation is bisected, whatever its code", () => {
    for (const code of [
      24155,
      "ANNOTATION_INVALID_ARGUMENT",
      30104,
      11100,
      90400,
      30102,
      54102,
      40010,
      24252,
    ])
      expect(kinds(response(400, { status: { code, description: "bad" } }), ["a", "b", "c"])).toBe("split");
    // Not for retryable codes: a throttled or failing request is retried whole.
    expect(kinds(response(400, { status: { code: 11102 } }), ["a", "b"])).toEqual([
      "retryable:clarifai-auth",
      "retryable:clarifai-auth",
    ]);
  });

  test("a request rejected as invalid is split when it carried several annotations, permanent when one", () => {
    const body = { status: { code: "CONN_BAD_REQUEST_FORMAT", description: "bad" } };
    expect(kinds(response(400, body), ["a", "b"])).toBe("split");
    expect(kinds(response(400, body), ["a"])).toEqual(["permanent:clarifai-invalid-request"]);
    expect(kinds(response(413, "too large"), ["a", "b"])).toBe("split");
  });

  test("throttling carries Retry-After; the body's status wins over the HTTP status", () => {
    const verdict = classifyBatch(response(429, { status: { code: 11005 } }, 7), ["a"]);
    expect(verdict.kind === "per-annotation" && verdict.outcomes.get("a")).toMatchObject({
      code: "clarifai-throttled",
      retryAfterSeconds: 7,
    });
    expect(kinds(response(200, { status: { code: 11005 } }), ["a"])).toEqual([
      "retryable:clarifai-throttled",
    ]);
  });

  test.each([
    [429, "retryable:clarifai-throttled"],
    [401, "retryable:clarifai-auth"],
    [403, "retryable:clarifai-auth"],
    [500, "retryable:clarifai-server-error"],
    [502, "retryable:clarifai-server-error"],
    [504, "retryable:clarifai-server-error"],
    [200, "retryable:clarifai-unreadable-answer"],
    [400, "retryable:clarifai-unreadable-answer"],
  ])("HTTP %d without a Clarifai body -> %s", (status, expected) => {
    expect(kinds(response(status, undefined), ["a"])).toEqual([expected]);
    expect(kinds(response(status, "<html>gateway</html>"), ["a"])).toEqual([expected]);
  });

  test("transport failures are retried, naming a timeout as such", () => {
    expect(kinds({ kind: "transport", timedOut: true, message: "TimeoutError" }, ["a"])).toEqual([
      "retryable:clarifai-timeout",
    ]);
    expect(kinds({ kind: "transport", timedOut: false, message: "ECONNRESET" }, ["a"])).toEqual([
      "retryable:network-error",
    ]);
  });
});

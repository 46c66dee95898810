import { describe, expect, test } from "@jest/globals";
import { backoffSeconds, MAX_VISIBILITY_SECONDS } from "../../lambda/delivery/backoff.js";
import { decideFate } from "../../lambda/delivery/decide.js";
import { DELIVERED, permanent, retryable } from "../../lambda/failure.js";

const options = { baseSeconds: 10, capSeconds: 900 };

describe("backoffSeconds", () => {
  test("full jitter: between 1 s and base * 2^(n-1), capped", () => {
    for (let n = 1; n <= 12; n++) {
      const ceiling = Math.min(900, 10 * 2 ** (n - 1));
      expect(backoffSeconds(n, options, undefined, () => 0)).toBe(1);
      expect(backoffSeconds(n, options, undefined, () => 0.999999)).toBe(ceiling);
      for (let i = 0; i < 50; i++) {
        const s = backoffSeconds(n, options);
        expect(s).toBeGreaterThanOrEqual(1);
        expect(s).toBeLessThanOrEqual(ceiling);
      }
    }
  });

  test("Retry-After is a floor, and SQS's 12-hour limit a ceiling", () => {
    expect(backoffSeconds(1, options, 30, () => 0)).toBe(30);
    expect(backoffSeconds(1, options, 99_999, () => 0)).toBe(MAX_VISIBILITY_SECONDS);
    expect(backoffSeconds(1_000, { baseSeconds: 10, capSeconds: 43_200 }, undefined, () => 0.999999)).toBe(
      MAX_VISIBILITY_SECONDS,
    );
  });

  test("odd receive counts are treated as the first attempt", () => {
    expect(backoffSeconds(0, options, undefined, () => 0.999999)).toBe(10);
    expect(backoffSeconds(Number.NaN, options, undefined, () => 0.999999)).toBe(10);
  });
});

describe("decideFate", () => {
  const context = { receiveCount: 1, backoff: options, random: () => 0.5 };

  test("all delivered -> delivered", () => {
    expect(decideFate([DELIVERED, DELIVERED], context)).toEqual({ kind: "delivered" });
  });

  test("any permanent failure dead-letters, even beside retryable ones", () => {
    const fate = decideFate(
      [DELIVERED, retryable("x", "later"), permanent("clarifai-invalid-argument", "bad box")],
      context,
    );
    expect(fate).toMatchObject({
      kind: "dead-letter",
      failure: { code: "clarifai-invalid-argument", reason: "1 of 3 annotations failed; first: bad box" },
    });
  });

  test("retryable failures retry with backoff honouring the largest Retry-After", () => {
    const fate = decideFate(
      [retryable("clarifai-throttled", "slow down", { retryAfterSeconds: 40 }), retryable("x", "y")],
      context,
    );
    expect(fate).toMatchObject({ kind: "retry", visibilityTimeoutSeconds: 40 });
  });

  test("on the queue's last receive a retryable failure is dead-lettered with the reason", () => {
    const fate = decideFate([retryable("clarifai-server-error", "HTTP 503")], {
      ...context,
      receiveCount: 10,
      maxReceiveCount: 10,
    });
    expect(fate).toMatchObject({ kind: "dead-letter", failure: { code: "retries-exhausted" } });
    expect(fate.kind === "dead-letter" && fate.failure.reason).toBe(
      "gave up after 10 receives; last error clarifai-server-error: HTTP 503",
    );
    expect(decideFate([retryable("x", "y")], { ...context, receiveCount: 9, maxReceiveCount: 10 }).kind).toBe(
      "retry",
    );
  });
});

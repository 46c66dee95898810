import { describe, expect, test } from "@jest/globals";
import fc from "fast-check";
import { parseRecord } from "../../lambda/delivery/parse-record.js";
import { makeEvent } from "../support/events.js";

const options = { taskLink: "both" as const, defaultApp: { userId: "u", appId: "a" } };
const runs = Number(process.env.FUZZ_RUNS ?? 300);

/** Every input is classified: accepted with annotations, or refused with a code and a reason. Nothing throws. */
function expectClassified(body: string) {
  const result = parseRecord(body, options);
  if (result.ok) {
    // Creates, or (for an event of more annotations than one request holds) the change that writes them.
    expect(result.deliveries.length + result.changes.length).toBeGreaterThan(0);
  } else {
    expect(result.failure.kind).toBe("permanent");
    expect(result.failure.code).toMatch(/^[a-z-]+$/);
    expect(result.failure.reason.length).toBeGreaterThan(0);
  }
  return result;
}

describe("parseRecord under arbitrary input", () => {
  test("arbitrary strings, including odd Unicode", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), (s) => void expectClassified(s)),
      { numRuns: runs },
    );
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (s) => void expectClassified(s)),
      { numRuns: runs },
    );
  });

  test("arbitrary JSON values and deep nesting", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 20 }), (v) => void expectClassified(JSON.stringify(v))),
      { numRuns: runs },
    );
    const deep = `${"[".repeat(5_000)}${"]".repeat(5_000)}`;
    expectClassified(deep);
    expectClassified(`{"specVersion":"1","metadata":${'{"a":'.repeat(2_000)}1${"}".repeat(2_000)}}`);
  });

  test("huge bodies near and over SQS's size limit", () => {
    const event = makeEvent();
    // Near the limit and valid: 500 polygons of 40 points each.
    const polygon = {
      points: Array.from({ length: 40 }, (_, i) => ({
        x: 0.5 + 0.4 * Math.cos(i / 6.4),
        y: 0.5 + 0.4 * Math.sin(i / 6.4),
      })),
    };
    const regions = Array.from({ length: 500 }, (_, i) => ({
      id: `r${i}`,
      polygon,
      concepts: [{ id: "c", value: 1 }],
    }));
    const near = JSON.stringify({ ...event, regions });
    expect(Buffer.byteLength(near)).toBeGreaterThan(900_000);
    const nearResult = expectClassified(near);
    expect(nearResult.ok ? "ok" : nearResult.failure.reason).toBe("ok");
    // Near the limit in free-form metadata: refused by its own bound (64 KiB), naming the field.
    const blob = JSON.stringify({ ...event, metadata: { blob: "x".repeat(1_040_000) } });
    expect(expectClassified(blob)).toMatchObject({
      ok: false,
      failure: {
        code: "invalid-event",
        reason: expect.stringMatching(/^metadata: is \d+ bytes as JSON, more than 65536/),
      },
    });
    const over = JSON.stringify({ ...event, metadata: { blob: "x".repeat(1_100_000) } });
    expect(expectClassified(over)).toMatchObject({ ok: false, failure: { code: "body-too-large" } });
  });

  test("a near-valid event with one field broken is refused, and the reason names that field", () => {
    const fields = [
      "eventId",
      "type",
      "occurredAt",
      "source",
      "taskId",
      "inputId",
      "concepts",
      "labeler",
      "app",
    ] as const;
    const breakage = fc.oneof(
      fc.constant(undefined),
      fc.constant(null),
      fc.integer(),
      fc.constant(""),
      fc.string({ minLength: 600, maxLength: 700 }),
      fc.constant([]),
      fc.constant({ nonsense: true }),
    );
    fc.assert(
      fc.property(fc.constantFrom(...fields), breakage, (field, value) => {
        const event: Record<string, unknown> = {
          ...makeEvent(),
          labeler: { id: "7" },
          app: { userId: "u", appId: "a" },
        };
        if (value === undefined) delete event[field];
        else event[field] = value;
        const result = parseRecord(JSON.stringify(event), options);
        // Optional fields may legitimately be absent; every other breakage must be refused by name.
        const optional = value === undefined && (field === "labeler" || field === "app");
        const harmless =
          field === "eventId" && typeof value === "string" && value.length <= 512 && value.length > 0;
        if (optional || harmless) return;
        expect(result.ok).toBe(false);
        if (!result.ok) expect(result.failure.reason).toContain(field);
      }),
      { numRuns: runs },
    );
  });

  test("concept values: accepted exactly when 0 <= value <= 1", () => {
    fc.assert(
      fc.property(fc.double({ noNaN: false }), (value) => {
        const result = parseRecord(
          JSON.stringify({ ...makeEvent(), concepts: [{ id: "c", value }] }),
          options,
        );
        const finite = Number.isFinite(value) ? value : Number.NaN;
        // JSON turns NaN and infinities into null, which is not a number (and -0 into 0).
        expect(result.ok).toBe(finite >= 0 && finite <= 1);
      }),
      { numRuns: runs },
    );
  });
});

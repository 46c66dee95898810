import { readFileSync } from "node:fs";
import { describe, expect, test } from "@jest/globals";
import { parseRecord } from "../../lambda/delivery/parse-record.js";
import { GOLDEN_CASES, goldenOptions } from "../support/golden.js";

/**
 * Each upstream fixture against the exact Clarifai bodies it must produce (test/fixtures/upstream/clarifai/, checked
 * by hand: percent and pixels to fractions, Label Studio's rotation in pixels, Ground Truth's class map, multi-label,
 * negatives as 0, x -> col and y -> row, one region per annotation, the task link in both places).
 */
describe("upstream payloads to Clarifai bodies", () => {
  test.each(GOLDEN_CASES.map((c) => [c.fixture, c] as const))("%s", (fixture, c) => {
    const parsed = parseRecord(readFileSync(`test/fixtures/upstream/${fixture}`, "utf8"), goldenOptions(c));
    if (!parsed.ok) throw new Error(`${fixture}: ${parsed.failure.code}: ${parsed.failure.reason}`);
    const expected = JSON.parse(readFileSync(`test/fixtures/upstream/clarifai/${fixture}`, "utf8"));
    expect({
      post: parsed.deliveries.map((d) => d.annotation),
      changes: parsed.changes.map((ch) =>
        ch.kind === "replace"
          ? { kind: ch.kind, annotations: ch.annotations }
          : { kind: ch.kind, baseId: ch.baseId },
      ),
    }).toEqual(expected);
  });
});

import { describe, expect, test } from "@jest/globals";
import { parseRecord } from "../../lambda/delivery/parse-record.js";
import { makeEvent } from "../support/events.js";

const options = { taskLink: "both" as const, defaultApp: { userId: "u", appId: "a" } };
const parse = (value: unknown) =>
  parseRecord(typeof value === "string" ? value : JSON.stringify(value), options);
const failureOf = (value: unknown) => {
  const result = parse(value);
  if (result.ok) throw new Error("expected a failure");
  return result.failure;
};

describe("parseRecord: what is rejected, and how it is explained", () => {
  test.each([
    ["not JSON", "{oops", "invalid-json", /not JSON/],
    ["a JSON array", "[1,2]", "invalid-event", /must be a JSON object/],
    ["a JSON string", '"hello"', "invalid-event", /must be a JSON object/],
    ["null", "null", "invalid-event", /must be a JSON object/],
    ["an unknown shape", { hello: "world" }, "unsupported-format", /keys seen: hello/],
  ])("%s", (_name, body, code, reason) => {
    const failure = failureOf(body);
    expect(failure).toMatchObject({ kind: "permanent", code });
    expect(failure.reason).toMatch(reason);
  });

  test.each([
    ["missing taskId", { taskId: undefined }, /^taskId: is required$/],
    ["empty taskId", { taskId: "" }, /^taskId: .*>=1/],
    ["taskId over 128 characters", { taskId: "t".repeat(129) }, /^taskId: .*<=128/],
    ["inputId over 255 characters", { inputId: "i".repeat(256) }, /^inputId: .*<=255/],
    ["eventId over 512 characters", { eventId: "e".repeat(513) }, /^eventId: .*<=512/],
    ["missing inputId on a create", { inputId: undefined }, /^inputId: is required for annotation.created/],
    ["a value above 1", { concepts: [{ id: "tree", value: 1.5 }] }, /^concepts\[0\]\.value: .*<=1/],
    ["a negative value", { concepts: [{ id: "tree", value: -0.1 }] }, /^concepts\[0\]\.value: .*>=0/],
    ["a concept without a value", { concepts: [{ id: "tree" }] }, /^concepts\[0\]\.value: /],
    [
      "no concepts and no regions",
      { concepts: [] },
      /^concepts: annotation.created needs at least one concept or region/,
    ],
    ["a bad date", { occurredAt: "yesterday" }, /^occurredAt: /],
    ["an upper-case source", { source: "LabelStudio" }, /^source: must be lower-case/],
    ["an unknown field", { colour: "red" }, /colour/],
    ["an unknown event type", { type: "annotation.exploded" }, /^type: /],
    ["an app without appId", { app: { userId: "u" } }, /^app\.appId: /],
    [
      "a box with top below bottom",
      {
        concepts: undefined,
        regions: [
          {
            boundingBox: { top: 0.6, left: 0.1, bottom: 0.5, right: 0.4 },
            concepts: [{ id: "car", value: 1 }],
          },
        ],
      },
      /^regions\[0\]\.boundingBox: top must be less than bottom/,
    ],
    [
      "a region with both a box and a polygon",
      {
        concepts: undefined,
        regions: [
          {
            boundingBox: { top: 0.1, left: 0.1, bottom: 0.5, right: 0.4 },
            polygon: {
              points: [
                { x: 0, y: 0 },
                { x: 1, y: 0 },
                { x: 1, y: 1 },
              ],
            },
            concepts: [{ id: "car", value: 1 }],
          },
        ],
      },
      /^regions\[0\]: a region needs exactly one of boundingBox, polygon, point, keypoints, mask, span/,
    ],
  ])("canonical event with %s names the field and the rule", (_name, change, reason) => {
    const failure = failureOf({ ...makeEvent(), ...change });
    expect(failure).toMatchObject({ kind: "permanent", code: "invalid-event" });
    expect(failure.reason).toMatch(reason);
  });

  test("an unknown specVersion is refused by name", () => {
    expect(failureOf({ ...makeEvent(), specVersion: "2" })).toMatchObject({
      code: "unsupported-spec-version",
      reason: 'specVersion: "2" is not supported; this bridge reads "1"',
    });
  });

  test.each([
    [
      "an update without inputId",
      { type: "annotation.updated", inputId: undefined },
      /^inputId: is required for annotation.updated$/,
    ],
    [
      "a delete without any annotation id",
      { type: "annotation.deleted", concepts: undefined },
      /^annotationId: annotation.deleted needs annotationId or upstream.annotationId$/,
    ],
    [
      "a delete carrying concepts",
      { type: "annotation.deleted", annotationId: "a-1" },
      /^concepts: annotation.deleted carries no concepts or regions$/,
    ],
  ])("%s is refused by name", (_name, change, reason) => {
    const failure = failureOf({ ...makeEvent(), ...change });
    expect(failure).toMatchObject({ kind: "permanent", code: "invalid-event" });
    expect(failure.reason).toMatch(reason);
  });

  test("a body over 1 MiB is refused without parsing", () => {
    expect(failureOf(`"${"x".repeat(1_048_577)}"`)).toMatchObject({ code: "body-too-large" });
  });

  test.each([
    ["no annotations", { annotations: [] }, /^annotations: /],
    [
      "an annotation without input_id",
      { annotations: [{ task_id: "t", data: {} }] },
      /^annotations\[0\]\.input_id: /,
    ],
    [
      "an annotation without a task",
      { annotations: [{ input_id: "i", data: {} }] },
      /^annotations\[0\]\.task_id: needs a task id/,
    ],
    [
      "a deprecated field",
      { annotations: [{ input_id: "i", task_id: "t", data: {}, user_id: "me" }] },
      /user_id/,
    ],
  ])("Clarifai-native body with %s is refused", (_name, body, reason) => {
    const failure = failureOf(body);
    expect(failure.code).toBe("invalid-event");
    expect(failure.reason).toMatch(reason);
  });

  test("many issues are listed, capped with a count", () => {
    const failure = failureOf({ specVersion: "1", colour: "red" });
    expect(failure.reason).toMatch(/^eventId: is required; /);
    expect(failure.reason.split("; ").length).toBeGreaterThanOrEqual(5);
    expect(failure.reason).toMatch(/and \d+ more$/);
  });
});

describe("parseRecord: what is accepted", () => {
  test("a canonical event becomes one delivery per annotation member", () => {
    const result = parse(makeEvent());
    expect(result).toMatchObject({ ok: true, format: "canonical" });
    if (result.ok) expect(result.deliveries).toHaveLength(1);
  });

  test("a Clarifai-native body becomes one delivery per annotation, addressed to its user_app_id", () => {
    const result = parse({
      user_app_id: { user_id: "other", app_id: "elsewhere" },
      annotations: [
        { input_id: "a", task_id: "t", data: { concepts: [{ id: "x", value: 1 }] } },
        { input_id: "b", annotation_info: { task_id: "t" }, data: { concepts: [{ id: "x", value: 0 }] } },
      ],
    });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.deliveries.map((d) => [d.inputId, d.taskId, d.app])).toEqual([
      ["a", "t", { userId: "other", appId: "elsewhere" }],
      ["b", "t", { userId: "other", appId: "elsewhere" }],
    ]);
  });
});

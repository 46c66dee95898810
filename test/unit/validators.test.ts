import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, test } from "@jest/globals";
import fc from "fast-check";
import { detect } from "../../lambda/events/contract/detect.js";
import { mappingConfigSchema } from "../../lambda/events/contract/mapping-config.js";
import { MaskFiles } from "../../lambda/events/contract/mask-files.js";
import { clarifaiNativeBodySchema, labelingEventSchema } from "../../lambda/events/event-schema.js";
import { clarifaiNativeBodyProblem, labelingEventProblem } from "../../lambda/events/generated/validate.js";
import { mappingConfigProblem } from "../../lambda/events/generated/validate-mapping.js";
import { adapterFor, isUpstream } from "../../lambda/events/registry.js";
import { makeEvent } from "../support/events.js";
import { GOLDEN_CASES, goldenOptions } from "../support/golden.js";
import { hostileBodies } from "../support/hostile.js";

/**
 * The validators generated from the zod schemas (lambda/events/generated/validate.ts, what the handler runs: the
 * event's, the Clarifai-native body's and BRIDGE_MAPPING's) and the zod schemas themselves agree: on every example and fixture, every event the adapters make of the upstream
 * fixtures, every hostile body, and a property-based corpus of arbitrary JSON and of valid events and bodies with
 * one part broken. They accept and refuse the same values, and where the generated code refuses, zod reports a
 * problem on the same path (one of them at, above or below it).
 */
type Problem = (value: unknown) => (string | number)[] | undefined;
const PAIRS: [
  string,
  Problem,
  typeof labelingEventSchema | typeof clarifaiNativeBodySchema | typeof mappingConfigSchema,
][] = [
  ["labeling event", labelingEventProblem, labelingEventSchema],
  ["Clarifai-native body", clarifaiNativeBodyProblem, clarifaiNativeBodySchema],
  ["BRIDGE_MAPPING", mappingConfigProblem, mappingConfigSchema],
];

function disagreement(value: unknown): string | undefined {
  for (const [name, problem, schema] of PAIRS) {
    const ours = problem(value);
    const zod = schema.safeParse(value);
    if ((ours === undefined) !== zod.success)
      return `${name}: generated ${ours === undefined ? "accepts" : `refuses at ${JSON.stringify(ours)}`}, zod ${zod.success ? "accepts" : `refuses: ${JSON.stringify(zod.error.issues.map((i) => i.path))}`}`;
    if (ours && !zod.success) {
      const related = zod.error.issues.some((issue) => {
        const a = issue.path.map(String);
        const b = ours.map(String);
        const n = Math.min(a.length, b.length);
        return a.slice(0, n).join("\u0000") === b.slice(0, n).join("\u0000");
      });
      if (!related)
        return `${name}: generated refuses at ${JSON.stringify(ours)}, zod at ${JSON.stringify(zod.error.issues.map((i) => i.path))}`;
    }
  }
  return undefined;
}

const parseOr = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

const validNative = () => ({
  user_app_id: { user_id: "acme", app_id: "street" },
  annotations: [
    {
      id: "a-1",
      input_id: "in-1",
      task_id: "task-1",
      annotation_info: { note: "x" },
      data: { concepts: [{ id: "tree", value: 1 }] },
      input_level: true,
    },
    { input_id: "in-2", task_id: "", annotation_info: { task_id: "task-2" }, data: {} },
  ],
});

const validEvents = () => [
  makeEvent(),
  makeEvent({
    type: "annotation.updated",
    concepts: [],
    labeler: { id: "7", email: "ana@example.com", name: "Ana", clarifaiUserId: "ana" },
    app: { userId: "acme", appId: "street" },
    metadata: { k: [1, { a: null }] },
    upstream: { system: "label-studio", projectId: "12", timeSource: "upstream" },
    regions: [
      {
        id: "r1",
        boundingBox: { top: 0.1, left: 0.1, bottom: 0.5, right: 0.6 },
        concepts: [{ id: "car", value: 1 }],
      },
      {
        polygon: {
          points: [
            { x: 0, y: 0 },
            { x: 1, y: 0 },
            { x: 1, y: 1 },
          ],
        },
        concepts: [{ id: "a", value: 0 }],
      },
      { point: { x: 0.5, y: 0.5, visibility: "visible" }, concepts: [{ id: "p", value: 1 }] },
      { keypoints: { points: [{ x: 0.1, y: 0.2 }] }, concepts: [{ id: "k", value: 1 }] },
      { mask: { png: "iVBORw0KGgoAAAA=" }, concepts: [{ id: "m", value: 1 }] },
      {
        span: { start: 0, end: 4, text: "café" },
        frame: { number: 3, timeMs: 100 },
        trackId: "t",
        concepts: [{ id: "s", value: 1 }],
      },
    ],
  }),
  makeEvent({ type: "annotation.deleted", concepts: undefined, annotationId: "cab-1" }),
];

/** Mappings that use every field: the example's and one with each option set. */
const validMappings = () => [
  JSON.parse(readFileSync("examples/mapping.json", "utf8")),
  {
    projects: {
      "label-studio:12": {
        taskId: "street",
        app: { userId: "acme", appId: "street" },
        inputId: [
          { from: "field", field: "img" },
          { from: "asset" },
          { from: "template", template: "{taskId}" },
        ],
        labels: { Car: "car" },
        negatives: ["water"],
        imageSize: { width: 640, height: 480 },
        rotatedBoxes: "enclosing-box",
        frameRate: 29.97,
        videoFrames: 5,
        maxAnnotationsPerEvent: 1000,
        keypoints: { face: ["nose", "eye"] },
        status: "pending",
        maskOrigins: ["https://api.labelbox.com", "s3://bucket-1/prefix/"],
        unsupported: "skip",
      },
    },
    labelers: { "label-studio:7": "ana" },
    unmappedLabelers: "dead-letter",
    status: "success",
    tasks: { street: { status: "awaiting-review" } },
  },
  {},
];

/** Every path into a JSON value (object keys and array indexes). */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (value === null || typeof value !== "object") return [prefix];
  const out: (string | number)[][] = [prefix];
  for (const [k, v] of Object.entries(value as object))
    out.push(...paths(v, [...prefix, Array.isArray(value) ? Number(k) : k]));
  return out;
}

/** The value with `path` set to `replacement` (undefined: deleted), or an unknown key added there. */
function mutate(value: unknown, path: (string | number)[], replacement: unknown, addKey: boolean): unknown {
  const copy = structuredClone(value);
  if (path.length === 0)
    return addKey && copy && typeof copy === "object" ? { ...copy, extra: 1 } : replacement;
  let at = copy as Record<string | number, unknown>;
  for (const part of path.slice(0, -1)) at = at[part] as Record<string | number, unknown>;
  const last = path[path.length - 1] as string | number;
  if (addKey && at[last] && typeof at[last] === "object" && !Array.isArray(at[last]))
    (at[last] as Record<string, unknown>).unexpected = replacement;
  else if (replacement === undefined && !Array.isArray(at)) delete at[last];
  else at[last] = replacement;
  return copy;
}

/** Values near the schema's edges: empty, the reserved ids, separators, controls, astral characters, limits. */
const edgeValues = fc.oneof(
  fc.constantFrom(
    "",
    ".",
    "..",
    "a/b",
    "a\\b",
    "\u0000",
    "\u0085",
    "\ufffe",
    "😀",
    "e\u0301",
    "x".repeat(256),
    "😀".repeat(128),
  ),
  fc.constantFrom(0, -0, -1, 1, 1.5, 0.5, 2 ** 32, 2 ** 53, -(2 ** 53), 1e308, Number.MIN_VALUE),
  fc.constantFrom(
    null,
    true,
    false,
    [],
    {},
    [null],
    { __proto__: 1 },
    "2026-11-20T09:14:03Z",
    "2026-02-30T00:00:00Z",
  ),
  fc.jsonValue({ maxDepth: 3 }),
);

describe("generated validators agree with zod", () => {
  test("on the examples, the upstream fixtures and the hostile bodies", () => {
    const values: unknown[] = [];
    for (const file of readdirSync("examples/events"))
      values.push(parseOr(readFileSync(`examples/events/${file}`, "utf8")));
    for (const file of readdirSync("test/fixtures/upstream").filter((f) => f.endsWith(".json")))
      values.push(parseOr(readFileSync(`test/fixtures/upstream/${file}`, "utf8")));
    for (const hostile of hostileBodies()) values.push(parseOr(hostile.body));
    values.push(...validEvents(), validNative(), ...validMappings());
    const problems = values.map(disagreement).filter((d) => d !== undefined);
    expect(problems).toEqual([]);
    expect(values.filter((v) => labelingEventProblem(v) === undefined).length).toBeGreaterThan(5);
    expect(validMappings().filter((v) => mappingConfigProblem(v) === undefined)).toHaveLength(3);
  });

  test("on every event the adapters make of the upstream fixtures", () => {
    let events = 0;
    for (const c of GOLDEN_CASES) {
      const options = goldenOptions(c);
      const { format, payload } = detect(
        JSON.parse(readFileSync(`test/fixtures/upstream/${c.fixture}`, "utf8")),
        options.attributes?.format,
      );
      if (!isUpstream(format)) continue;
      const adapted = adapterFor(format)?.(payload, options.upstream ?? { projects: {} }, {
        receivedAt: new Date("2026-11-28T00:00:00Z"),
        masks: new MaskFiles(),
      });
      for (const event of adapted?.ok ? adapted.events : []) {
        events += 1;
        expect(disagreement(event)).toBeUndefined();
        // A valid event with each region, and then each part, broken in turn.
        for (const path of paths(event).slice(0, 200))
          expect(disagreement(mutate(event, path, "", false))).toBeUndefined();
      }
    }
    expect(events).toBeGreaterThan(10);
  });

  test("on arbitrary JSON", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => disagreement(value) === undefined),
      { numRuns: 2000 },
    );
  });

  test("on valid events and bodies with one part replaced, removed or joined by an unknown key", () => {
    const valid = [...validEvents(), validNative(), ...validMappings()];
    fc.assert(
      fc.property(
        fc.constantFrom(...valid),
        fc.nat(),
        edgeValues,
        fc.constantFrom("replace", "remove", "add"),
        (value, index, replacement, how) => {
          const all = paths(value);
          const path = all[index % all.length] as (string | number)[];
          const changed = mutate(value, path, how === "remove" ? undefined : replacement, how === "add");
          const found = disagreement(changed);
          if (found) throw new Error(`${found} for ${JSON.stringify(changed).slice(0, 400)}`);
          return true;
        },
      ),
      { numRuns: 3000 },
    );
  });
});

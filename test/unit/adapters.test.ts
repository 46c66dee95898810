// Over 300 lines: the adapters' shared behaviour across tools, sharing fixtures.
import { readFileSync } from "node:fs";
import { describe, expect, test } from "@jest/globals";
import { parseRecord } from "../../lambda/delivery/parse-record.js";
import type { MappingConfig } from "../../lambda/events/contract/mapping-config.js";
import { fromGroundTruth } from "../../lambda/events/ground-truth/index.js";
import { fromLabelStudio } from "../../lambda/events/label-studio/index.js";
import { GOLDEN_MAPPING } from "../support/golden.js";

const fixture = (name: string) => readFileSync(`test/fixtures/upstream/${name}`, "utf8");
const json = (name: string) => JSON.parse(fixture(name)) as Record<string, unknown>;
/** Label Studio 12 and the two Ground Truth jobs, as the golden bodies are read (test/support/golden.ts). */
const mapping: MappingConfig = GOLDEN_MAPPING;
const received = new Date("2026-11-28T00:00:00Z");
const eventsOf = (result: ReturnType<typeof fromLabelStudio>) => {
  if (!result.ok) throw new Error(`${result.failure.code}: ${result.failure.reason}`);
  return result.events;
};
const close = (v: number) => expect.closeTo(v, 5);

describe("Label Studio", () => {
  test("a created annotation: the box in fractions, the polygon's points, the choice and the configured negative", () => {
    const [event] = eventsOf(fromLabelStudio(json("label-studio-created.json"), mapping, received));
    expect(event).toMatchObject({
      eventId: "label-studio:12:4521:created:2026-11-20T09:14:03.481420Z",
      type: "annotation.created",
      occurredAt: "2026-11-20T09:14:03.481420Z",
      source: "label-studio",
      taskId: "street-audit",
      inputId: "sku-street-0307",
      labeler: { id: "7" },
      concepts: [
        { id: "street", name: "Street", value: 1 },
        { id: "water", value: 0 },
      ],
      upstream: {
        projectId: "12",
        taskId: "3307",
        annotationId: "4521",
        assetRef: "s3://acme-labeling/street/2026-11-20/IMG_20261120_091402.jpg",
      },
      metadata: { ground_truth: false },
    });
    expect(event?.regions).toEqual([
      {
        id: "aB3xK9pLqZ",
        boundingBox: { top: close(0.2), left: close(0.105), bottom: close(0.5), right: close(0.355) },
        concepts: [{ id: "car", name: "Car", value: 1 }],
      },
      {
        id: "Pq1Zr8sT2u",
        polygon: {
          points: [
            { x: 0.5, y: 0.5 },
            { x: 0.7, y: 0.5 },
            { x: 0.7, y: 0.8 },
            { x: 0.5, y: 0.8 },
          ].map((p) => ({ x: close(p.x), y: close(p.y) })),
        },
        concepts: [{ id: "cyclist", name: "Cyclist", value: 1 }],
      },
    ]);
  });

  test("a rotated box is rotated in pixels around its top-left corner, then becomes a polygon (or its enclosing box)", () => {
    // x=160, y=180, w=320, h=90 px on 1600x900, 30 degrees.
    const cos = Math.cos(Math.PI / 6);
    const sin = Math.sin(Math.PI / 6);
    const corners = [
      [160, 180],
      [160 + 320 * cos, 180 + 320 * sin],
      [160 + 320 * cos - 90 * sin, 180 + 320 * sin + 90 * cos],
      [160 - 90 * sin, 180 + 90 * cos],
    ].map(([x, y]) => ({ x: close((x as number) / 1600), y: close((y as number) / 900) }));
    const [event] = eventsOf(fromLabelStudio(json("label-studio-rotated.json"), mapping, received));
    expect(event?.regions?.[0]?.polygon?.points).toEqual(corners);
    expect(event?.inputId).toBe("IMG_0042"); // no clarifai_input_id: the asset's name

    const enclosing = {
      projects: {
        "label-studio:12": {
          ...mapping.projects["label-studio:12"],
          taskId: "t",
          rotatedBoxes: "enclosing-box" as const,
        },
      },
    };
    const [boxed] = eventsOf(fromLabelStudio(json("label-studio-rotated.json"), enclosing, received));
    expect(boxed?.regions?.[0]?.boundingBox?.left).toBeCloseTo((160 - 90 * sin) / 1600, 5);
    expect(boxed?.regions?.[0]?.boundingBox?.bottom).toBeCloseTo((180 + 320 * sin + 90 * cos) / 900, 5);
  });

  test("a rotated box without the image size is refused by name", () => {
    const payload = json("label-studio-rotated.json");
    const result = (payload.annotation as { result: Record<string, unknown>[] }).result[0] as Record<
      string,
      unknown
    >;
    delete result.original_width;
    expect(fromLabelStudio(payload, mapping, received)).toMatchObject({
      ok: false,
      failure: { code: "rotation-needs-image-size" },
    });
  });

  test("a skipped (cancelled) annotation is acknowledged: no event, no dead letter", () => {
    expect(fromLabelStudio(json("label-studio-cancelled.json"), mapping, received)).toEqual({
      ok: true,
      events: [],
    });
    expect(
      parseRecord(fixture("label-studio-cancelled.json"), {
        taskLink: "both",
        defaultApp: null,
        upstream: mapping,
      }),
    ).toMatchObject({ ok: true, deliveries: [] });
  });

  test("ANNOTATIONS_CREATED fans out, each annotation with its own task", () => {
    const events = eventsOf(fromLabelStudio(json("label-studio-bulk.json"), mapping, received));
    expect(events.map((e) => [e.inputId, e.concepts])).toEqual([
      [
        "in-3601",
        [
          { id: "street", name: "Street", value: 1 },
          { id: "water", value: 0 },
        ],
      ],
      ["in-3602", [{ id: "water", name: "Water", value: 1 }]],
    ]);
  });

  test("a project with no mapping is refused, naming the missing key", () => {
    expect(fromLabelStudio(json("label-studio-created.json"), { projects: {} }, received)).toMatchObject({
      ok: false,
      failure: { code: "missing-mapping", reason: expect.stringContaining('"label-studio:12"') },
    });
  });

  test("a webhook without its payload, and result types Clarifai cannot hold, are refused clearly", () => {
    expect(fromLabelStudio({ action: "ANNOTATION_CREATED" }, mapping, received)).toMatchObject({
      ok: false,
      failure: { code: "label-studio-no-payload" },
    });
    const payload = json("label-studio-created.json");
    (payload.annotation as { result: unknown[] }).result.push({
      id: "k1",
      from_name: "points",
      type: "ellipselabels",
      value: {},
    });
    expect(fromLabelStudio(payload, mapping, received)).toMatchObject({
      ok: false,
      failure: { code: "unsupported-result-type", reason: expect.stringContaining('"points"') },
    });
  });

  test("created, updated and deleted events of one annotation address one set of Clarifai annotations", () => {
    const options = { taskLink: "both" as const, defaultApp: null, upstream: mapping, receivedAt: received };
    const created = parseRecord(JSON.stringify(json("label-studio-created.json")), options);
    const updatedPayload = { ...json("label-studio-created.json"), action: "ANNOTATION_UPDATED" };
    expect(eventsOf(fromLabelStudio(updatedPayload, mapping, received))[0]?.type).toBe("annotation.updated");
    const updated = parseRecord(JSON.stringify(updatedPayload), options);
    const deleted = parseRecord(
      JSON.stringify({
        action: "ANNOTATIONS_DELETED",
        annotations: [{ id: 4521 }, { id: 2 }],
        project: { id: 12 },
      }),
      options,
    );
    if (!created.ok || !updated.ok || !deleted.ok) throw new Error("expected all three to parse");
    // Label Studio creates are applied as changes too (a late create must not bring back removed boxes).
    expect(created.deliveries).toEqual([]);
    expect(updated.deliveries).toEqual([]);
    const [create] = created.changes;
    const [replace] = updated.changes;
    expect(replace).toMatchObject({ kind: "replace", inputId: "sku-street-0307", taskId: "street-audit" });
    if (replace?.kind !== "replace" || create?.kind !== "replace") throw new Error("expected replaces");
    // The update's set is the created set, member for member: same ids, same content, a later time.
    expect(replace.baseId).toBe(create.baseId);
    expect(replace.annotations.map((a) => a.id)).toEqual(create.annotations.map((a) => a.id));
    expect(replace.annotations.map((a) => a.data)).toEqual(create.annotations.map((a) => a.data));
    expect(create.annotations.length).toBe(3);
    // Deletes carry no input: one change per id, the first addressing the same base id.
    expect(deleted.changes.map((c) => [c.kind, c.inputId, c.eventId])).toEqual([
      ["delete", undefined, "label-studio:12:4521:deleted"],
      ["delete", undefined, "label-studio:12:2:deleted"],
    ]);
    expect(deleted.changes[0]?.baseId).toBe(replace.baseId);
    expect(deleted.changes[1]?.baseId).not.toBe(replace.baseId);
  });

  test("a cancelled update deletes the set (its input is known); an update that removed everything empties it", () => {
    const options = { taskLink: "both" as const, defaultApp: null, upstream: mapping, receivedAt: received };
    const base = json("label-studio-created.json") as { annotation: Record<string, unknown> };
    const cancelled = {
      ...base,
      action: "ANNOTATION_UPDATED",
      annotation: { ...base.annotation, was_cancelled: true, result: [] },
    };
    const emptied = { ...base, action: "ANNOTATION_UPDATED", annotation: { ...base.annotation, result: [] } };
    const a = parseRecord(JSON.stringify(cancelled), options);
    const b = parseRecord(JSON.stringify(emptied), options);
    expect(a).toMatchObject({ ok: true, changes: [{ kind: "delete", inputId: "sku-street-0307" }] });
    expect(b).toMatchObject({ ok: true, changes: [{ kind: "replace", annotations: [] }] });
  });
});

test("Label Studio taxonomy: each selection's last node is a choice, of the image or of the region sharing its id", () => {
  const body = json("label-studio-created.json") as { annotation: { result: Record<string, unknown>[] } };
  body.annotation.result = [
    {
      id: "tax1",
      from_name: "kind",
      to_name: "image",
      type: "taxonomy",
      value: {
        taxonomy: [
          ["Scene", "Street"],
          ["Vehicle", "Car"],
        ],
      },
    },
  ];
  const [event] = eventsOf(fromLabelStudio(body, mapping, received));
  // Street and Car, renamed by the project's labels; Water is the project's negative.
  expect(event?.concepts?.map((c) => [c.id, c.value])).toEqual([
    ["street", 1],
    ["car", 1],
    ["water", 0],
  ]);
});

describe("SageMaker Ground Truth", () => {
  test("a multi-label classification line: selected classes positive, configured negatives 0, time read as UTC", () => {
    const [event] = eventsOf(fromGroundTruth(json("ground-truth-multilabel.json"), mapping));
    expect(event).toMatchObject({
      taskId: "shelf-q4",
      inputId: "store-118-aisle-4",
      occurredAt: "2026-11-21T14:05:00.123456Z",
      concepts: [
        { id: "price-tag-missing", value: 1 },
        { id: "out-of-stock", value: 1 },
        { id: "planogram-ok", value: 0 },
      ],
      upstream: {
        projectId: "shelf-audit",
        annotationId: "shelf-audit:s3://acme-gt/shelves/store-118-aisle-4.jpg",
      },
    });
  });

  test("a bounding-box line: pixels to fractions with image_size, labels through class-map, clamped to the image", () => {
    const [event] = eventsOf(fromGroundTruth(json("ground-truth-boxes.json"), mapping));
    expect(event?.inputId).toBe("IMG_0307");
    expect(event?.regions).toEqual([
      {
        id: "box-0",
        boundingBox: { top: close(0.1), left: close(0.1), bottom: close(0.3), right: close(0.3) },
        concepts: [{ id: "car", value: 1 }],
      },
      {
        id: "box-1",
        boundingBox: { top: close(0.8), left: close(0.9), bottom: 1, right: 1 },
        concepts: [{ id: "cyclist", value: 1 }],
      },
    ]);
  });

  test("named entities (text-span): AWS's own example, end exclusive, offsets in code points, the text each covers", () => {
    const ner = { projects: { "sagemaker-ground-truth:example-ner-labeling-job": { taskId: "docs-ner" } } };
    const [event] = eventsOf(fromGroundTruth(json("ground-truth-ner.json"), ner));
    expect(event?.inputId).toBe("doc-sagemaker-0001");
    // AWS's example: 22 to 53 is "cloud machine-learning platform" (31 characters), 75 to 88 "November 2017".
    expect(event?.regions?.[0]).toEqual({
      id: "span-0",
      span: { start: 22, end: 53, text: "cloud machine-learning platform" },
      concepts: [{ id: "Thing", value: 1 }],
    });
    expect(event?.regions?.map((r) => r.span?.text)).toEqual([
      "cloud machine-learning platform",
      "edge-devices",
      "launched",
      "deploy",
      "November 2017",
      "developers",
      "developers",
    ]);
    // Code points, as Python counts: an emoji before the entity moves it by one, not two.
    // biome-ignore lint/suspicious/noExplicitAny: the test edits the fixture freely
    const line = json("ground-truth-ner.json") as Record<string, any>;
    line.source = `😀${line.source}`;
    line["example-ner-labeling-job"].annotations.entities = [
      { label: "Thing", startOffset: 23, endOffset: 54 },
    ];
    const [shifted] = eventsOf(fromGroundTruth(line, ner));
    expect(shifted?.regions?.[0]?.span?.text).toBe("cloud machine-learning platform");
    line["example-ner-labeling-job"].annotations.entities = [
      { label: "Thing", startOffset: 270, endOffset: 290 },
    ];
    expect(fromGroundTruth(line, ner)).toMatchObject({ ok: false, failure: { code: "degenerate-region" } });
  });

  test("text classification lines read as image classification does", () => {
    // biome-ignore lint/suspicious/noExplicitAny: the test edits the fixture freely
    const line = json("ground-truth-multilabel.json") as Record<string, any>;
    const attr = Object.keys(line).find((k) => k.endsWith("-metadata")) as string;
    line[attr].type = "groundtruth/text-classification-multilabel";
    const [event] = eventsOf(fromGroundTruth(line, mapping));
    expect(event?.concepts?.filter((c) => c.value === 1).map((c) => c.id)).toEqual([
      "price-tag-missing",
      "out-of-stock",
    ]);
  });

  test("a line not labeled yet is acknowledged; an SNS envelope is unwrapped", () => {
    expect(fromGroundTruth({ "source-ref": "s3://b/x.jpg" }, mapping)).toEqual({ ok: true, events: [] });
    const envelope = JSON.stringify({
      Type: "Notification",
      MessageId: "m",
      Message: fixture("ground-truth-boxes.json").trim(),
    });
    const parsed = parseRecord(envelope, { taskLink: "both", defaultApp: null, upstream: mapping });
    expect(parsed).toMatchObject({ ok: true, format: "sagemaker-ground-truth" });
    if (parsed.ok) expect(parsed.deliveries).toHaveLength(2); // one Clarifai annotation per box
  });
});

describe("detection", () => {
  test("the format attribute wins; shapes decide otherwise; unknown shapes name their keys", () => {
    const options = { taskLink: "both" as const, defaultApp: null, upstream: mapping };
    expect(parseRecord(fixture("label-studio-created.json"), options)).toMatchObject({
      ok: true,
      format: "label-studio",
    });
    expect(
      parseRecord(fixture("label-studio-created.json"), { ...options, attributes: { format: "v7" } }),
    ).toMatchObject({
      ok: false,
      failure: { code: "unsupported-format", reason: 'format attribute "v7" is not supported' },
    });
    // The attribute wins even when the body is another tool's: read as a CVAT frame, it is refused as one.
    expect(
      parseRecord(fixture("label-studio-created.json"), { ...options, attributes: { format: "cvat" } }),
    ).toMatchObject({ ok: false, failure: { code: "invalid-upstream" } });
    expect(parseRecord(JSON.stringify({ event: "update:job", job: {} }), options)).toMatchObject({
      ok: false,
      failure: { code: "unsupported-format", reason: expect.stringContaining("keys seen: event, job") },
    });
  });
});

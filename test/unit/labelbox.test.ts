import { readFileSync } from "node:fs";
import { describe, expect, test } from "@jest/globals";
import { parseRecord } from "../../lambda/delivery/parse-record.js";
import type { MappingConfig } from "../../lambda/events/contract/mapping-config.js";
import { fromLabelbox } from "../../lambda/events/labelbox/index.js";

const fixture = (name: string) => readFileSync(`test/fixtures/upstream/${name}`, "utf8");
const json = (name: string) => JSON.parse(fixture(name)) as Record<string, unknown>;
const project = "labelbox:clx0pr0000street";
const mapping: MappingConfig = {
  projects: {
    [project]: {
      taskId: "street-audit",
      labels: { Car: "car", Cyclist: "cyclist", Street: "street", Pothole: "pothole", Debris: "debris" },
      negatives: ["water"],
      imageSize: { width: 960, height: 540 }, // for v1 bodies, which carry no size
    },
  },
};
const received = new Date("2026-11-28T00:00:00Z");
const close = (v: number) => expect.closeTo(v, 5);
const eventsOf = (result: ReturnType<typeof fromLabelbox>) => {
  if (!result.ok) throw new Error(`expected events, got ${result.failure.code}: ${result.failure.reason}`);
  return result.events;
};
const options = { taskLink: "both" as const, defaultApp: null, upstream: mapping, receivedAt: received };

describe("Labelbox", () => {
  test("a v2 (export row) update: pixels to fractions with media_attributes, answers as concepts, negatives 0", () => {
    const [event] = eventsOf(
      fromLabelbox(json("labelbox-v2-row.json"), mapping, { topic: "LABEL_UPDATED", receivedAt: received }),
    );
    expect(event).toEqual({
      specVersion: "1",
      eventId: "labelbox:clx0lb00000042:LABEL_UPDATED:2026-11-21T10:05:30.250+00:00",
      type: "annotation.updated",
      occurredAt: "2026-11-21T10:05:30.250+00:00",
      source: "labelbox",
      taskId: "street-audit",
      inputId: "sku-street-0412", // the data row's global key
      labeler: { id: "ana@example.com" },
      concepts: [
        { id: "street", name: "Street", value: 1 },
        { id: "pothole", name: "Pothole", value: 1 },
        { id: "debris", name: "Debris", value: 1 },
        { id: "water", value: 0 },
      ],
      regions: [
        {
          id: "ftbox00000001",
          boundingBox: { top: close(0.1), left: close(0.1), bottom: close(0.4), right: close(0.35) },
          concepts: [{ id: "car", name: "Car", value: 1 }],
        },
        {
          id: "ftpoly0000002",
          // the repeated closing point is dropped; media_attributes (1920x1080) win over the configured size
          polygon: {
            points: [
              { x: close(0.5), y: close(0.5) },
              { x: close(0.7), y: close(0.5) },
              { x: close(0.7), y: close(0.8) },
            ],
          },
          concepts: [{ id: "cyclist", name: "Cyclist", value: 1 }],
        },
      ],
      upstream: {
        system: "labelbox",
        projectId: "clx0pr0000street",
        taskId: "clx0dr00000412",
        annotationId: "clx0lb00000042",
        assetRef: "https://storage.example.com/street/2026-11-21/IMG_0412.jpg",
        revision: "2026-11-21T10:05:30.250+00:00",
        timeSource: "upstream",
      },
      // The free-text answer has no concept: dropped, and listed.
      metadata: { bridge_skipped: ['text "Notes"'] },
    });
  });

  test("a v1 body: the label JSON string is parsed; the configured image size scales the box", () => {
    const [event] = eventsOf(
      fromLabelbox(json("labelbox-v1-created.json"), mapping, {
        topic: "LABEL_CREATED",
        deliveryId: "dlv-1",
        receivedAt: received,
      }),
    );
    expect(event).toMatchObject({
      type: "annotation.created",
      eventId: "labelbox:clx0lb00000077:LABEL_CREATED:dlv-1",
      occurredAt: received.toISOString(),
      inputId: "IMG_0077.jpg", // no global key: the external id
      concepts: [
        { id: "street", name: "Street", value: 1 },
        { id: "water", value: 0 },
      ],
      regions: [
        {
          id: "ftbox00000077",
          boundingBox: { top: close(0.1), left: close(0.1), bottom: close(0.3), right: close(0.3) },
        },
      ],
      upstream: { timeSource: "received", deliveryId: "dlv-1" },
    });
  });

  test("created, updated and deleted address one set; the delete looks the set up through its task", () => {
    const body = fixture("labelbox-v1-created.json");
    const created = parseRecord(body, { ...options, attributes: { "labelbox-event": "LABEL_CREATED" } });
    const deleted = parseRecord(fixture("labelbox-v1-deleted.json"), {
      ...options,
      attributes: { format: "labelbox", "labelbox-event": "LABEL_DELETED" },
    });
    expect(created).toMatchObject({
      ok: true,
      format: "labelbox",
      deliveries: [],
      changes: [{ kind: "replace" }],
    });
    expect(deleted).toMatchObject({ ok: true, changes: [{ kind: "delete", taskId: "street-audit" }] });
    if (!created.ok || !deleted.ok) throw new Error("expected both to parse");
    expect(deleted.changes[0]?.inputId).toBeUndefined();
    expect(deleted.changes[0]?.baseId).toBe(created.changes[0]?.baseId);
  });

  test("a delete without an input id is refused by name when the task travels only in annotation_info", () => {
    const deleted = parseRecord(fixture("labelbox-v1-deleted.json"), {
      ...options,
      taskLink: "annotation_info",
      attributes: { format: "labelbox", "labelbox-event": "LABEL_DELETED" },
    });
    expect(deleted).toMatchObject({
      ok: false,
      failure: { kind: "permanent", code: "delete-needs-task-id" },
    });
  });

  test("a skipped label deletes the set; reviews and other topics are acknowledged and ignored", () => {
    const row = json("labelbox-v2-row.json") as {
      projects: Record<string, { labels: Record<string, unknown>[] }>;
    };
    const label = row.projects.clx0pr0000street?.labels[0] as Record<string, unknown>;
    label.performance_details = { skipped: true };
    expect(
      eventsOf(fromLabelbox(row, mapping, { topic: "LABEL_UPDATED", receivedAt: received })),
    ).toMatchObject([{ type: "annotation.deleted", inputId: "sku-street-0412" }]);
    expect(
      fromLabelbox(json("labelbox-v2-row.json"), mapping, { topic: "REVIEW_CREATED", receivedAt: received }),
    ).toEqual({
      ok: true,
      events: [],
    });
  });

  test("an empty created label is acknowledged; an empty updated one empties the set", () => {
    const empty = {
      id: "lb-empty",
      label: JSON.stringify({ objects: [], classifications: [] }),
      dataRow: { id: "dr-1" },
      project: { id: "clx0pr0000street" },
    };
    const plain = { projects: { [project]: { taskId: "street-audit" } } };
    expect(fromLabelbox(empty, plain, { topic: "LABEL_CREATED", receivedAt: received })).toEqual({
      ok: true,
      events: [],
    });
    expect(
      eventsOf(fromLabelbox(empty, plain, { topic: "LABEL_UPDATED", receivedAt: received })),
    ).toMatchObject([{ type: "annotation.updated", inputId: "dr-1" }]);
  });

  test("refusals name what is missing: the project mapping, the image size, a region Clarifai cannot hold", () => {
    expect(
      fromLabelbox(json("labelbox-v2-row.json"), { projects: {} }, { receivedAt: received }),
    ).toMatchObject({
      ok: false,
      failure: { code: "missing-mapping", reason: expect.stringContaining(`"${project}"`) },
    });
    const noSize = { projects: { [project]: { taskId: "street-audit" } } };
    expect(fromLabelbox(json("labelbox-v1-created.json"), noSize, { receivedAt: received })).toMatchObject({
      ok: false,
      failure: {
        code: "missing-image-size",
        reason: expect.stringContaining(`imageSize in the mapping for ${project}`),
      },
    });
    const row = json("labelbox-v2-row.json") as {
      projects: Record<string, { labels: { annotations: { objects: unknown[] } }[] }>;
    };
    row.projects.clx0pr0000street?.labels[0]?.annotations.objects.push({
      feature_id: "ln1",
      name: "Lane",
      annotation_kind: "ImagePolyline",
      line: [],
    });
    expect(fromLabelbox(row, mapping, { receivedAt: received })).toMatchObject({
      ok: false,
      failure: { code: "unsupported-result-type", reason: expect.stringContaining('"Lane" (ImagePolyline)') },
    });
    expect(
      parseRecord(
        JSON.stringify({ id: "x", label: "{oops", dataRow: {}, project: { id: "clx0pr0000street" } }),
        options,
      ),
    ).toMatchObject({
      ok: false,
      failure: { code: "invalid-event", reason: expect.stringContaining('"label" is not JSON') },
    });
  });

  test("both body versions are recognised by shape, without a format attribute", () => {
    expect(parseRecord(fixture("labelbox-v2-row.json"), options)).toMatchObject({
      ok: true,
      format: "labelbox",
    });
    expect(parseRecord(fixture("labelbox-v1-created.json"), options)).toMatchObject({
      ok: true,
      format: "labelbox",
    });
  });
});

import { describe, expect, test } from "@jest/globals";
import {
  baseAnnotationId,
  eventToDeliveries,
  nativeToDeliveries,
} from "../../lambda/clarifai/to-annotation.js";
import { makeEvent } from "../support/events.js";

const both = { taskLink: "both" as const, defaultApp: { userId: "u", appId: "a" } };

describe("annotation ids are deterministic", () => {
  test("the event's annotationId is used as given", () => {
    expect(baseAnnotationId(makeEvent({ annotationId: "ann-7" }))).toBe("ann-7");
  });

  test("otherwise the same source and event id always give the same id, and a different event another", () => {
    const event = makeEvent({ eventId: "evt-1", source: "label-studio" });
    expect(baseAnnotationId(event)).toBe(baseAnnotationId({ ...event, inputId: "somewhere-else" }));
    expect(baseAnnotationId(event)).toMatch(/^cab-[0-9a-f]{32}$/);
    expect(baseAnnotationId(event)).not.toBe(baseAnnotationId({ ...event, eventId: "evt-2" }));
    expect(baseAnnotationId(event)).not.toBe(baseAnnotationId({ ...event, source: "labelbox" }));
  });

  test("an upstream annotation id wins over the event id, so every event about one upstream annotation addresses one id", () => {
    const a = makeEvent({ eventId: "e1", upstream: { projectId: "12", annotationId: "4521" } });
    const b = makeEvent({ eventId: "e2", upstream: { projectId: "12", annotationId: "4521" } });
    expect(baseAnnotationId(a)).toBe(baseAnnotationId(b));
  });

  test("a native annotation without an id gets one derived from its content, whatever the key order", () => {
    const one = nativeToDeliveries(
      { annotations: [{ input_id: "i", task_id: "t", data: { concepts: [{ id: "c", value: 1 }] } }] },
      both,
    );
    const two = nativeToDeliveries(
      { annotations: [{ data: { concepts: [{ value: 1, id: "c" }] }, task_id: "t", input_id: "i" }] },
      both,
    );
    expect(one[0]?.annotation.id).toMatch(/^cab-/);
    expect(one[0]?.annotation.id).toBe(two[0]?.annotation.id);
  });
});

describe("the mapping to Clarifai", () => {
  test("the task id goes to task_id and annotation_info.task_id; provenance to annotation_info; negatives say 0", () => {
    const event = makeEvent({
      labeler: { id: "7" },
      concepts: [
        { id: "tree", name: "Tree", value: 1 },
        { id: "water", value: 0 },
      ],
    });
    const [delivery] = eventToDeliveries(event, both);
    expect(delivery?.annotation).toEqual({
      id: baseAnnotationId(event),
      input_id: event.inputId,
      task_id: event.taskId,
      annotation_info: {
        task_id: event.taskId,
        event_id: event.eventId,
        source: event.source,
        occurred_at: event.occurredAt,
        upstream_annotation_id: baseAnnotationId(event),
        labeler: { id: "7" },
      },
      data: {
        concepts: [
          { id: "tree", name: "Tree", value: 1 },
          { id: "water", value: 0 },
        ],
        // The version again where an overwrite certainly writes it.
        metadata: { bridge_occurred_at: event.occurredAt },
      },
    });
    expect(delivery?.app).toEqual({ userId: "u", appId: "a" });
  });

  test.each([
    ["task_id", true, false],
    ["annotation_info", false, true],
  ] as const)("task link mode %s puts the task id only there", (mode, topLevel, inInfo) => {
    const [delivery] = eventToDeliveries(makeEvent(), { ...both, taskLink: mode });
    expect("task_id" in (delivery?.annotation ?? {})).toBe(topLevel);
    expect("task_id" in (delivery?.annotation.annotation_info ?? {})).toBe(inInfo);
  });

  test("the event's app overrides the configured one", () => {
    const [delivery] = eventToDeliveries(makeEvent({ app: { userId: "x", appId: "y" } }), both);
    expect(delivery?.app).toEqual({ userId: "x", appId: "y" });
  });

  test("each region becomes its own annotation (one region per Clarifai annotation), with x->col and y->row", () => {
    const event = makeEvent({
      concepts: [{ id: "street", value: 1 }],
      regions: [
        {
          id: "r1",
          boundingBox: { top: 0.1, left: 0.2, bottom: 0.5, right: 0.6 },
          concepts: [{ id: "car", value: 1 }],
        },
        {
          id: "r2",
          polygon: {
            points: [
              { x: 0.1, y: 0.2 },
              { x: 0.3, y: 0.2 },
              { x: 0.3, y: 0.9 },
            ],
          },
          concepts: [{ id: "bike", value: 1 }],
        },
      ],
    });
    const deliveries = eventToDeliveries(event, both);
    expect(deliveries).toHaveLength(3);
    const base = baseAnnotationId(event);
    expect(deliveries.map((d) => d.annotation.id)).toEqual([
      base,
      expect.stringMatching(`^${base}-r-[0-9a-f]{12}$`),
      expect.stringMatching(`^${base}-r-`),
    ]);
    expect(new Set(deliveries.map((d) => d.annotation.id)).size).toBe(3);
    // No client-chosen region ids: the member's annotation id carries the region's identity.
    expect(deliveries[1]?.annotation.data).toEqual({
      metadata: { bridge_occurred_at: event.occurredAt },
      regions: [
        {
          region_info: { bounding_box: { top_row: 0.1, left_col: 0.2, bottom_row: 0.5, right_col: 0.6 } },
          data: { concepts: [{ id: "car", value: 1 }] },
        },
      ],
    });
    expect(deliveries[2]?.annotation.data).toEqual({
      metadata: { bridge_occurred_at: event.occurredAt },
      regions: [
        {
          region_info: {
            polygon: {
              points: [
                { row: 0.2, col: 0.1 },
                { row: 0.2, col: 0.3 },
                { row: 0.9, col: 0.3 },
              ],
            },
          },
          data: { concepts: [{ id: "bike", value: 1 }] },
        },
      ],
    });
  });

  test("a native body keeps its fields and gains the missing half of the task link", () => {
    const [delivery] = nativeToDeliveries(
      {
        annotations: [
          {
            id: "mine",
            input_id: "i",
            annotation_info: { task_id: "t", note: "x" },
            data: { concepts: [{ id: "c" }] },
          },
        ],
      },
      both,
    );
    expect(delivery?.annotation).toEqual({
      id: "mine",
      input_id: "i",
      task_id: "t",
      annotation_info: { task_id: "t", note: "x" },
      data: { concepts: [{ id: "c" }] },
    });
  });
});

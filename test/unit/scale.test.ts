import { readFileSync } from "node:fs";
import { describe, expect, test } from "@jest/globals";
import { parseRecord } from "../../lambda/delivery/parse-record.js";
import type { MappingConfig } from "../../lambda/events/contract/mapping-config.js";
import { fromScale } from "../../lambda/events/scale/index.js";

const fixture = () =>
  JSON.parse(readFileSync("test/fixtures/upstream/scale-imageannotation.json", "utf8")) as {
    task: Record<string, unknown> & { metadata: Record<string, unknown> };
    response: { annotations: Record<string, unknown>[] };
  };
const mapping = (extra: Record<string, unknown> = {}): MappingConfig => ({
  projects: { "scale:street-boxes": { taskId: "street-audit", ...extra } },
});
const events = (body: unknown, m = mapping()) => {
  const result = fromScale(body as Record<string, unknown>, m);
  if (!result.ok) throw new Error(`${result.failure.code}: ${result.failure.reason}`);
  return result.events;
};
const failure = (body: unknown, m = mapping()) => {
  const result = fromScale(body as Record<string, unknown>, m);
  return result.ok ? undefined : result.failure;
};

describe("Scale callbacks", () => {
  test("a rotated box without vertices is rotated around its centre, clockwise in radians, as Scale's vertices say", () => {
    const withVertices = events(fixture())[0]?.regions?.[1]?.polygon?.points ?? [];
    const body = fixture();
    delete (body.response.annotations[1] as { vertices?: unknown }).vertices;
    const computed = events(body)[0]?.regions?.[1]?.polygon?.points ?? [];
    expect(computed).toHaveLength(4);
    computed.forEach((p, i) => {
      expect(p.x).toBeCloseTo(withVertices[i]?.x ?? Number.NaN, 4);
      expect(p.y).toBeCloseTo(withVertices[i]?.y ?? Number.NaN, 4);
    });
    // rotatedBoxes: enclosing-box makes it the box around those corners.
    const [enclosed] =
      events(fixture(), mapping({ rotatedBoxes: "enclosing-box" }))[0]?.regions?.slice(1, 2) ?? [];
    expect(enclosed?.boundingBox?.top).toBeCloseTo(67.23 / 1080, 4);
    expect(enclosed?.boundingBox?.right).toBeCloseTo(1166.14 / 1920, 4);
  });

  test("the image size comes from task.metadata or the mapping, never guessed", () => {
    const body = fixture();
    delete body.task.metadata.width;
    delete body.task.metadata.height;
    expect(failure(body)).toMatchObject({ code: "missing-image-size" });
    expect(events(body, mapping({ imageSize: { width: 1920, height: 1080 } }))[0]?.regions).toHaveLength(3);
    body.task.metadata.image_width = "1920";
    body.task.metadata.image_height = "1080";
    expect(events(body)[0]?.regions).toHaveLength(3);
  });

  test("lines, points, cuboids and ellipses are refused by name, or skipped and recorded per mapping", () => {
    const body = fixture();
    body.response.annotations.push({
      uuid: "l1",
      type: "line",
      label: "lane",
      vertices: [
        { x: 1, y: 1 },
        { x: 5, y: 5 },
      ],
    });
    expect(failure(body)).toMatchObject({
      code: "unsupported-result-type",
      reason: expect.stringContaining('line "lane"'),
    });
    const [event] = events(body, mapping({ unsupported: "skip" }));
    expect(event?.regions).toHaveLength(3);
    expect(event?.metadata).toEqual({ bridge_skipped: ['line "lane"'] });
  });

  test("ids: the event from the task and its time; the set from the task id; a later audit callback replaces it", () => {
    const [first] = events(fixture());
    expect(first).toMatchObject({
      eventId: "scale:6512a7c4e1b8f9001f3c2d41:2026-11-20T10:15:42.510Z",
      type: "annotation.updated",
      upstream: { annotationId: "6512a7c4e1b8f9001f3c2d41", projectId: "street-boxes" },
    });
    const audit = fixture();
    audit.task.updated_at = "2026-11-21T12:00:00.000Z";
    audit.response.annotations.splice(1, 2);
    const [second] = events(audit);
    expect(second?.occurredAt).toBe("2026-11-21T12:00:00.000Z");
    expect(second?.regions).toHaveLength(1);
    // Both parse into a replace of the same annotation set: the later one wins by the ordering check.
    const base = (body: unknown) => {
      const parsed = parseRecord(JSON.stringify(body), {
        taskLink: "both",
        defaultApp: null,
        upstream: mapping(),
      });
      return parsed.ok ? parsed.changes[0]?.baseId : undefined;
    };
    expect(base(fixture())).toBe(base(audit));
  });

  test("pending tasks and creation errors send nothing; unknown task types and missing mappings are refused", () => {
    expect(events({ ...fixture(), task: { ...fixture().task, status: "pending" } })).toEqual([]);
    expect(events({ ...fixture(), task: { ...fixture().task, status: "error" } })).toEqual([]);
    expect(failure({ ...fixture(), task: { ...fixture().task, type: "lidarannotation" } })).toMatchObject({
      code: "unsupported-result-type",
    });
    expect(failure(fixture(), { projects: {} })).toMatchObject({ code: "missing-mapping" });
    // The batch's mapping is tried when the project has none.
    expect(
      events(fixture(), { projects: { "scale:street-boxes-2026-11-20": { taskId: "t" } } })[0]?.taskId,
    ).toBe("t");
  });

  test("hostile shapes are refused by path, never thrown", () => {
    // No annotations at all: the set as it is now is empty (an update that empties it), not an error.
    for (const response of [null, { annotations: null }, { annotations: [] }])
      expect(events({ ...fixture(), response })[0]).toMatchObject({ type: "annotation.updated" });
    for (const response of [
      { annotations: [null] },
      { annotations: [{ type: "box", left: "1" }] },
      { annotations: "x" },
    ])
      expect(failure({ ...fixture(), response })).toMatchObject({
        code: "invalid-upstream",
        reason: expect.stringContaining("response"),
      });
    expect(failure({ task: { task_id: null }, response: {} })).toMatchObject({ code: "invalid-upstream" });
    expect(
      failure({ task: { ...fixture().task, completed_at: "yesterday", updated_at: null } }),
    ).toMatchObject({
      code: "invalid-upstream",
    });
  });
});

test("Label Studio and Labelbox: one unsupported object no longer sinks the annotation under unsupported: skip", () => {
  const ls = JSON.parse(readFileSync("test/fixtures/upstream/label-studio-created.json", "utf8"));
  ls.annotation.result.push({
    id: "kp1",
    from_name: "joints",
    to_name: "image",
    type: "ellipselabels",
    value: { x: 1, y: 2, radiusX: 3, radiusY: 4, rotation: 0, ellipselabels: ["Knee"] },
  });
  const lsMapping = (unsupported?: "skip") => ({
    projects: { "label-studio:12": { taskId: "street-audit", ...(unsupported ? { unsupported } : {}) } },
  });
  const refused = parseRecord(JSON.stringify(ls), {
    taskLink: "both",
    defaultApp: null,
    upstream: lsMapping(),
  });
  expect(refused).toMatchObject({ ok: false, failure: { code: "unsupported-result-type" } });
  const skipped = parseRecord(JSON.stringify(ls), {
    taskLink: "both",
    defaultApp: null,
    upstream: lsMapping("skip"),
  });
  if (!skipped.ok) throw new Error(skipped.failure.reason);
  const annotations = skipped.changes.flatMap((c) => (c.kind === "replace" ? c.annotations : []));
  expect(annotations.length).toBeGreaterThan(0);
  for (const a of annotations) {
    // The ellipse, skipped per mapping, and the free-text note, always dropped: both listed.
    const listed = ['textarea "notes"', 'ellipselabels "joints"']; // in result order
    expect(a.annotation_info?.skipped).toEqual(listed);
    expect((a.annotation_info?.metadata as { bridge_skipped?: unknown } | undefined)?.bridge_skipped).toEqual(
      listed,
    );
  }

  const lb = JSON.parse(readFileSync("test/fixtures/upstream/labelbox-v2-row.json", "utf8"));
  const project = Object.values(lb.projects)[0] as { labels: { annotations: { objects: unknown[] } }[] };
  project.labels[0]?.annotations.objects.push({
    feature_id: "pl1",
    name: "Pothole",
    annotation_kind: "ImagePolyline",
    line: [
      { x: 1, y: 2 },
      { x: 3, y: 4 },
    ],
  });
  const lbMapping = (unsupported?: "skip") => ({
    projects: {
      "labelbox:clx0pr0000street": { taskId: "street-audit", ...(unsupported ? { unsupported } : {}) },
    },
  });
  const options = (m: MappingConfig) => ({
    taskLink: "both" as const,
    defaultApp: null,
    upstream: m,
    attributes: { "labelbox-event": "LABEL_CREATED" },
  });
  expect(parseRecord(JSON.stringify(lb), options(lbMapping()))).toMatchObject({
    ok: false,
    failure: { code: "unsupported-result-type" },
  });
  const kept = parseRecord(JSON.stringify(lb), options(lbMapping("skip")));
  expect(kept.ok).toBe(true);
});

test("older task types without a geometry type: corners alone are a polygon, left/top/width/height a box; an unrotated box with corners stays a box", () => {
  const body = fixture();
  body.task.type = "polygonannotation";
  body.response.annotations = [
    {
      uuid: "p1",
      label: "pedestrian",
      vertices: [
        { x: 0, y: 0 },
        { x: 960, y: 0 },
        { x: 960, y: 540 },
      ],
    },
    { uuid: "b1", label: "car", left: 0, top: 0, width: 960, height: 540 },
    {
      uuid: "b2",
      type: "box",
      label: "car",
      left: 0,
      top: 0,
      width: 960,
      height: 540,
      rotation: 0,
      vertices: [
        { x: 0, y: 0 },
        { x: 960, y: 0 },
        { x: 960, y: 540 },
        { x: 0, y: 540 },
      ],
    },
  ];
  const regions = events(body)[0]?.regions ?? [];
  expect(regions.map((r) => (r.polygon ? "polygon" : "box"))).toEqual(["polygon", "box", "box"]);
  expect(regions[2]?.boundingBox).toEqual({ top: 0, left: 0, bottom: 0.5, right: 0.5 });
});

// Over 300 lines: the puller's pure parts (Label Studio reconciliation, CVAT job frames), one describe each, sharing fixtures.
import { readFileSync } from "node:fs";
import { describe, expect, test } from "@jest/globals";
import { parseRecord } from "../../lambda/delivery/parse-record.js";
import { fromCvat } from "../../lambda/events/cvat/index.js";
import { CvatJobError, cvatFrameBodies, jobToPull } from "../../lambda/pull/cvat-job.js";
import {
  changedTasksQuery,
  emptyState,
  filterTime,
  later,
  planChangedPage,
  planSweepPage,
  readState,
  runStart,
} from "../../lambda/pull/label-studio-reconcile.js";
import { parsePullerConfig, parsePullerTokens } from "../../lambda/pull/puller-config.js";
import { pullCvatJob, reconcileLabelStudio } from "../../lambda/pull/run-pull.js";

const api = (f: string) => JSON.parse(readFileSync(`test/fixtures/upstream/cvat-api/${f}`, "utf8"));
const answers = () => ({
  job: api("job-41.json"),
  labels: api("labels-41.json").results,
  meta: api("meta-41.json"),
  annotations: api("annotations-41.json"),
});

describe("CVAT job to frame bodies", () => {
  test("one body per frame, each with its own shapes, tags, name and size", () => {
    const bodies = cvatFrameBodies(answers()).map((b) => JSON.parse(b));
    expect(bodies.map((b) => [b.frame.number, b.frame.name, b.shapes.length, b.tags.length])).toEqual([
      [0, "street/IMG_0101.jpg", 2, 0],
      [1, "street/IMG_0102.jpg", 0, 1],
      [2, "street/IMG_0103.png", 3, 0],
    ]);
    expect(bodies[2].frame).toMatchObject({ width: 1280, height: 960 });
  });

  test("deleted frames are left out; a frame step and a job starting mid-task pick the right metadata", () => {
    const a = answers();
    a.job = { ...a.job, start_frame: 10, stop_frame: 14 };
    a.meta = {
      ...a.meta,
      frame_filter: "step=2",
      deleted_frames: [12],
      frames: [{ name: "a.jpg" }, { name: "b.jpg" }, { name: "c.jpg" }],
    };
    a.annotations = { shapes: [], tags: [{ id: 1, frame: 14, label_id: 103 }], tracks: [] };
    const bodies = cvatFrameBodies(a).map((b) => JSON.parse(b));
    expect(bodies.map((b) => [b.frame.number, b.frame.name, b.tags.length])).toEqual([
      [10, "a.jpg", 0],
      [14, "c.jpg", 1],
    ]);
  });

  test("tracked objects the bridge cannot interpolate are counted on their keyframes; a job without frame numbers is refused", () => {
    const a = answers();
    a.annotations = { ...a.annotations, tracks: [{ id: 1, shapes: [{ frame: 1 }, { frame: 2 }] }] };
    expect(cvatFrameBodies(a).map((b) => JSON.parse(b).tracks)).toEqual([0, 1, 1]);
    const mask = { id: 2, label_id: 101, shapes: [{ type: "mask", frame: 0, points: [0, 1, 0, 0, 0, 0] }] };
    a.annotations = { ...a.annotations, tracks: [mask] };
    expect(cvatFrameBodies(a).map((b) => JSON.parse(b).tracks)).toEqual([1, 0, 0]);
    expect(() => cvatFrameBodies({ ...a, job: { ...a.job, stop_frame: null } })).toThrow(CvatJobError);
  });

  test("only an update:job whose job is now completed asks for a pull", () => {
    const hook = api("webhook-job-completed.json");
    expect(jobToPull(hook)).toEqual({ jobId: 41 });
    expect(jobToPull({ ...hook, job: { ...hook.job, state: "in progress" } })).toBeUndefined();
    expect(jobToPull({ ...hook, event: "update:task" })).toBeUndefined();
    expect(jobToPull({ event: "ping", webhook_id: 3 })).toBeUndefined();
    expect(jobToPull({ event: "update:job", job: null })).toBeUndefined();
    expect(jobToPull({ event: "update:job", job: { id: "41; DROP", state: "completed" } })).toBeUndefined();
  });
});

describe("CVAT frame adapter", () => {
  const mapping = { projects: { "cvat:5": { taskId: "street-audit" } } };
  const frame0 = () => JSON.parse(cvatFrameBodies(answers())[0] as string);

  test("a label id the job does not have is refused by name", () => {
    const body = frame0();
    body.shapes[0].label_id = 999;
    const result = fromCvat(body, mapping);
    expect(result).toMatchObject({ ok: false, failure: { code: "invalid-upstream" } });
    expect(!result.ok && result.failure.reason).toMatch(/label_id 999/);
  });

  test("no frame size and none in the mapping: missing-image-size, never guessed", () => {
    const body = frame0();
    body.frame.width = null;
    expect(fromCvat(body, mapping)).toMatchObject({ ok: false, failure: { code: "missing-image-size" } });
    const sized = { projects: { "cvat:5": { taskId: "t", imageSize: { width: 1920, height: 1080 } } } };
    expect(fromCvat(body, sized).ok).toBe(true);
  });

  test("an unsupported shape is refused by default, naming it", () => {
    const body = JSON.parse(cvatFrameBodies(answers())[2] as string);
    body.shapes[1].type = "polyline"; // points are carried now; polylines have no Clarifai region
    const result = fromCvat(body, mapping);
    expect(result).toMatchObject({ ok: false, failure: { code: "unsupported-result-type" } });
    expect(!result.ok && result.failure.reason).toMatch(/polyline "cyclist"/);
  });

  test("the task's own mapping wins over the project's; without either, missing-mapping", () => {
    const both = { projects: { "cvat:5": { taskId: "p" }, "cvat:task:17": { taskId: "from-task" } } };
    const result = fromCvat(frame0(), both);
    expect(result.ok && result.events[0]?.taskId).toBe("from-task");
    expect(fromCvat(frame0(), { projects: {} })).toMatchObject({
      ok: false,
      failure: { code: "missing-mapping" },
    });
  });

  test("hostile frame bodies get one fate each: refused with a reason, never thrown", () => {
    const hostile: unknown[] = [
      { cvat: "job-frame" },
      { ...frame0(), job: null },
      { ...frame0(), frame: { number: -1 } },
      { ...frame0(), shapes: [{ type: "rectangle", label_id: 101, points: [1, 2] }] },
      { ...frame0(), shapes: [{ type: "rectangle", label_id: 101, points: [5, 5, 5, 5] }] },
      { ...frame0(), job: { ...frame0().job, updated_date: "yesterday" } },
      { ...frame0(), labels: "x".repeat(1_000_000) },
    ];
    for (const body of hostile) {
      const parsed = parseRecord(JSON.stringify(body), {
        taskLink: "both",
        defaultApp: { userId: "u", appId: "a" },
        upstream: mapping,
        attributes: { format: "cvat" },
      });
      expect(parsed.ok).toBe(false);
    }
  });
});

describe("Label Studio reconciliation plan", () => {
  const options = { projectId: 12, pageSize: 2, overlapSeconds: 600, initialLookbackSeconds: 86_400 };
  const task = (id: number, updatedAt: string, annotationIds: number[]) => ({
    id,
    updated_at: updatedAt,
    project: 12,
    data: { image: `s3://b/${id}.jpg` },
    annotations: annotationIds.map((a) => ({ id: a, result: [], updated_at: updatedAt })),
    predictions: [{ id: 1 }],
    drafts: [],
  });

  test("each annotation of a changed task becomes ANNOTATION_UPDATED, as the webhook would send it", () => {
    const plan = planChangedPage(
      [task(1, "2026-11-28T10:00:00.000100Z", [11, 12])],
      emptyState(),
      { since: "x", page: 1 },
      options,
    );
    const bodies = plan.bodies.map((b) => JSON.parse(b));
    expect(bodies.map((b) => [b.action, b.annotation.id, b.annotation.task, b.project.id])).toEqual([
      ["ANNOTATION_UPDATED", 11, 1, 12],
      ["ANNOTATION_UPDATED", 12, 1, 12],
    ]);
    expect(bodies[0].task).not.toHaveProperty("annotations");
    expect(bodies[0].task).not.toHaveProperty("predictions");
    expect(plan.state.watermark).toBe("2026-11-28T10:00:00.000100Z");
    expect(plan.state.annotations).toEqual({ "1": [11, 12] });
  });

  test("a task already handled at the same updated_at is unchanged; a vanished annotation id is a delete", () => {
    const first = planChangedPage(
      [task(1, "2026-11-28T10:00:00Z", [11, 12])],
      emptyState(),
      { since: "x", page: 1 },
      options,
    );
    const again = planChangedPage(
      [task(1, "2026-11-28T10:00:00Z", [11, 12])],
      first.state,
      { since: "x", page: 1 },
      options,
    );
    expect(again.bodies).toEqual([]);
    expect(again.unchanged).toBe(1);
    const changed = planChangedPage(
      [task(1, "2026-11-28T10:05:00Z", [12])],
      first.state,
      { since: "x", page: 1 },
      options,
    );
    expect(changed.bodies.map((b) => JSON.parse(b).action)).toEqual([
      "ANNOTATION_UPDATED",
      "ANNOTATIONS_DELETED",
    ]);
    expect(JSON.parse(changed.bodies[1] as string).annotations).toEqual([{ id: 11 }]);
  });

  test("paging is by key: a full page moves the next request to its newest time; a page all at one time pages on", () => {
    const t = "2026-11-28T10:00:00Z";
    const mixed = planChangedPage(
      [task(1, t, []), task(2, "2026-11-28T10:01:00Z", [])],
      emptyState(),
      { since: t, page: 1 },
      options,
    );
    expect(mixed.next).toEqual({ since: "2026-11-28T10:01:00.000000Z", page: 1 });
    const tied = planChangedPage(
      [task(1, t, []), task(2, t, [])],
      emptyState(),
      { since: t, page: 1 },
      options,
    );
    expect(tied.next).toEqual({ since: t, page: 2 });
    const short = planChangedPage([task(1, t, [])], emptyState(), { since: t, page: 1 }, options);
    expect(short.next).toBeUndefined();
  });

  test("a run starts the overlap window before the watermark, or the lookback before now", () => {
    const now = new Date("2026-11-29T00:00:00Z");
    expect(runStart(emptyState(), now, options)).toBe("2026-11-28T00:00:00.000000Z");
    expect(runStart({ ...emptyState(), watermark: "2026-11-28T10:10:00.123456Z" }, now, options)).toBe(
      "2026-11-28T10:00:00.123000Z",
    );
    expect(JSON.parse(changedTasksQuery("T")).filters.items[0]).toEqual({
      filter: "filter:tasks:updated_at",
      operator: "greater_or_equal",
      type: "Datetime",
      value: "T",
    });
  });

  test("the sweep finds deletions of known tasks, records unknown ones without queueing, and wraps around", () => {
    const state = { ...emptyState(), annotations: { "1": [11, 12] } };
    const swept = planSweepPage([task(1, "t", [12]), task(2, "t", [21])], state, options);
    expect(swept.bodies.map((b) => JSON.parse(b))).toEqual([
      { action: "ANNOTATIONS_DELETED", annotations: [{ id: 11 }], project: { id: 12 } },
    ]);
    expect(swept.state.annotations).toEqual({ "1": [12], "2": [21] });
    expect(swept.state.sweepPage).toBe(2);
    expect(planSweepPage([task(3, "t", [])], swept.state, options).state.sweepPage).toBe(1);
  });

  test("microseconds break ties between times in one millisecond; stored state that is not ours starts afresh", () => {
    expect(later("2026-11-28T10:00:00.000200Z", "2026-11-28T10:00:00.000100Z")).toBe(true);
    expect(later("2026-11-28T10:00:00.000100Z", "2026-11-28T10:00:00.000100Z")).toBe(false);
    expect(readState("{not json")).toEqual(emptyState());
    expect(readState(JSON.stringify({ version: 7 }))).toEqual(emptyState());
  });
});

describe("puller settings", () => {
  test("defaults, and errors that name the field", () => {
    const config = parsePullerConfig(
      JSON.stringify({ labelStudio: { url: "https://ls.example.com", projects: [12] } }),
    );
    expect(config.labelStudio).toMatchObject({ pageSize: 100, maxPagesPerRun: 20, overlapSeconds: 600 });
    expect(() => parsePullerConfig("{")).toThrow(/must be JSON/);
    expect(() =>
      parsePullerConfig(JSON.stringify({ labelStudio: { url: "https://x", projects: [] } })),
    ).toThrow(/labelStudio\.projects/);
    expect(() => parsePullerConfig(JSON.stringify({ cvat: { url: "http://cvat.example.com" } }))).toThrow(
      /loopback/,
    );
  });

  test("a malformed token secret is refused without quoting it", () => {
    expect(() => parsePullerTokens("{secret-token-123")).toThrow(/must be JSON/);
    expect(() => parsePullerTokens("{secret-token-123")).not.toThrow(/secret-token-123/);
    expect(parsePullerTokens('{"cvat": " t "}')).toEqual({ cvat: "t" });
  });
});

describe("a reconciliation run's time", () => {
  const deps = (remaining: number[], asked: string[]) => ({
    config: parsePullerConfig(
      JSON.stringify({ labelStudio: { url: "https://ls.example.com", projects: [1, 2, 3], pageSize: 2 } }),
    ),
    tokens: { labelStudio: "t" },
    getJson: async (url: string) => {
      asked.push(new URL(url).searchParams.get("project") as string);
      return { tasks: [] };
    },
    state: { get: async () => undefined, put: async () => undefined },
    enqueue: async () => undefined,
    count: () => undefined,
    log: () => undefined,
    now: () => new Date(2 * 60_000), // minute 2: project index 2 goes first
    remainingMs: () => remaining.shift() ?? 0,
  });

  test("projects take turns going first, and none is started with too little time left", async () => {
    const asked: string[] = [];
    await reconcileLabelStudio(deps(Array(9).fill(300_000), asked)); // 3 looks at the clock per project
    expect([...new Set(asked)]).toEqual(["3", "1", "2"]);
    const late: string[] = [];
    // Time for the first project (before it, before its page, before its sweep), then none: the others wait.
    await reconcileLabelStudio(deps([300_000, 300_000, 300_000, 10_000, 10_000], late));
    expect([...new Set(late)]).toEqual(["3"]);
  });
});

test("a page's newest time goes back to Label Studio in its filter's format, microseconds kept", () => {
  expect(filterTime("2026-11-28T10:00:00.481420Z")).toBe("2026-11-28T10:00:00.481420Z");
  expect(filterTime("2026-11-28T11:00:00.481420+01:00")).toBe("2026-11-28T10:00:00.481420Z");
  expect(filterTime("2026-11-28T10:00:00Z")).toBe("2026-11-28T10:00:00.000000Z");
  expect(filterTime("2026-11-28T10:00:00.5Z")).toBe("2026-11-28T10:00:00.500000Z");
});

test("CVAT's label pages are followed on the same server only: the token never travels to another origin", async () => {
  const asked: string[] = [];
  const answers: Record<string, unknown> = {
    "/api/jobs/41": api("job-41.json"),
    "/api/labels": undefined,
    "/api/jobs/41/data/meta": api("meta-41.json"),
    "/api/jobs/41/annotations": api("annotations-41.json"),
  };
  const labels = api("labels-41.json").results;
  const queued: string[] = [];
  await pullCvatJob(41, {
    config: parsePullerConfig(JSON.stringify({ cvat: { url: "https://cvat.example.com" } })),
    tokens: { cvat: "t" },
    getJson: async (url: string) => {
      asked.push(url);
      const { pathname, searchParams } = new URL(url);
      if (pathname === "/api/labels")
        return searchParams.get("page") === "2"
          ? { results: labels.slice(1), next: "https://evil.example.com/api/labels?page=3" }
          : { results: labels.slice(0, 1), next: "https://cvat.example.com/api/labels?job_id=41&page=2" };
      return answers[pathname];
    },
    state: { get: async () => undefined, put: async () => undefined },
    enqueue: async (items) => void queued.push(...items.map((i) => i.body)),
    count: () => undefined,
    log: () => undefined,
    now: () => new Date(),
  });
  expect(asked.some((u) => u.includes("evil.example.com"))).toBe(false);
  expect(asked.filter((u) => u.includes("/api/labels"))).toHaveLength(2);
  expect(queued).toHaveLength(3);
  expect(JSON.parse(queued[0] as string).labels.map((l: { name: string }) => l.name)).toEqual([
    "car",
    "cyclist",
    "night",
  ]);
});

test("a skeleton's elements travel with it, and its point labels (sublabels) join the job's labels", () => {
  const a = answers();
  a.labels = [...a.labels, { id: 201, name: "face", sublabels: [{ id: 202, name: "nose" }, null] }];
  a.annotations = {
    shapes: [
      {
        id: 9,
        type: "skeleton",
        frame: 0,
        label_id: 201,
        points: [],
        attributes: [{ spec_id: 1, value: "x" }],
        elements: [
          { id: 10, type: "points", frame: 0, label_id: 202, points: [1, 2], occluded: true, outside: false },
          7,
        ],
      },
    ],
    tags: [],
    tracks: [],
  };
  const [body] = cvatFrameBodies(a).map((b) => JSON.parse(b));
  expect(body.labels).toEqual(
    expect.arrayContaining([
      { id: 201, name: "face" },
      { id: 202, name: "nose" },
    ]),
  );
  expect(body.shapes[0].elements).toEqual([
    { id: 10, type: "points", label_id: 202, points: [1, 2], rotation: 0, outside: false, occluded: true },
  ]);
  expect(body.shapes[0].attributes).toBeUndefined();
});

test("a video job is one body: its shapes with their frames, its tracks' keyframes, the video's name and size", () => {
  const a = answers();
  a.job = { ...a.job, start_frame: 0, stop_frame: 17_999, data_original_chunk_type: "video" };
  a.meta = { ...a.meta, frames: [{ name: "traffic/clip-9.mp4", width: 1920, height: 1080 }] };
  a.annotations = {
    shapes: [{ id: 1, type: "rectangle", frame: 4, label_id: 101, points: [0, 0, 5, 5], attributes: [] }],
    tags: [{ id: 2, frame: 3, label_id: 103 }],
    tracks: [
      {
        id: 3,
        label_id: 101,
        frame: 0,
        shapes: [{ type: "rectangle", frame: 0, points: [1, 1, 9, 9], outside: false }],
      },
    ],
  };
  const bodies = cvatFrameBodies(a).map((b) => JSON.parse(b));
  expect(bodies).toHaveLength(1);
  expect(bodies[0]).toMatchObject({
    cvat: "job-video",
    job: { start_frame: 0, stop_frame: 17_999 },
    media: { name: "traffic/clip-9.mp4", width: 1920, height: 1080 },
    shapes: [{ id: 1, frame: 4, type: "rectangle" }],
    tracks: [{ id: 3, label_id: 101, shapes: [{ frame: 0, label_id: 101, points: [1, 1, 9, 9] }] }],
    tags: 1,
  });
  // Without the chunk type, one frame of metadata for a job of many frames is a video too.
  const { data_original_chunk_type: _, ...plain } = a.job;
  expect(JSON.parse(cvatFrameBodies({ ...a, job: plain })[0] as string).cvat).toBe("job-video");
});

test("a video job's skeleton track keeps its points' tracks", () => {
  const a = answers();
  a.job = { ...a.job, start_frame: 0, stop_frame: 9, data_original_chunk_type: "video" };
  a.annotations = {
    shapes: [],
    tags: [],
    tracks: [
      {
        id: 5,
        label_id: 201,
        shapes: [{ type: "skeleton", frame: 0, points: [], outside: false }],
        elements: [
          { id: 6, label_id: 202, shapes: [{ type: "points", frame: 0, points: [1, 2], outside: false }] },
        ],
      },
    ],
  };
  const [body] = cvatFrameBodies(a).map((b) => JSON.parse(b));
  expect(body.tracks[0].elements).toEqual([
    {
      label_id: 202,
      shapes: [{ type: "points", frame: 0, points: [1, 2], rotation: 0, outside: false, label_id: 202 }],
    },
  ]);
});

test("a track over an image sequence becomes its shape on each frame it is shown on, interpolated as CVAT does", () => {
  const a = answers(); // frames 0, 1, 2 of three images
  const rect = (frame: number, x: number, outside = false) => ({
    type: "rectangle",
    frame,
    points: [x, 10, x + 20, 30],
    rotation: 0,
    outside,
  });
  a.annotations = {
    shapes: [],
    tags: [],
    tracks: [{ id: 4, label_id: 101, shapes: [rect(0, 100), rect(2, 300)] }],
  };
  const bodies = cvatFrameBodies(a).map((b) => JSON.parse(b));
  // Frame 1 is halfway: x 200.
  expect(bodies.map((b) => b.shapes.map((s: { points: number[] }) => s.points[0]))).toEqual([
    [100],
    [200],
    [300],
  ]);
  expect(bodies.map((b) => b.tracks)).toEqual([0, 0, 0]);
  expect(bodies[1].shapes[0]).toMatchObject({ id: "track-4", type: "rectangle", label_id: 101 });
  // Outside from frame 1: only frame 0 shows it.
  a.annotations.tracks = [{ id: 4, label_id: 101, shapes: [rect(0, 100), rect(1, 100, true)] }];
  expect(cvatFrameBodies(a).map((b) => JSON.parse(b).shapes.length)).toEqual([1, 0, 0]);
});

test("a skeleton track over an image sequence: each frame's skeleton with its points, each point a track of its own", () => {
  const a = answers(); // frames 0, 1, 2 (1920 x 1080, 1920 x 1080, 1280 x 960)
  a.labels = [
    ...a.labels,
    {
      id: 201,
      name: "pose",
      sublabels: [
        { id: 202, name: "nose" },
        { id: 203, name: "tail" },
      ],
    },
  ];
  const skeleton = (frame: number, outside = false) => ({ type: "skeleton", frame, points: [], outside });
  const point = (label_id: number, frame: number, x: number, outside = false) => ({
    type: "points",
    frame,
    points: [x, 108],
    outside,
    label_id,
  });
  a.annotations = {
    shapes: [],
    tags: [],
    tracks: [
      {
        id: 9,
        label_id: 201,
        shapes: [skeleton(0)],
        elements: [
          // The nose: x 192 at frame 0, 576 at frame 2, so 384 at frame 1 (halfway).
          { label_id: 202, shapes: [point(202, 0, 192), point(202, 2, 576)] },
          // The tail: outside from frame 1.
          { label_id: 203, shapes: [point(203, 0, 960), point(203, 1, 960, true)] },
        ],
      },
    ],
  };
  const bodies = cvatFrameBodies(a);
  const parsed = bodies.map((body) =>
    parseRecord(body, {
      taskLink: "both",
      defaultApp: null,
      upstream: { projects: { "cvat:5": { taskId: "poses", keypoints: { pose: ["nose", "tail"] } } } },
    }),
  );
  const keypoints = parsed.map((p) => {
    if (!p.ok) throw new Error(p.failure.reason);
    type Annotation = { data: { regions: { region_info: { keypoint_locations: unknown } }[] } };
    const annotations = [
      ...p.deliveries.map((d) => d.annotation),
      ...p.changes.flatMap((c) => (c.kind === "replace" ? c.annotations : [])),
    ] as unknown as Annotation[];
    return annotations.map((a) => a.data.regions[0]?.region_info.keypoint_locations);
  });
  // Frame 0 (1920 wide): nose col 192/1920 = 0.1, row 108/1080 = 0.1; tail col 0.5. Frame 1: nose 384/1920 = 0.2,
  // the tail not present. Frame 2 (1280 x 960): nose 576/1280 = 0.45, row 108/960 = 0.1125.
  expect(keypoints.map((k) => k.length)).toEqual([1, 1, 1]);
  expect(keypoints[0]?.[0]).toEqual([
    { row: 0.1, col: 0.1, visibility: "VISIBLE" },
    { row: 0.1, col: 0.5, visibility: "VISIBLE" },
  ]);
  expect(keypoints[1]?.[0]).toEqual([
    { row: 0.1, col: 0.2, visibility: "VISIBLE" },
    { row: 0, col: 0, visibility: "NOT_PRESENT" },
  ]);
  expect(keypoints[2]?.[0]).toEqual([
    { row: 0.1125, col: 0.45, visibility: "VISIBLE" },
    { row: 0, col: 0, visibility: "NOT_PRESENT" },
  ]);
  expect(bodies.map((b) => JSON.parse(b).tracks)).toEqual([0, 0, 0]);
  // Every point outside from frame 1: CVAT leaves the skeleton out there.
  const [nose, tail] = a.annotations.tracks[0].elements;
  nose.shapes = [point(202, 0, 192), point(202, 1, 192, true)];
  tail.shapes = [point(203, 0, 960), point(203, 1, 960, true)];
  expect(cvatFrameBodies(a).map((b) => JSON.parse(b).shapes.length)).toEqual([1, 0, 0]);
});

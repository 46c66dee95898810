import { rmSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, beforeEach, expect, test } from "@jest/globals";
import { BUNDLING, HANDLER_ENTRY, PROJECT_ROOT, SPLIT_BUNDLE_SCRIPT } from "../../lib/bundling.js";
import { LOCAL_USER, type LocalEnvironment, startLocalEnvironment } from "../../local/environment.js";
import { type DrainOptions, drainBounded, type QueueInvocation } from "../support/bounded-queue.js";
import { resetEnvironment, standInOf } from "../support/bridge.js";
import { cvatVideoJob } from "../support/cvat.js";
import { labelStudioTrack } from "../support/heavy-records.js";
import { lsCreated } from "../support/label-studio.js";
import { deadLetters, sendBodies } from "../support/sqs.js";

/**
 * Long events (issue 32): one event of 18,000 or 108,000 annotations beside a small neighbour, delivered by the
 * bundled handler in a warm instance killed past the stack's 256 MB, with invocations of 10 s and 5 s, through the
 * real queue: what one invocation leaves undone goes on in a continuation message. Every annotation once, the
 * neighbour in the first invocation, a bounded number of requests to resume, the total within 5% of the floor
 * (annotations / 128), nothing done after an invocation answers, and no dead letter.
 */
const PAT = "pat-long-7e21";
const MEMORY_MB = 256;
const OUT = path.join(PROJECT_ROOT, "cdk.out", `long-events-${process.pid}`);
/** Requests per second: the stand-in throttles above 15 a second, as Clarifai does per key. */
const RATE = 14;
let env: LocalEnvironment;

const mapping = {
  projects: {
    "label-studio:15": { taskId: "traffic-video", labels: { Car: "car" } },
    "label-studio:12": { taskId: "street-audit" },
    "cvat:5": { taskId: "traffic-video", frameRate: 30 },
  },
};

beforeAll(async () => {
  const { splitBundle } = (await import(pathToFileURL(SPLIT_BUNDLE_SCRIPT).href)) as {
    splitBundle: (entry: string, outdir: string, settings: unknown) => Promise<unknown>;
  };
  await splitBundle(HANDLER_ENTRY, OUT, BUNDLING);
  env = await startLocalEnvironment({
    visibilityTimeoutSeconds: 2,
    standIn: { personalAccessTokens: { [PAT]: LOCAL_USER }, faults: { latencyMs: 20, throttleAboveRps: 15 } },
  });
}, 60_000);

afterAll(async () => {
  await env?.close();
  rmSync(OUT, { recursive: true, force: true });
});

beforeEach(() => resetEnvironment(env));

const handlerEnv = () => ({
  ...env.handlerEnv,
  CLARIFAI_PAT: PAT,
  BRIDGE_MAPPING: JSON.stringify(mapping),
  CLARIFAI_REQUESTS_PER_SECOND: String(RATE),
});

const NEIGHBOUR_INPUT = "sku-street-0307";

/** The 18,000-frame track from CVAT, as the puller queues a video job (keyframes at 0 and 8,999, held to 17,999). */
const cvatTrack = (frames: number) =>
  cvatVideoJob({
    stopFrame: frames - 1,
    size: 100,
    y: 200,
    media: { width: 1920, height: 1080 },
    tracks: [
      {
        id: 12,
        keyframes: [
          { frame: 0, x: 96 },
          { frame: Math.floor(frames / 2) - 1, x: 1_632 },
        ],
      },
    ],
  });

async function deliverWithNeighbour(body: string, options: Omit<DrainOptions, "memoryMb">) {
  await sendBodies(env, [body, lsCreated()]);
  return drainBounded(env, OUT, handlerEnv(), { memoryMb: MEMORY_MB, ...options });
}

/** What Clarifai was asked while each invocation ran: the requests that arrived between its start and answer. */
function requestsDuring(invocation: QueueInvocation) {
  return standInOf(env).requests.filter((r) => r.at >= invocation.startedAt && r.at <= invocation.answeredAt);
}

function expectLongDelivered(
  result: Awaited<ReturnType<typeof drainBounded>>,
  input: string,
  frames: number,
  timeoutMs: number,
) {
  const { invocations } = result;
  expect({ peakUnder: result.peakMb < MEMORY_MB, stderr: result.stderr.slice(0, 400) }).toEqual({
    peakUnder: true,
    stderr: "",
  });
  for (const i of invocations) {
    expect(i.killed).toBeUndefined();
    // Answered within the invocation's time, with its own reserve to spare.
    expect(i.elapsedMs).toBeLessThanOrEqual(timeoutMs);
  }
  const stored = standInOf(env).annotations();
  const track = stored.filter((a) => a.input_id === input);
  expect(track).toHaveLength(frames);
  expect(new Set(track.map((a) => a.id)).size).toBe(frames);
  // The neighbour's 3 annotations were stored while the first invocation ran.
  const first = invocations[0] as QueueInvocation;
  const neighbour = stored.filter((a) => a.input_id === NEIGHBOUR_INPUT);
  expect(neighbour).toHaveLength(3);
  for (const a of neighbour)
    expect(Date.parse(String(a.annotation.created_at))).toBeLessThanOrEqual(first.answeredAt);
  // Nothing posted twice: the annotations of successful POSTs add up to what is stored; nothing was patched.
  const requests = standInOf(env).requests;
  const posted = requests
    .filter((r) => r.method === "POST" && r.httpStatus === 200)
    .reduce((n, r) => n + r.annotations, 0);
  expect(posted).toBe(frames + 3);
  expect(requests.filter((r) => r.method === "PATCH")).toHaveLength(0);
  // No dead letter, no record left failing.
  expect(deadLetters(env)).toEqual([]);
  expect(invocations.flatMap((i) => i.failed)).toEqual([]);
  // To resume, a continuation asks Clarifai at most 2 things before it writes: the task (when the instance's
  // cache has none) and the set's anchor annotation.
  const resumes = invocations.filter((i) => i.continuations > 0);
  expect(resumes.length).toBeGreaterThan(0);
  for (const i of resumes) {
    const asked = requestsDuring(i);
    const firstWrite = asked.findIndex((r) => r.method === "POST" || r.method === "PATCH");
    expect(firstWrite).toBeGreaterThanOrEqual(0);
    expect(firstWrite).toBeLessThanOrEqual(2);
  }
  // All requests within 5% of the floor: the track's annotations / 128, and the neighbour's one request.
  const floor = Math.ceil(frames / 128) + 1;
  expect(requests.length).toBeLessThanOrEqual(Math.floor(floor * 1.05));
  return { requests: requests.length, floor, invocations: invocations.length, resumes: resumes.length };
}

test.each([
  ["Label Studio", 18_000, 10_000, () => labelStudioTrack(18_000), "clip-3"],
  ["Label Studio", 18_000, 5_000, () => labelStudioTrack(18_000), "clip-3"],
  ["CVAT", 18_000, 10_000, () => cvatTrack(18_000), "clip-9"],
  ["CVAT", 18_000, 5_000, () => cvatTrack(18_000), "clip-9"],
  ["Label Studio", 108_000, 10_000, () => labelStudioTrack(108_000), "clip-3"],
])(
  "%s: a track of %i frames with %i ms invocations, every annotation once, resumed in constant requests",
  async (tool, frames, timeoutMs, body, input) => {
    const result = await deliverWithNeighbour(body(), { timeoutMs, maxInvocations: 60 });
    const figures = expectLongDelivered(result, input, frames, timeoutMs);
    console.log(
      `${tool} ${frames} frames, ${timeoutMs} ms invocations: ${JSON.stringify(figures)}, peak ${result.peakMb.toFixed(0)} MB`,
    );
  },
  300_000,
);

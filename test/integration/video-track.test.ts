import { readFileSync } from "node:fs";
import { afterAll, afterEach, beforeAll, expect, test } from "@jest/globals";
import { DEFAULTS } from "../../lib/defaults.js";
import { LOCAL_USER, type LocalEnvironment, startLocalEnvironment } from "../../local/environment.js";
import { createPoller, type InvokeInfo } from "../../local/poller.js";
import { createWorkerHandler, type IsolatedHandler } from "../../local/worker-handler.js";
import { resetEnvironment, standInOf } from "../support/bridge.js";
import { cvatVideoTrack } from "../support/cvat.js";
import { labelStudioTrack } from "../support/heavy-records.js";
import { queueCounts, sendBodies } from "../support/sqs.js";

/**
 * One event, 18,000 annotations: a Label Studio track over a 10-minute video at 30 fps (two keyframes, the last
 * held to the end), delivered by the handler in a worker thread with the stack's 60 s timeout and 128 annotations
 * a request, at 14 requests a second (one instance with the whole of Clarifai's 15 but one; the stack's share
 * per instance is 7, the figures at it are `npm run bench`'s), against the stand-in that throttles above 15 a
 * second. The first invocation is killed half-way, as a Lambda timeout (or a crash) would stop it; the
 * next receive goes on where it stopped (what this event already wrote is listed and skipped) and every
 * annotation ends in Clarifai exactly once. A small neighbour in the same batch is delivered on the first
 * invocation, before the track's requests.
 */
const PAT = "pat-video-51c0";
const FRAMES = 18_000;
let env: LocalEnvironment;
let isolated: IsolatedHandler;

const mapping = {
  projects: {
    "label-studio:15": { taskId: "traffic-video", labels: { Car: "car" } },
    "label-studio:12": { taskId: "street-audit" },
    "cvat:5": { taskId: "traffic-video", frameRate: 30 },
  },
};

/** An 18,000-frame Label Studio track (keyframes at frames 1 and 9,000), project 15. */
const longTrack = () => labelStudioTrack(FRAMES);

/** The same track from CVAT, as the puller queues a video job: keyframes at frames 0 and 8,999, held to 17,999. */
const longCvatTrack = () => cvatVideoTrack(FRAMES);

beforeAll(async () => {
  env = await startLocalEnvironment({
    visibilityTimeoutSeconds: 2,
    standIn: {
      personalAccessTokens: { [PAT]: LOCAL_USER },
      faults: { latencyMs: 20, throttleAboveRps: 15 },
    },
  });
  isolated = await createWorkerHandler({
    env: {
      ...env.handlerEnv,
      CLARIFAI_PAT: PAT,
      BRIDGE_MAPPING: JSON.stringify(mapping),
      CLARIFAI_REQUESTS_PER_SECOND: "14",
      POWERTOOLS_LOG_LEVEL: "SILENT",
      POWERTOOLS_METRICS_DISABLED: "true",
    },
  });
});

afterAll(async () => {
  await isolated.close();
  await env.close();
});

afterEach(() => resetEnvironment(env));

test.each([
  ["Label Studio", longTrack, "clip-3"],
  ["CVAT", longCvatTrack, "clip-9"],
])(
  "%s: a 10-minute track, 18,000 annotations within the timeout, killed half-way and finished exactly once",
  async (tool, body, input) => {
    const invocations: InvokeInfo[] = [];
    const poller = createPoller({
      sqs: env.sqs,
      queueUrl: env.queueUrl,
      queueArn: env.queueArn,
      handler: isolated,
      batchSize: 10,
      maxBatchingWindowMs: 200,
      functionTimeoutMs: DEFAULTS.functionTimeoutSeconds * 1000,
      onInvoke: (info) => invocations.push(info),
      // The first invocation is stopped about half-way through the track's 141 requests.
      chaos: { killInvocation: (n) => n === 1, killAfterMs: 5_000 },
    });
    const neighbour = readFileSync("test/fixtures/upstream/label-studio-created.json", "utf8");
    await sendBodies(env, [body(), neighbour]);
    await poller.pollOnce(1);
    expect(invocations[0]).toMatchObject({ records: 2, killed: true });
    const stored = () => standInOf(env).annotations();
    const track = () => stored().filter((a) => a.input_id === input);
    const afterKill = track().length;
    // The neighbour's 3 annotations went first; the kill left the track part-way.
    const neighbourStored = stored().filter((a) => a.input_id === "sku-street-0307");
    expect(neighbourStored).toHaveLength(3);
    const firstRequestAt = Math.min(...standInOf(env).requests.map((r) => r.at));
    const neighbourMs =
      Math.max(...neighbourStored.map((a) => Date.parse(String(a.annotation.created_at)))) - firstRequestAt;
    expect(afterKill).toBeGreaterThan(0);
    expect(afterKill).toBeLessThan(FRAMES);

    // The batch comes back after its visibility timeout; the next invocation finishes the track.
    const pending = () => {
      const q = queueCounts(env);
      return q.ready + q.inflight + q.delayed;
    };
    const started = Date.now();
    for (let i = 0; i < 20 && pending() > 0; i++) await poller.pollOnce(3);
    const lastMs = invocations.at(-1)?.ms ?? 0;
    expect(track()).toHaveLength(FRAMES);
    expect(new Set(track().map((a) => a.id)).size).toBe(FRAMES);
    expect(invocations.slice(1).every((i) => !i.killed && !i.timedOut)).toBe(true);
    // The second receive did not send again what the first had written: POSTed annotations add up to the track.
    const posted = standInOf(env)
      .requests.filter((r) => r.method === "POST" && r.httpStatus === 200)
      .reduce((n, r) => n + r.annotations, 0);
    const patched = standInOf(env)
      .requests.filter((r) => r.method === "PATCH")
      .reduce((n, r) => n + r.annotations, 0);
    expect(posted).toBe(FRAMES + 3);
    expect(patched).toBe(0);
    // Label Studio: frame 4,500 (number 4,499) lies between the keyframes at frame 1 (x 5%) and 9,000 (x 85%):
    // x = 5 + 80 * 4,499 / 8,999 = 44.9956%. CVAT: frame 4,499 lies between frames 0 (x 96 px) and 8,999 (x 1,632
    // px of 1,920): 96 + 1,536 * 4,499 / 8,999 = 863.915 px = 44.9956% too. Frames after the second keyframe hold it.
    const mid = track().find((a) => {
      const info = (a.annotation.data as { frames: { frame_info: { number: number } }[] }).frames[0]
        ?.frame_info;
      return info?.number === 4_499;
    });
    const box = (
      mid?.annotation.data as unknown as {
        frames: { data: { regions: { region_info: { bounding_box: { left_col: number } } }[] } }[];
      }
    )?.frames[0]?.data.regions[0]?.region_info.bounding_box;
    expect(box?.left_col).toBeCloseTo((5 + ((4_500 - 1) / (9_000 - 1)) * 80) / 100, 6);
    const requests = standInOf(env).requests.length;
    console.log(
      `${tool} video track: ${FRAMES} annotations, ${requests} Clarifai requests, ${afterKill} stored at the kill, last invocation ${lastMs} ms, ${Date.now() - started} ms after the kill; the neighbour stored ${neighbourMs} ms after the first request`,
    );
  },
  180_000,
);

import { LOCAL_USER, type LocalEnvironment, startLocalEnvironment } from "../local/environment.js";
import { drainBounded, type QueueInvocation } from "../test/support/bounded-queue.js";
import { cvatVideoTrack } from "../test/support/cvat.js";
import {
  labelStudioTrack,
  labelStudioTrackDeleted,
  labelStudioTrackUpdate,
} from "../test/support/heavy-records.js";
import { lsCreated } from "../test/support/label-studio.js";
import { deadLetters, sendBodies } from "../test/support/sqs.js";

/**
 * Long events (lambda/delivery/long-change.ts): one event of 18,000 or 108,000 annotations beside a small
 * neighbour, through the real queue, the bundled handler in a warm instance killed past 256 MB, with invocations of
 * 60, 10 and 5 s, at 14 requests a second against the stand-in that throttles above 15. Figures, not assertions:
 * test/integration/long-events*.test.ts assert.
 */
export interface LongEventRow {
  readonly case: string;
  readonly timeoutS: number;
  readonly annotations: number;
  readonly stored: number;
  readonly invocations: number;
  /** Clarifai requests answered other than 429, and the floor: annotations / 128 plus the neighbour's and tasks' 4. */
  readonly requests: number;
  /** Undefined where the case is not one event written once (an update over part of another, a delete). */
  readonly floor: number | undefined;
  readonly throttled: number;
  /** Most requests a continuation made before its first write. */
  readonly resumeMax: number;
  readonly seconds: number;
  readonly peakMb: number;
  readonly deadLetters: number;
}

const PAT = "pat-bench-long";
const RATE = 14;
const mapping = {
  projects: {
    "label-studio:15": { taskId: "traffic-video", labels: { Car: "car" } },
    "label-studio:12": { taskId: "street-audit" },
    "cvat:5": { taskId: "traffic-video", frameRate: 30 },
  },
};

const cvatTrack = cvatVideoTrack;

export async function longEventsTable(bundleDir: string, quick: boolean): Promise<LongEventRow[]> {
  const env = await startLocalEnvironment({
    visibilityTimeoutSeconds: 2,
    standIn: { personalAccessTokens: { [PAT]: LOCAL_USER }, faults: { latencyMs: 20, throttleAboveRps: 15 } },
  });
  const handlerEnv = {
    ...env.handlerEnv,
    CLARIFAI_PAT: PAT,
    BRIDGE_MAPPING: JSON.stringify(mapping),
    CLARIFAI_REQUESTS_PER_SECOND: String(RATE),
  };
  const rows: LongEventRow[] = [];
  const standIn = env.standIn as NonNullable<LocalEnvironment["standIn"]>;
  const drain = (timeoutMs: number, maxInvocations = 200) =>
    drainBounded(env, bundleDir, handlerEnv, { memoryMb: 256, timeoutMs, maxInvocations });
  /** Measures what happens from `since` (requests index) over these invocations. */
  const row = (
    name: string,
    timeoutS: number,
    annotations: number,
    input: string,
    run: { invocations: QueueInvocation[]; peakMb: number },
    since: number,
    started: number,
    once = true,
  ): LongEventRow => {
    const requests = standIn.requests.slice(since);
    const answered = requests.filter((r) => r.httpStatus !== 429);
    const resumeMax = Math.max(
      0,
      ...run.invocations
        .filter((i) => i.continuations > 0)
        .map((i) => {
          const asked = requests.filter(
            (r) => r.at >= i.startedAt && r.at <= i.answeredAt && r.httpStatus !== 429,
          );
          const first = asked.findIndex(
            (r) => r.method === "POST" || r.method === "PATCH" || r.method === "DELETE",
          );
          return first < 0 ? asked.length : first;
        }),
    );
    return {
      case: name,
      timeoutS,
      annotations,
      stored: standIn.annotations().filter((a) => a.input_id === input).length,
      invocations: run.invocations.length,
      requests: answered.length,
      floor: once ? Math.ceil(annotations / 128) + 4 : undefined,
      throttled: requests.length - answered.length,
      resumeMax,
      seconds: (Date.now() - started) / 1000,
      peakMb: run.peakMb,
      deadLetters: deadLetters(env).length,
    };
  };
  const plain: [string, number, number, () => string, string][] = quick
    ? [["Label Studio track", 18_000, 10, () => labelStudioTrack(18_000), "clip-3"]]
    : [
        ["Label Studio track", 18_000, 60, () => labelStudioTrack(18_000), "clip-3"],
        ["Label Studio track", 18_000, 10, () => labelStudioTrack(18_000), "clip-3"],
        ["Label Studio track", 18_000, 5, () => labelStudioTrack(18_000), "clip-3"],
        ["CVAT track", 18_000, 10, () => cvatTrack(18_000), "clip-9"],
        ["CVAT track", 18_000, 5, () => cvatTrack(18_000), "clip-9"],
        ["Label Studio track, an hour", 108_000, 10, () => labelStudioTrack(108_000), "clip-3"],
      ];
  try {
    for (const [name, frames, timeoutS, body, input] of plain) {
      env.sqsServer.reset();
      standIn.reset();
      const started = Date.now();
      await sendBodies(env, [body(), lsCreated()]);
      rows.push(row(name, timeoutS, frames, input, await drain(timeoutS * 1000), 0, started));
    }
    if (!quick) {
      // Throttled: the harshest profile, and 429s with Retry-After above 6 requests a second.
      env.sqsServer.reset();
      standIn.reset();
      standIn.setProfile("harsh");
      Object.assign(standIn.faults, { throttleAboveRps: 6, retryAfterSeconds: 1 });
      let started = Date.now();
      await sendBodies(env, [labelStudioTrack(18_000), lsCreated()]);
      rows.push(
        row(
          "Label Studio track, throttled (harsh profile)",
          10,
          18_000,
          "clip-3",
          await drain(10_000),
          0,
          started,
        ),
      );
      standIn.setProfile("default");
      standIn.reset();
      env.sqsServer.reset();
      // An hour's track, updated after two invocations (every frame moves), then deleted.
      started = Date.now();
      await sendBodies(env, [labelStudioTrack(108_000), lsCreated()]);
      const before = await drain(10_000, 2);
      await sendBodies(env, [labelStudioTrackUpdate(108_000, "2026-11-21T11:00:00.000000Z")]);
      const updated = await drain(10_000);
      rows.push(
        row(
          "the hour's track updated mid-way",
          10,
          108_000,
          "clip-3",
          {
            invocations: [...before.invocations, ...updated.invocations],
            peakMb: Math.max(before.peakMb, updated.peakMb),
          },
          0,
          started,
          false,
        ),
      );
      started = Date.now();
      const deleteSince = standIn.requests.length;
      await sendBodies(env, [labelStudioTrackDeleted()]);
      rows.push(row("then deleted", 10, 108_000, "clip-3", await drain(10_000), deleteSince, started, false));
    }
  } finally {
    await env.close();
  }
  return rows;
}

import { expect, test } from "@jest/globals";
import { standInOf } from "../support/bridge.js";
import { labelStudioTrack } from "../support/heavy-records.js";
import {
  cvatTrack,
  deliverWithNeighbour,
  expectLongDelivered,
  longEnv,
  setUpLongEvents,
  watchAfterAnswers,
} from "../support/long-events.js";

/**
 * Long events (issue 32), 10 minutes of video: one event of 18,000 annotations beside a small neighbour, delivered
 * by the bundled handler in a warm instance killed past the stack's 256 MB, with invocations of 10 s and 5 s,
 * through the real queue (test/support/long-events.ts). What one invocation leaves undone goes on in a
 * continuation message.
 */
setUpLongEvents();

test.each([
  ["Label Studio", 18_000, 10_000, () => labelStudioTrack(18_000), "clip-3"],
  ["Label Studio", 18_000, 5_000, () => labelStudioTrack(18_000), "clip-3"],
  ["CVAT", 18_000, 10_000, () => cvatTrack(18_000), "clip-9"],
  ["CVAT", 18_000, 5_000, () => cvatTrack(18_000), "clip-9"],
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

test("under the stand-in's harshest profile, throttled with Retry-After: the track finishes once, and nothing runs after an answer", async () => {
  standInOf(longEnv()).setProfile("harsh");
  Object.assign(standInOf(longEnv()).faults, { throttleAboveRps: 6, retryAfterSeconds: 1 });
  try {
    const after: { requests: number; messages: number }[] = [];
    const result = await deliverWithNeighbour(labelStudioTrack(18_000), {
      timeoutMs: 10_000,
      maxInvocations: 60,
      afterAnswer: watchAfterAnswers(after),
    });
    const figures = expectLongDelivered(result, "clip-3", 18_000, 10_000, true);
    expect(figures.throttled).toBeGreaterThan(0);
    expect(after.length).toBe(result.invocations.length);
    expect(after.filter((a) => a.requests !== 0 || a.messages !== 0)).toEqual([]);
    console.log(`throttled 18000 frames, 10000 ms invocations: ${JSON.stringify(figures)}`);
  } finally {
    standInOf(longEnv()).setProfile("default");
  }
}, 300_000);

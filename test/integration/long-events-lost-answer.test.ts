import { afterAll, beforeAll, beforeEach, describe, expect, test } from "@jest/globals";
import { PROFILE_NAMES } from "../../local/clarifai/profiles.js";
import { type LocalEnvironment, startLocalEnvironment } from "../../local/environment.js";
import type { InvokeInfo, Poller } from "../../local/poller.js";
import { loadBridge, resetEnvironment, standInOf } from "../support/bridge.js";
import { makeEvent } from "../support/events.js";
import { captureStdout } from "../support/logs.js";
import { deadLetters, drain, sendBodies } from "../support/sqs.js";

/**
 * A long event's write whose answer is lost (Clarifai stored the chunk, the connection was cut: what a request cut
 * at an invocation's deadline looks like). Sent again, the chunk is refused as existing (or taken, as some
 * profiles answer); the bridge must find it held at this version and not overwrite it: every annotation once, no
 * PATCH, no dead letter, under every stand-in profile.
 */
const REGIONS = 300; // three requests of 128 at most: a long event
let env: LocalEnvironment;
let poller: Poller;
const invocations: InvokeInfo[] = [];
let stdout: ReturnType<typeof captureStdout>;

beforeAll(async () => {
  env = await startLocalEnvironment({ maxReceiveCount: 5, visibilityTimeoutSeconds: 2 });
  stdout = captureStdout();
  ({ poller } = await loadBridge(
    env,
    { ...env.handlerEnv, MAX_RECEIVE_COUNT: "5", BACKOFF_BASE_SECONDS: "1", BACKOFF_CAP_SECONDS: "1" },
    invocations,
    { batchSize: 10 },
  ));
});
afterAll(async () => {
  stdout.restore();
  await env.close();
});

const boxes = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    id: `box-${i}`,
    boundingBox: { top: 0.1, left: (i % 90) / 100, bottom: 0.2, right: (i % 90) / 100 + 0.05 },
    concepts: [{ id: "tree", value: 1 }],
  }));

describe.each(PROFILE_NAMES)("under the stand-in profile %s", (profileName) => {
  beforeAll(() => standInOf(env).setProfile(profileName));
  beforeEach(() => resetEnvironment(env, invocations));

  test("a chunk stored but its answer lost is found held, not patched: every annotation once", async () => {
    const standIn = standInOf(env);
    const event = makeEvent({ regions: boxes(REGIONS) });
    standIn.faults.script.push({ on: "POST", answer: "lose-answer" });
    await sendBodies(env, [JSON.stringify(event)]);
    await drain(env, poller, 60_000);

    expect(standIn.faults.script).toEqual([]); // the lost answer happened
    const held = standIn.annotations().filter((a) => a.input_id === event.inputId);
    expect(held).toHaveLength(REGIONS + 1); // the boxes and the image-level concepts
    expect(new Set(held.map((a) => a.id)).size).toBe(held.length);
    expect(standIn.requests.filter((r) => r.method === "PATCH")).toEqual([]);
    // Looked up, not halved: where Clarifai refuses the whole request, finding 128 existing ones by halving would
    // take 255 requests.
    expect(standIn.requests.length).toBeLessThanOrEqual(10);
    expect(deadLetters(env)).toEqual([]);
    expect(standIn.annotations()).toHaveLength(REGIONS + 1);
  }, 60_000);
});

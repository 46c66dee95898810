import { afterAll, beforeAll, beforeEach, describe, expect, test } from "@jest/globals";
import { PROFILE_NAMES } from "../../local/clarifai/profiles.js";
import { type LocalEnvironment, startLocalEnvironment } from "../../local/environment.js";
import type { InvokeInfo, Poller } from "../../local/poller.js";
import { loadBridge, resetEnvironment, standInOf, versionOf } from "../support/bridge.js";
import { LS_INPUT, lsCreated, lsDeleted, lsMapping, lsUpdated } from "../support/label-studio.js";
import { captureStdout } from "../support/logs.js";
import { deadLetters, drain, sendBodies } from "../support/sqs.js";

/**
 * Updates and deletes while Clarifai misbehaves: 5xx answers, cut connections, changes applied but their answers
 * lost, throttling. Forty Label Studio annotations are created, all updated, half deleted; Clarifai must end
 * holding exactly the updated sets of the other half, with no dead letter.
 */
let env: LocalEnvironment;
let poller: Poller;
const invocations: InvokeInfo[] = [];
let stdout: ReturnType<typeof captureStdout>;

beforeAll(async () => {
  env = await startLocalEnvironment({
    maxReceiveCount: 10,
    visibilityTimeoutSeconds: 2,
    standIn: {
      faults: { serverErrorRate: 0.1, dropConnectionRate: 0.05, throttleAboveRps: 20, retryAfterSeconds: 1 },
    },
  });
  stdout = captureStdout();
  ({ poller } = await loadBridge(
    env,
    {
      ...env.handlerEnv,
      BRIDGE_MAPPING: JSON.stringify(lsMapping),
      MAX_RECEIVE_COUNT: "10",
      BACKOFF_BASE_SECONDS: "1",
      BACKOFF_CAP_SECONDS: "1",
      REQUEST_TIMEOUT_MS: "1000",
    },
    invocations,
    { batchSize: 10 },
  ));
});
afterAll(async () => {
  stdout.restore();
  await env.close();
});

describe.each(PROFILE_NAMES)("under the stand-in profile %s", (profileName) => {
  beforeAll(() => standInOf(env).setProfile(profileName));
  beforeEach(() => resetEnvironment(env, invocations));

  test("created -> updated -> half deleted, under faults: Clarifai ends with exactly the updated sets of the rest", async () => {
    const ids = Array.from({ length: 40 }, (_, i) => 5000 + i);
    const standIn = standInOf(env);
    // Some changes land but their answers are lost: the retry must see them done, not do them twice.
    standIn.faults.script.push("lose-answer", "lose-answer");
    await sendBodies(
      env,
      ids.map((id) => lsCreated(id)),
    );
    await drain(env, poller, 60_000);
    standIn.faults.script.push("lose-answer", "lose-answer");
    await sendBodies(
      env,
      ids.map((id) => lsUpdated("2026-11-20T09:31:27.902114Z", id)),
    );
    await drain(env, poller, 60_000);
    standIn.faults.script.push("lose-answer");
    await sendBodies(env, [lsDeleted(...ids.slice(0, 20))]);
    await drain(env, poller, 60_000);

    const held = standIn.annotations().filter((a) => a.input_id === LS_INPUT);
    const byUpstream = new Map<string, typeof held>();
    for (const a of held) {
      const upstream = (a.annotation.annotation_info as { upstream: { annotationId: string } }).upstream
        .annotationId;
      byUpstream.set(upstream, [...(byUpstream.get(upstream) ?? []), a]);
    }
    expect([...byUpstream.keys()].sort()).toEqual(ids.slice(20).map(String).sort());
    for (const set of byUpstream.values()) {
      // The updated set: the scene (now Water) and the moved box; the polygon is gone; all from the update.
      expect(set).toHaveLength(2);
      for (const a of set) expect(versionOf(a.annotation)).toBe("2026-11-20T09:31:27.902114Z");
    }
    expect(deadLetters(env)).toHaveLength(0);
    // The faults really happened.
    expect(standIn.requests.filter((r) => r.httpStatus === 0 || r.httpStatus >= 500).length).toBeGreaterThan(
      0,
    );
    expect(invocations.some((i) => i.failed > 0)).toBe(true);
  }, 120_000);
});

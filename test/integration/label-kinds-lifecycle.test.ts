import { readFileSync } from "node:fs";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "@jest/globals";
import { annotationKind } from "../../local/clarifai/kinds.js";
import { PROFILE_NAMES } from "../../local/clarifai/profiles.js";
import { type LocalEnvironment, startLocalEnvironment } from "../../local/environment.js";
import type { InvokeInfo, Poller } from "../../local/poller.js";
import { loadBridge, resetEnvironment, standInOf } from "../support/bridge.js";
import { cvatVideoJob } from "../support/cvat.js";
import { captureStdout } from "../support/logs.js";
import { deadLetters, drain, sendBodies } from "../support/sqs.js";

/**
 * Updates and deletes of the new label kinds, through fauxqs, the real handler and the stand-in, under every
 * stand-in profile: one Label Studio annotation holding a video track, a brush mask, a keypoint skeleton and a
 * text span (created, updated with the track moved, the mask removed and the span changed, then deleted), and a
 * CVAT video job (completed, then re-completed with one of its two tracks deleted).
 */
// biome-ignore lint/suspicious/noExplicitAny: the tests edit upstream JSON freely
type Json = Record<string, any>;
let env: LocalEnvironment;
let poller: Poller;
const invocations: InvokeInfo[] = [];
let stdout: ReturnType<typeof captureStdout>;

const fixture = (name: string): Json => JSON.parse(readFileSync(`test/fixtures/upstream/${name}`, "utf8"));
const mapping = {
  projects: {
    "label-studio:12": {
      taskId: "street-audit",
      keypoints: { face: ["nose", "left_eye", "right_eye"] },
      labels: { Car: "car", ORG: "organisation", LOC: "location" },
    },
    "cvat:5": { taskId: "traffic-video", frameRate: 25 },
  },
};

beforeAll(async () => {
  env = await startLocalEnvironment({ maxReceiveCount: 3, visibilityTimeoutSeconds: 2 });
  stdout = captureStdout();
  ({ poller } = await loadBridge(
    env,
    { ...env.handlerEnv, BRIDGE_MAPPING: JSON.stringify(mapping), MAX_RECEIVE_COUNT: "3" },
    invocations,
    { batchSize: 10 },
  ));
});
afterAll(async () => {
  stdout.restore();
  await env.close();
});
beforeEach(() => resetEnvironment(env, invocations));

/** One Label Studio annotation of every kind: results of the four kind fixtures on one task of project 12. */
function lsAnnotation(
  action: string,
  updatedAt: string,
  edit: (result: Json[]) => Json[] = (r) => r,
): string {
  const results = [
    "label-studio-video.json",
    "label-studio-brush.json",
    "label-studio-keypoints.json",
    "label-studio-ner.json",
  ]
    .flatMap((f) => fixture(f).annotation.result)
    .filter((r: Json) => r.value?.keypointlabels?.[0] !== "mole");
  const body = fixture("label-studio-created.json");
  body.action = action;
  body.annotation = { ...body.annotation, id: 7001, updated_at: updatedAt, result: edit(results) };
  return JSON.stringify(body);
}

const cvatJob = (updatedAt: string, trackIds: number[]) =>
  cvatVideoJob({
    updatedAt,
    stopFrame: 9,
    tracks: trackIds.map((id) => ({
      id,
      keyframes: [
        { frame: 0, x: id },
        { frame: 9, x: id + 100 },
      ],
    })),
  });

const kindsOn = (input: string) => {
  const counts: Record<string, number> = {};
  for (const a of standInOf(env)
    .annotations()
    .filter((s) => s.input_id === input)) {
    const kind = annotationKind(a.annotation);
    counts[kind] = (counts[kind] ?? 0) + 1;
  }
  return counts;
};

async function send(...bodies: string[]) {
  await sendBodies(env, bodies);
  await drain(env, poller);
}

describe.each(PROFILE_NAMES)("under the stand-in profile %s", (profileName) => {
  beforeAll(() => standInOf(env).setProfile(profileName));

  test("Label Studio: a track, a mask, a skeleton and a span created, updated, then deleted", async () => {
    await send(lsAnnotation("ANNOTATION_CREATED", "2026-12-01T10:00:00.000000Z"));
    // The track's 9 frames, the mask, the face skeleton, two spans; the project has no negatives.
    expect(kindsOn("sku-street-0307")).toEqual({ "video box": 9, mask: 1, keypoints: 1, span: 2 });

    await send(
      lsAnnotation("ANNOTATION_UPDATED", "2026-12-01T11:00:00.000000Z", (result) =>
        result
          .filter((r) => r.type !== "brushlabels")
          .map((r) => {
            if (r.type === "videorectangle")
              return { ...r, value: { ...r.value, sequence: r.value.sequence.slice(0, 2) } }; // frames 1-10: 10
            if (r.id === "Ner0Loc002")
              return { ...r, value: { ...r.value, start: 15, end: 18, text: "Par" } };
            return r;
          }),
      ),
    );
    expect(kindsOn("sku-street-0307")).toEqual({ "video box": 10, keypoints: 1, span: 2 });
    const spans = standInOf(env)
      .annotations()
      .map((a) => (a.annotation.data as Json).regions?.[0]?.region_info?.span)
      .filter(Boolean);
    expect(spans).toContainEqual({ char_start: 15, char_end: 18, raw_text: "Par" });
    for (const a of standInOf(env).annotations())
      expect((a.annotation.data as Json).metadata.bridge_occurred_at).toBe("2026-12-01T11:00:00.000000Z");

    await send(
      JSON.stringify({ action: "ANNOTATIONS_DELETED", annotations: [{ id: 7001 }], project: { id: 12 } }),
    );
    expect(kindsOn("sku-street-0307")).toEqual({});
    expect(deadLetters(env)).toEqual([]);
  });

  test("CVAT video job: completed with two tracks, re-completed with one deleted", async () => {
    await send(cvatJob("2026-12-01T10:00:00Z", [1, 2]));
    expect(kindsOn("clip-9")).toEqual({ "video box": 20 });
    await send(cvatJob("2026-12-01T12:00:00Z", [2]));
    expect(kindsOn("clip-9")).toEqual({ "video box": 10 });
    const tracks = new Set(
      standInOf(env)
        .annotations()
        .map((a) => (a.annotation.data as Json).frames[0].data.regions[0].track_id),
    );
    expect(tracks).toEqual(new Set(["cvat-track-2"]));
    // The older completion arriving late changes nothing.
    await send(cvatJob("2026-12-01T10:00:00Z", [1, 2]));
    expect(kindsOn("clip-9")).toEqual({ "video box": 10 });
    expect(deadLetters(env)).toEqual([]);
  });
});

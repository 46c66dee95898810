import { readFileSync } from "node:fs";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "@jest/globals";
import { PROFILE_NAMES } from "../../local/clarifai/profiles.js";
import { type LocalEnvironment, startLocalEnvironment } from "../../local/environment.js";
import type { InvokeInfo, Poller } from "../../local/poller.js";
import { loadBridge, resetEnvironment, standInOf, versionOf } from "../support/bridge.js";
import { LS_INPUT, LS_TASK, lsCreated, lsDeleted, lsMapping, lsUpdated } from "../support/label-studio.js";
import { captureStdout } from "../support/logs.js";
import { deadLetters, drain, sendBodies } from "../support/sqs.js";

/**
 * One Label Studio annotation's life on a standard queue, through fauxqs, the real handler and the stand-in:
 * created -> updated -> deleted, and the same events out of order, under every stand-in behaviour profile (each
 * an answer Clarifai may really give where its behaviour is unconfirmed).
 */
let env: LocalEnvironment;
let poller: Poller;
const invocations: InvokeInfo[] = [];
let stdout: ReturnType<typeof captureStdout>;

beforeAll(async () => {
  env = await startLocalEnvironment({ maxReceiveCount: 3, visibilityTimeoutSeconds: 2 });
  stdout = captureStdout();
  ({ poller } = await loadBridge(
    env,
    {
      ...env.handlerEnv,
      BRIDGE_MAPPING: JSON.stringify({
        projects: {
          ...lsMapping.projects,
          "sagemaker-ground-truth:street-boxes": { taskId: "street-audit" },
        },
      }),
      MAX_RECEIVE_COUNT: "3",
    },
    invocations,
    { batchSize: 10 },
  ));
});
afterAll(async () => {
  stdout.restore();
  await env.close();
});
beforeEach(() => resetEnvironment(env, invocations));

const standIn = () => standInOf(env);
/** What the stand-in holds for the input, as id -> the concepts and region of each annotation. */
const held = () =>
  standIn()
    .annotations()
    .filter((a) => a.input_id === LS_INPUT)
    .map(
      (a) =>
        a.annotation as {
          id: string;
          data: Record<string, unknown>;
          annotation_info: Record<string, unknown>;
        },
    );
const requests = (method: string) => standIn().requests.filter((r) => r.method === method);
const leftCol = (a: { data: Record<string, unknown> }) =>
  (a.data.regions as { region_info: { bounding_box?: { left_col: number } } }[] | undefined)?.[0]?.region_info
    .bounding_box?.left_col;

async function send(...bodies: string[]) {
  await sendBodies(env, bodies);
  await drain(env, poller);
}

describe.each(PROFILE_NAMES)("under the stand-in profile %s", (profileName) => {
  beforeAll(() => standIn().setProfile(profileName));

  describe("Label Studio: one annotation's life on a standard queue", () => {
    test("created -> updated -> deleted ends with the updated set, then none; a neighbour is untouched", async () => {
      await send(lsCreated(4521), lsCreated(9999)); // 9999: another labeler's annotation of the same image
      const created = held();
      expect(created).toHaveLength(6); // per annotation: the scene choice, the box, the polygon
      const mine = created.filter(
        (a) => (a.annotation_info.upstream as { annotationId: string }).annotationId === "4521",
      );
      const base = mine.find((a) => a.data.concepts)?.id as string;
      expect(mine.map((a) => a.id).sort()).toEqual(
        mine
          .map((a) => a.id)
          .filter((id) => id.startsWith(base))
          .sort(),
      );

      standIn().requests.length = 0;
      await send(lsUpdated("2026-11-20T09:31:27.902114Z"));
      const updated = held().filter((a) => a.id.startsWith(base));
      // The polygon's member is deleted; the box and the scene are overwritten in place.
      expect(updated.map((a) => a.id).sort()).toEqual(
        mine
          .filter(
            (a) =>
              !(a.data.regions as { region_info: { polygon?: unknown } }[] | undefined)?.[0]?.region_info
                .polygon,
          )
          .map((a) => a.id)
          .sort(),
      );
      expect(updated.find((a) => a.id === base)?.data).toEqual({
        concepts: [{ id: "water", name: "Water", value: 1 }],
        metadata: { bridge_occurred_at: "2026-11-20T09:31:27.902114Z" },
      });
      expect(leftCol(updated.find((a) => a.id !== base) as { data: Record<string, unknown> })).toBeCloseTo(
        0.3,
        9,
      );
      for (const a of updated) {
        // The update's version, whether the overwrite replaced annotation_info or kept it.
        expect(versionOf(a)).toBe("2026-11-20T09:31:27.902114Z");
        expect(a.annotation_info).toMatchObject({ task_id: LS_TASK });
      }
      expect(requests("GET")).toHaveLength(1);
      expect(requests("PATCH")).toMatchObject([{ annotations: 2, httpStatus: 200 }]);
      expect(requests("DELETE")).toMatchObject([{ annotations: 1, httpStatus: 200 }]);
      expect(requests("POST")).toHaveLength(0);

      // The delete names only the annotation id: the set is found through the task's annotations.
      await send(lsDeleted(4521));
      expect(held().filter((a) => a.id.startsWith(base))).toEqual([]);
      expect(held()).toHaveLength(3); // the neighbour's set
      expect(deadLetters(env)).toHaveLength(0);

      // Deleting what is already gone is done, not an error.
      await send(lsDeleted(4521));
      expect(deadLetters(env)).toHaveLength(0);
      expect(invocations.every((i) => i.failed === 0)).toBe(true);
    });

    test("out of order: an update before its create, and an older update after a newer one, leave the newest", async () => {
      await send(lsUpdated("2026-11-20T09:40:00.000000Z")); // Clarifai has nothing yet: the update creates
      expect(requests("POST")).toMatchObject([{ annotations: 2 }]);
      const newest = held();

      await send(lsCreated()); // the older create: its ids exist, so it is counted delivered and changes nothing
      await send(lsUpdated("2026-11-20T09:35:00.000000Z")); // an older update: stale, nothing sent
      expect(held()).toEqual(newest);
      expect(requests("PATCH")).toHaveLength(0);
      expect(deadLetters(env)).toHaveLength(0);
    });

    test("create, a newer update applied by PATCH, then an older update: the older one changes nothing", async () => {
      await send(lsCreated());
      await send(lsUpdated("2026-11-20T09:40:00.000000Z"));
      expect(requests("PATCH")).toHaveLength(1);
      const newest = held();
      await send(lsUpdated("2026-11-20T09:35:00.000000Z"));
      expect(held()).toEqual(newest);
      expect(requests("PATCH")).toHaveLength(1);
      expect(deadLetters(env)).toHaveLength(0);
    });

    test("create, update and delete of one annotation in one batch: the latest (the delete) is what Clarifai ends with", async () => {
      await send(lsCreated(), lsUpdated("2026-11-20T09:31:27.902114Z"), lsDeleted(4521));
      expect(invocations).toHaveLength(1);
      expect(invocations[0]).toMatchObject({ records: 3, failed: 0, deleted: 3 });
      expect(held()).toEqual([]);
      expect(deadLetters(env)).toHaveLength(0);
    });
  });

  describe("SageMaker Ground Truth", () => {
    test("a bounding-box line (raw, and in a streaming job's SNS envelope) arrives as one region per annotation", async () => {
      const line = readFileSync("test/fixtures/upstream/ground-truth-boxes.json", "utf8").trim();
      await send(line);
      const boxes = standIn()
        .annotations()
        .filter((a) => a.input_id === "IMG_0307")
        .map(
          (a) =>
            a.annotation as {
              task_id: string;
              data: { regions: { region_info: { bounding_box: Record<string, number> } }[] };
            },
        );
      expect(boxes).toHaveLength(2);
      const byTop = boxes
        .map((b) => b.data.regions)
        .sort(
          (a, b) =>
            (a[0]?.region_info.bounding_box.top_row ?? 0) - (b[0]?.region_info.bounding_box.top_row ?? 0),
        );
      for (const regions of byTop) expect(regions).toHaveLength(1);
      expect(byTop[0]?.[0]?.region_info.bounding_box).toEqual({
        top_row: expect.closeTo(0.1, 9),
        left_col: expect.closeTo(0.1, 9),
        bottom_row: expect.closeTo(0.3, 9),
        right_col: expect.closeTo(0.3, 9),
      });
      expect(byTop[1]?.[0]?.region_info.bounding_box).toEqual({
        top_row: expect.closeTo(0.8, 9),
        left_col: expect.closeTo(0.9, 9),
        bottom_row: 1,
        right_col: 1,
      });
      expect(boxes.every((b) => b.task_id === "street-audit")).toBe(true);

      // The same line from a streaming job's SNS topic: unwrapped, same ids, so nothing new is created.
      await send(
        JSON.stringify({
          Type: "Notification",
          MessageId: "m-1",
          TopicArn: "arn:aws:sns:us-east-1:1:gt",
          Message: line,
        }),
      );
      expect(
        standIn()
          .annotations()
          .filter((a) => a.input_id === "IMG_0307"),
      ).toHaveLength(2);
      expect(deadLetters(env)).toHaveLength(0);
    });

    test("an adjustment line after its original replaces the boxes: the moved one moves, the dropped one goes", async () => {
      const original = JSON.parse(readFileSync("test/fixtures/upstream/ground-truth-boxes.json", "utf8"));
      await send(JSON.stringify(original));
      const before = standIn()
        .annotations()
        .filter((a) => a.input_id === "IMG_0307");
      expect(before).toHaveLength(2);
      // The adjustment job keeps the original attribute and adds adjusted-<attr> with its own metadata (AWS's
      // sms-data-output.md): the car moved right (left 100 -> 300), the cyclist removed, a day later.
      const adjusted = {
        ...original,
        "adjusted-street-boxes": {
          image_size: original["street-boxes"].image_size,
          annotations: [{ ...original["street-boxes"].annotations[0], left: 300 }],
        },
        "adjusted-street-boxes-metadata": {
          ...original["street-boxes-metadata"],
          objects: [{ confidence: 0 }],
          "adjustment-status": "adjusted",
          "creation-date": "2026-11-22T09:30:00",
          "job-name": "labeling-job/street-boxes-adjust",
        },
      };
      await send(JSON.stringify(adjusted));
      const after = standIn()
        .annotations()
        .filter((a) => a.input_id === "IMG_0307")
        .map((a) => a.annotation as Record<string, unknown> & { data: Record<string, unknown> });
      expect(after).toHaveLength(1);
      expect(leftCol(after[0] as { data: Record<string, unknown> })).toBeCloseTo(0.3, 9);
      expect(Date.parse(versionOf(after[0] as Record<string, unknown>) ?? "")).toBe(
        Date.parse("2026-11-22T09:30:00Z"),
      );
      expect(deadLetters(env)).toHaveLength(0);
    });
  });
});

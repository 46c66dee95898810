import { readFileSync } from "node:fs";
import { CreateBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "@jest/globals";
import { PROFILE_NAMES } from "../../local/clarifai/profiles.js";
import { type LocalEnvironment, startLocalEnvironment } from "../../local/environment.js";
import { localS3Client } from "../../local/local-s3.js";
import { type MaskFileServer, startMaskFileServer } from "../../local/mask-files.js";
import { createPoller, type InvokeInfo, type Poller, type SqsHandler } from "../../local/poller.js";
import { loadBridge, resetEnvironment, standInOf } from "../support/bridge.js";
import { captureStdout } from "../support/logs.js";
import { groundTruthSegmentation, labelboxComposite, scaleIndexed } from "../support/mask-files.js";
import { deadLetters, drain, queueCounts, sendBodies } from "../support/sqs.js";

/**
 * Masks kept in files, through fauxqs, the real handler, real HTTP and the local S3: a Labelbox row's composite
 * mask (read with the Labelbox key), a Scale segmentation's indexed image (read with no key), a Ground Truth
 * segmentation PNG in S3; a file that answers 503 is retried until it is read, a wrong key (403) and a missing
 * object are dead-lettered by name, and a canonical neighbour in the same batch is delivered all the same.
 */
// biome-ignore lint/suspicious/noExplicitAny: the tests edit upstream JSON freely
type Json = Record<string, any>;
const LABELBOX_KEY = "lb-test-key-0123456789abcdef";
const BUCKET = "acme-gt-output";
let env: LocalEnvironment;
let files: MaskFileServer;
let poller: Poller;
const invocations: InvokeInfo[] = [];
let stdout: ReturnType<typeof captureStdout>;
const fixture = (name: string): Json => JSON.parse(readFileSync(`test/fixtures/upstream/${name}`, "utf8"));
const COMPOSITE = "/api/v1/tasks/clx0tk0000001/masks/clx0cm0000001/index/1";
const INDEXED = "/results/6512a7c4e1b8f9001f3c2d77/combined-indexed.png";
const GT_KEY = "street-seg/annotations/consolidated-annotation/output/0_2026-11-22T09:12:44.png";

beforeAll(async () => {
  env = await startLocalEnvironment({ maxReceiveCount: 4, visibilityTimeoutSeconds: 2 });
  files = await startMaskFileServer();
  stdout = captureStdout();
  const mapping = {
    projects: {
      "labelbox:clx0pr0000street": { taskId: "street-masks", maskOrigins: [files.url] },
      "scale:street-seg": { taskId: "street-seg", maskOrigins: [files.url] },
      "sagemaker-ground-truth:street-seg": {
        taskId: "street-seg",
        maskOrigins: [`s3://${BUCKET}/street-seg/`],
      },
    },
  };
  ({ poller } = await loadBridge(
    env,
    {
      ...env.handlerEnv,
      BRIDGE_MAPPING: JSON.stringify(mapping),
      LABELBOX_API_KEY: LABELBOX_KEY,
      LABELBOX_API_ORIGIN: files.url, // the local host stands in for Labelbox's API

      MAX_RECEIVE_COUNT: "4",
      BACKOFF_BASE_SECONDS: "1",
      BACKOFF_CAP_SECONDS: "1",
    },
    invocations,
    { batchSize: 10 },
  ));
});
afterAll(async () => {
  stdout.restore();
  await files.close();
  await env.close();
});
beforeEach(async () => {
  resetEnvironment(env, invocations); // empties the local S3 too
  const s3 = localS3Client(env);
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: GT_KEY, Body: groundTruthSegmentation() }));
  s3.destroy();

  files.requests.length = 0;
  files.files.set(COMPOSITE, { bytes: labelboxComposite(), key: LABELBOX_KEY });
  files.files.set(INDEXED, { bytes: scaleIndexed() });
});

/** The fixtures with their mask URLs on the local file server. */
function labelboxBody(): string {
  const row = fixture("labelbox-v2-masks.json");
  for (const o of row.projects.clx0pr0000street.labels[0].annotations.objects) {
    o.composite_mask.url = `${files.url}${COMPOSITE}`;
    o.mask.url = `${files.url}/api/v1/never-read`;
  }
  return JSON.stringify(row);
}
function scaleBody(): string {
  const callback = fixture("scale-segmentannotation.json");
  callback.response.annotations.combined.indexedImage = `${files.url}${INDEXED}`;
  callback.task.response = callback.response;
  return JSON.stringify(callback);
}
const groundTruthBody = (key = GT_KEY) => {
  const line = fixture("ground-truth-segmentation.json");
  line["street-seg-ref"] = `s3://${BUCKET}/${key}`;
  return JSON.stringify(line);
};
const neighbour = () => readFileSync("examples/events/01-street-audit-tree.json", "utf8");

const hasMask = (a: { annotation: Json }) => Boolean(a.annotation.data?.regions?.[0]?.region_info?.mask);
const stored = (input: string) =>
  standInOf(env)
    .annotations()
    .filter((a) => a.input_id === input && hasMask(a));

describe("mask files", () => {
  test("Labelbox with its key, Scale with none, Ground Truth from S3: every mask delivered, each file read once", async () => {
    await sendBodies(env, [labelboxBody(), scaleBody(), groundTruthBody()]);
    await drain(env, poller);
    expect(deadLetters(env)).toEqual([]);
    expect(stored("sku-street-0412")).toHaveLength(2); // road and sidewalk, one composite file
    expect(stored("sku-street-0310")).toHaveLength(4); // road, sidewalk, two people
    expect(stored("sku-street-0309")).toHaveLength(2); // road and sidewalk; no bicycle, no background
    // Counted: three files read (the Labelbox composite, Scale's indexed image, the S3 PNG), none failed.
    const emf = stdout
      .lines()
      .filter((l) => l.includes('"MaskFilesFetched"'))
      .map((l) => JSON.parse(l) as { MaskFilesFetched: number | number[]; MaskFilesFailed?: number });
    // EMF lists a metric's values when it is added more than once in an invocation.
    expect(emf.flatMap((m) => [m.MaskFilesFetched].flat()).reduce((n, v) => n + v, 0)).toBe(3);
    expect(emf.some((m) => m.MaskFilesFailed)).toBe(false);
    // One request per file; the Labelbox key went to Labelbox's file only.
    expect(files.requests).toEqual([
      expect.objectContaining({ path: COMPOSITE, status: 200, authorization: `Bearer ${LABELBOX_KEY}` }),
      expect.objectContaining({ path: INDEXED, status: 200, authorization: undefined }),
    ]);
  });

  test("a file that answers 503 is retried until it is read; a 403 and a missing S3 object are dead-lettered by name", async () => {
    files.failNext(INDEXED, 503, 2);
    files.files.set(COMPOSITE, { bytes: labelboxComposite(), key: "another-key-0123456789" });
    await sendBodies(env, [
      scaleBody(),
      labelboxBody(),
      groundTruthBody("street-seg/missing.png"),
      neighbour(),
    ]);
    await drain(env, poller, 30_000);
    expect(stored("sku-street-0310")).toHaveLength(4);
    expect(files.requests.filter((r) => r.path === INDEXED).map((r) => r.status)).toEqual([503, 503, 200]);
    const letters = deadLetters(env).map((m) => ({
      code: m.messageAttributes?.errorCode?.StringValue,
      reason: m.messageAttributes?.reason?.StringValue ?? "",
    }));
    expect(letters.map((l) => l.code).sort()).toEqual(["mask-forbidden", "mask-not-found"]);
    for (const l of letters) {
      expect(l.reason).not.toContain(LABELBOX_KEY);
      expect(l.reason).not.toContain(GT_KEY.slice(0, 10));
    }
    // The canonical neighbour in the same batch is delivered all the same.
    expect(
      standInOf(env)
        .annotations()
        .some((a) => a.input_id === "sku-street-0307" && !hasMask(a)),
    ).toBe(true);
  });

  test("a file host that never answers: the handler stops fetching at half its time, well inside its timeout", async () => {
    files.stalled.add(INDEXED);
    try {
      const { handler } = (await import("../../lambda/handler.js")) as unknown as { handler: SqsHandler };
      const short = createPoller({
        sqs: env.sqs,
        queueUrl: env.queueUrl,
        queueArn: env.queueArn,
        handler,
        functionTimeoutMs: 4_000,
      });
      await sendBodies(env, [scaleBody()]);
      // The invocation's 4 s: 0.4 s kept back, half of the rest (1.8 s) for fetching; the file is cut there and the
      // record retried later (not lost, not dead-lettered), the invocation ending well before its timeout.
      const started = Date.now();
      expect(await short.pollOnce(5)).toBe(1);
      const took = Date.now() - started;
      expect(took).toBeGreaterThanOrEqual(1_500);
      expect(took).toBeLessThan(3_500);
      expect(files.requests.map((r) => [r.path, r.status])).toEqual([[INDEXED, 0]]);
      const counts = queueCounts(env);
      expect(counts.ready + counts.inflight + counts.delayed).toBe(1);
      expect(deadLetters(env)).toEqual([]);
    } finally {
      files.stalled.clear();
    }
  });
});

/** A body with the format and the Labelbox topic, as the ingress queues it. */
async function sendLabelbox(body: string, topic: string) {
  await env.sqs.send(
    new SendMessageCommand({
      QueueUrl: env.queueUrl,
      MessageBody: body,
      MessageAttributes: {
        format: { DataType: "String", StringValue: "labelbox" },
        "labelbox-event": { DataType: "String", StringValue: topic },
      },
    }),
  );
  await drain(env, poller, 30_000);
}

describe.each(PROFILE_NAMES)(
  "updates and deletes of masks kept in files, stand-in profile %s",
  (profileName) => {
    beforeAll(() => standInOf(env).setProfile(profileName));
    afterAll(() => standInOf(env).setProfile("default"));

    test("Labelbox: two masks created, one removed by an update, then the label deleted", async () => {
      const row = JSON.parse(labelboxBody());
      const label = row.projects.clx0pr0000street.labels[0];
      await sendLabelbox(JSON.stringify(row), "LABEL_CREATED");
      expect(stored("sku-street-0412")).toHaveLength(2);
      label.label_details.updated_at = "2026-11-21T11:00:00.000+00:00";
      label.annotations.objects = label.annotations.objects.slice(0, 1);
      await sendLabelbox(JSON.stringify(row), "LABEL_UPDATED");
      expect(
        stored("sku-street-0412").map((a) => (a.annotation as Json).data.regions[0].data.concepts[0].id),
      ).toEqual(["Road"]);
      await sendLabelbox(
        JSON.stringify({ id: label.id, project: { id: "clx0pr0000street" } }),
        "LABEL_DELETED",
      );
      expect(stored("sku-street-0412")).toHaveLength(0);
      expect(deadLetters(env)).toEqual([]);
    });

    test("Scale: a segmentation completed, re-completed without its people, then canceled", async () => {
      const callback = JSON.parse(scaleBody());
      await sendBodies(env, [JSON.stringify(callback)]);
      await drain(env, poller, 30_000);
      expect(stored("sku-street-0310")).toHaveLength(4);
      callback.task.updated_at = "2026-11-22T12:00:00.000Z";
      delete callback.response.labelMapping.person;
      callback.task.response = callback.response;
      await sendBodies(env, [JSON.stringify(callback)]);
      await drain(env, poller, 30_000);
      expect(stored("sku-street-0310")).toHaveLength(2);
      callback.task.status = "canceled";
      callback.task.updated_at = "2026-11-22T13:00:00.000Z";
      await sendBodies(env, [JSON.stringify(callback)]);
      await drain(env, poller, 30_000);
      expect(stored("sku-street-0310")).toHaveLength(0);
      expect(deadLetters(env)).toEqual([]);
    });
  },
);

import { rmSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import type { SQSRecord } from "aws-lambda";
import { BUNDLING, HANDLER_ENTRY, PROJECT_ROOT, SPLIT_BUNDLE_SCRIPT } from "../../lib/bundling.js";
import { type LocalEnvironment, startLocalEnvironment } from "../../local/environment.js";
import { localS3Client } from "../../local/local-s3.js";
import { type MaskFileServer, startMaskFileServer } from "../../local/mask-files.js";
import { type NodeFlags, runBounded } from "../support/bounded-process.js";
import { resetEnvironment, standInOf } from "../support/bridge.js";
import {
  emptyListsSequence,
  fullResolutionMask,
  groundTruthVideo,
  labelboxMasks,
  labelStudioBrushes,
  pngBomb,
  scaleSegmentation,
} from "../support/heavy-records.js";
import { lsCreated, lsMapping } from "../support/label-studio.js";
import { sqsRecord } from "../support/record.js";
import { deadLetters } from "../support/sqs.js";

/**
 * One heavy record never takes down its batch (issue 31): the bundled handler, in a process killed the moment its
 * resident memory passes the stack's default 256 MB (as Lambda kills it), is given each heavy record between two
 * small Label Studio neighbours: a PNG whose data inflates to 512 MiB, a Labelbox label of ten 4096 x 4096 masks,
 * a Label Studio body of about 1 MB of 4096 x 4096 brush masks, a 16 MiB SeqLabel.json of empty lists. The
 * process never dies; both neighbours are delivered by the first invocation; the heavy record ends as annotations
 * or as one dead letter naming its limit (retried records are handed to the same instance again, as SQS would).
 */
const MEMORY_MB = 256;
const BUCKET = "acme-gt-output";
const SEQ_KEY = "street-tracking/annotations/consolidated-annotation/output/0/SeqLabel.json";
const OUT = path.join(PROJECT_ROOT, "cdk.out", `memory-test-${process.pid}`);
let env: LocalEnvironment;
let files: MaskFileServer;

beforeAll(async () => {
  const { splitBundle } = (await import(pathToFileURL(SPLIT_BUNDLE_SCRIPT).href)) as {
    splitBundle: (entry: string, outdir: string, settings: unknown) => Promise<unknown>;
  };
  await splitBundle(HANDLER_ENTRY, OUT, BUNDLING);
  env = await startLocalEnvironment();
  files = await startMaskFileServer();
}, 60_000);

afterAll(async () => {
  await files?.close();
  await env?.close();
  rmSync(OUT, { recursive: true, force: true });
});

const mapping = () => ({
  ...lsMapping,
  projects: {
    ...lsMapping.projects,
    "labelbox:clx0pr0000street": { taskId: "street-masks", maskOrigins: [files.url] },
    "scale:street-seg": { taskId: "street-seg", maskOrigins: [files.url] },
    "sagemaker-ground-truth:street-tracking": {
      taskId: "street-tracking",
      maskOrigins: [`s3://${BUCKET}/street-tracking/`],
      imageSize: { width: 640, height: 480 },
    },
  },
});

interface Fate {
  readonly delivered: boolean;
  readonly deadLetter?: { code: string; reason: string };
}

/** Runs [neighbour, heavy, neighbour] in one bounded instance, handing back what failed, up to 4 receives. */
async function runWithNeighbours(heavy: string, flags: NodeFlags) {
  const first = [sqsRecord(lsCreated(9101), 0), sqsRecord(heavy, 1), sqsRecord(lsCreated(9102), 2)];
  const batches: SQSRecord[][] = [first];
  const invoke = (records: SQSRecord[]) =>
    runBounded(
      OUT,
      [records],
      {
        ...env.handlerEnv,
        BRIDGE_MAPPING: JSON.stringify(mapping()),
        LABELBOX_API_KEY: "lb-key-0123456789",
        LABELBOX_API_ORIGIN: files.url,
      },
      { memoryMb: MEMORY_MB, timeoutMs: 60_000, flags },
    );
  const run = await invoke(first);
  const runs = [run];
  // Records the instance handed back are received again (a fresh process each time: no state carried over).
  for (let receive = 2; receive <= 4; receive++) {
    const failed = new Set(runs.at(-1)?.answers[0]?.batchItemFailures.map((f) => f.itemIdentifier) ?? []);
    if (failed.size === 0 || runs.at(-1)?.killed) break;
    const again = (batches.at(-1) ?? [])
      .filter((r) => failed.has(r.messageId))
      .map((r) => ({ ...r, attributes: { ...r.attributes, ApproximateReceiveCount: String(receive) } }));
    batches.push(again);
    runs.push(await invoke(again));
  }
  const annotationsOf = (labelStudioId: number) =>
    standInOf(env)
      .annotations()
      .filter((a) => JSON.stringify(a.annotation).includes(`label-studio:12:${labelStudioId}`));
  const letters = deadLetters(env).map((m) => ({
    id: m.messageAttributes?.sourceMessageId?.StringValue,
    code: m.messageAttributes?.errorCode?.StringValue ?? "",
    reason: m.messageAttributes?.reason?.StringValue ?? "",
  }));
  const heavyLetter = letters.find((l) => l.id === "m-1");
  const stillFailing = runs.at(-1)?.answers[0]?.batchItemFailures.some((f) => f.itemIdentifier === "m-1");
  const heavyFate: Fate = {
    delivered: !heavyLetter && !stillFailing,
    ...(heavyLetter ? { deadLetter: { code: heavyLetter.code, reason: heavyLetter.reason } } : {}),
  };
  return { runs, firstFailures: run.answers[0]?.batchItemFailures ?? [], annotationsOf, letters, heavyFate };
}

function expectBounded(result: Awaited<ReturnType<typeof runWithNeighbours>>) {
  for (const r of result.runs) {
    expect({ killed: r.killed, stderr: r.stderr.slice(0, 500) }).toEqual({ killed: undefined, stderr: "" });
    expect(r.peakMb).toBeLessThan(MEMORY_MB);
  }
  // Both neighbours delivered by the first invocation, and never dead-lettered.
  expect(result.firstFailures.map((f) => f.itemIdentifier)).not.toContain("m-0");
  expect(result.firstFailures.map((f) => f.itemIdentifier)).not.toContain("m-2");
  expect(result.annotationsOf(9101).length).toBeGreaterThan(0);
  expect(result.annotationsOf(9102).length).toBeGreaterThan(0);
  expect(result.letters.filter((l) => l.id !== "m-1")).toEqual([]);
  // The heavy record: exactly one dead letter, or delivered; never left failing.
  expect(result.letters.filter((l) => l.id === "m-1").length).toBeLessThanOrEqual(1);
  expect(result.heavyFate.delivered || result.heavyFate.deadLetter !== undefined).toBe(true);
}

// Node started as Lambda's runtime starts it (--expose-gc, heap sized from the memory), and with node's defaults.
describe.each(["lambda", "bare"] as const)(
  `one heavy record beside two small ones, in a process killed past ${MEMORY_MB} MB (node flags: %s)`,
  (flags) => {
    test("a 0.5 MB PNG that inflates to 512 MiB: mask-inflates-past-header, the neighbours delivered", async () => {
      resetEnvironment(env);
      const bomb = await pngBomb(512, 80, 60);
      expect(bomb.length).toBeLessThan(600_000);
      files.files.set("/bomb.png", { bytes: bomb });
      const result = await runWithNeighbours(scaleSegmentation(`${files.url}/bomb.png`), flags);
      expectBounded(result);
      expect(result.heavyFate.deadLetter?.code).toBe("mask-inflates-past-header");
      expect(result.heavyFate.deadLetter?.reason).toMatch(
        /inflates past the 4860 bytes its 80x60 header implies/,
      );
    }, 120_000);

    test("a Labelbox label of ten 4096 x 4096 masks: delivered, the neighbours too", async () => {
      resetEnvironment(env);
      const mask = fullResolutionMask();
      for (let i = 0; i < 10; i++) files.files.set(`/masks/${i}.png`, { bytes: mask });
      const result = await runWithNeighbours(
        labelboxMasks(10, (i) => `${files.url}/masks/${i}.png`),
        flags,
      );
      expectBounded(result);
      expect({ fate: result.heavyFate, letters: result.letters }).toEqual({
        fate: { delivered: true },
        letters: [],
      });
      const masks = standInOf(env)
        .annotations()
        .filter((a) => a.input_id === "sku-street-0412" && JSON.stringify(a.annotation).includes('"mask"'));
      expect(masks).toHaveLength(10);
    }, 180_000);

    test("a Label Studio body of about 1 MB of 4096 x 4096 brush masks: delivered or refused by name", async () => {
      resetEnvironment(env);
      const { body, masks } = labelStudioBrushes(1_000_000);
      expect(masks).toBeGreaterThanOrEqual(66);
      expect(body.length).toBeLessThan(1_048_576);
      const result = await runWithNeighbours(body.replace('"id":4601', '"id":9150'), flags);
      expectBounded(result);
      if (result.heavyFate.deadLetter)
        expect(result.heavyFate.deadLetter.code).toMatch(/^(record-too-slow|record-over-memory)$/);
    }, 300_000);

    test("a 16 MiB SeqLabel.json of empty lists: sequence-too-large before it is parsed", async () => {
      resetEnvironment(env);
      const s3 = localS3Client(env);
      await s3.send(new CreateBucketCommand({ Bucket: BUCKET })).catch(() => undefined);
      // fauxqs takes at most 11 MiB a request (S3 takes 5 GB): the 16 MiB file goes up in two parts, as large ones do.
      const bytes = emptyListsSequence();
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: SEQ_KEY }));
      const half = 8 * 1024 * 1024;
      const parts = [];
      for (const [n, part] of [bytes.subarray(0, half), bytes.subarray(half)].entries()) {
        const { ETag } = await s3.send(
          new UploadPartCommand({ Bucket: BUCKET, Key: SEQ_KEY, UploadId, PartNumber: n + 1, Body: part }),
        );
        parts.push({ ETag, PartNumber: n + 1 });
      }
      await s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: BUCKET,
          Key: SEQ_KEY,
          UploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
      s3.destroy();
      const result = await runWithNeighbours(groundTruthVideo(`s3://${BUCKET}/${SEQ_KEY}`), flags);
      expectBounded(result);
      expect(result.heavyFate.deadLetter?.code).toBe("sequence-too-large");
    }, 120_000);
  },
);

import { readFileSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { describe, expect, test } from "@jest/globals";
import type { AuditOutcome } from "../../bin/cli/audit.js";
import { createJsonGetter } from "../../lambda/pull/edges.js";
import { readCvatJob } from "../../lambda/pull/run-pull.js";
import { LOCAL_APP, LOCAL_AWS_CREDENTIALS, LOCAL_REGION, LOCAL_USER } from "../../local/environment.js";
import type { LabelStudioTask } from "../../local/upstream-apis.js";
import {
  audit,
  auditArgs,
  bodiesOf,
  cli,
  cvatTask17,
  deliver,
  project,
  TASK,
  TOKEN,
  useAuditWorld,
} from "../support/audit.js";
import { deleteByHand, standInOf } from "../support/bridge.js";
import { drain, sendBodies } from "../support/sqs.js";

/**
 * `clarifai-bridge audit`'s other sources, through the CLI: a careless or hostile Label Studio (the report names
 * what can never be queued, and compares the rest), a Ground Truth output manifest in a file and in S3, and the jobs
 * of a CVAT task as the puller reads them.
 */
const world = useAuditWorld();

describe("a careless or hostile Label Studio", () => {
  test("whatever its tasks hold, the audit ends with a report: refused bodies named, the rest compared", async () => {
    // As deep as a JSON answer can come (Label Studio's Python json, like V8's, stops near a few thousand levels).
    let deep: unknown = "leaf";
    for (let i = 0; i < 3000; i++) deep = [deep];
    const good = project([2]);
    const base = good[0] as LabelStudioTask;
    const hostile = [
      { ...base, id: 9001, annotations: null },
      { ...base, id: 9002, annotations: ["x", null, 7] },
      { ...base, id: 9003, annotations: [{ ...base.annotations[0], id: 9903, result: deep }] },
      {
        ...base,
        id: 9004,
        annotations: [
          {
            ...base.annotations[0],
            id: 9904,
            result: [{ type: "choices", value: { choices: ["x".repeat(1_100_000)] } }],
          },
        ],
      },
      {
        ...base,
        id: 9005,
        data: { clarifai_input_id: ".." },
        annotations: [{ ...base.annotations[0], id: 9905 }],
      },
      { id: "not-a-number", annotations: [] },
    ] as unknown as LabelStudioTask[];
    world.apis.labelStudio.set(12, [...good, ...hostile]);
    await deliver(world, bodiesOf(good));
    const result = await audit(world);
    expect(result.report.totals).toMatchObject({ inTool: 2, inClarifai: 2, missing: 0, stale: 0, extra: 0 });
    // Too deep to serialise, too large to queue, an input id the bridge refuses: each named with why.
    expect(result.report.refused.map((r) => [r.origin, r.errorCode])).toEqual([
      ["label-studio task 9004", "not-queueable"],
      ["label-studio task 9003 annotation 9903", "invalid-upstream"],
      ["label-studio task 9005 annotation 9905", "invalid-event"],
    ]);
    expect(JSON.stringify(result.report.refused)).not.toContain("x".repeat(1000));
  }, 60_000);
});

describe("a Ground Truth output manifest (file:)", () => {
  test("each line as the bridge reads it: the line never sent is missing, --repair sends it", async () => {
    const line = JSON.parse(readFileSync("examples/events/11-ground-truth-boxes.json", "utf8"));
    const lines = [line, { ...line, "source-ref": "s3://acme-gt/street/IMG_0308.jpg" }].map((l) =>
      JSON.stringify(l),
    );
    const dir = await mkdtemp(path.join(tmpdir(), "gt-"));
    const manifest = path.join(dir, "output.manifest");
    await writeFile(manifest, `${lines.join("\n")}\n`);
    await deliver(world, lines.slice(0, 1));
    const fileArgs = (...extra: string[]) =>
      auditArgs(world, ...extra).map((a) => (a === "label-studio:12" ? `file:${manifest}` : a));
    const run = async (...extra: string[]) => {
      const { code, out } = await cli(fileArgs(...extra));
      return { ...(JSON.parse(out.join("\n")) as AuditOutcome), code };
    };
    const found = await run("--repair", "--queue-url", world.env.queueUrl);
    expect(found.report.totals).toMatchObject({ inTool: 4, inClarifai: 2, missing: 2, stale: 0, extra: 0 });
    expect(found.report.labelers.flatMap((l) => l.missing.map((m) => m.inputId))).toEqual([
      "IMG_0308",
      "IMG_0308",
    ]);
    expect(found.repaired?.queued).toBe(1);
    await drain(world.env, world.poller, 60_000);
    expect((await run()).report.totals).toMatchObject({ inTool: 4, inClarifai: 4, missing: 0 });

    // The same manifest where the labeling job wrote it, in S3 (the local S3 beside the local SQS).
    const s3 = new S3Client({
      region: LOCAL_REGION,
      endpoint: world.env.sqsServer.address,
      forcePathStyle: true,
      credentials: LOCAL_AWS_CREDENTIALS,
    });
    await s3.send(new CreateBucketCommand({ Bucket: "gt-output" }));
    await s3.send(
      new PutObjectCommand({
        Bucket: "gt-output",
        Key: "street-boxes/manifests/output/output.manifest",
        Body: lines.join("\n"),
      }),
    );
    s3.destroy();
    process.env.AWS_REGION = LOCAL_REGION;
    const fromS3 = await cli(
      auditArgs(world, "--s3-endpoint", world.env.sqsServer.address).map((a) =>
        a === "label-studio:12" ? "file:s3://gt-output/street-boxes/manifests/output/output.manifest" : a,
      ),
    );
    expect((JSON.parse(fromS3.out.join("\n")) as AuditOutcome).report.totals).toMatchObject({
      inTool: 4,
      inClarifai: 4,
      missing: 0,
    });
  }, 60_000);
});

describe("masks kept in files (file: a Ground Truth segmentation manifest)", () => {
  test("the audit fetches each line's mask as the handler does, so its ids are delivery's: one missing, repaired", async () => {
    // Two segmentation lines on two images, each mask in the local S3; only the first was delivered.
    const s3 = new S3Client({
      region: LOCAL_REGION,
      endpoint: world.env.sqsServer.address,
      forcePathStyle: true,
      credentials: LOCAL_AWS_CREDENTIALS,
    });
    await s3.send(new CreateBucketCommand({ Bucket: "acme-gt-output" }));
    const line = JSON.parse(readFileSync("examples/events/20-ground-truth-segmentation.json", "utf8"));
    const lines = ["0309", "0310"].map((n) => {
      const l = structuredClone(line);
      l["clarifai-input-id"] = `sku-street-${n}`;
      l["source-ref"] = `s3://acme-gt/street/IMG_${n}.jpg`;
      l["street-seg-ref"] = `s3://acme-gt-output/street-seg/mask-${n}.png`;
      return JSON.stringify(l);
    });
    for (const n of ["0309", "0310"])
      await s3.send(
        new PutObjectCommand({
          Bucket: "acme-gt-output",
          Key: `street-seg/mask-${n}.png`,
          Body: readFileSync("examples/s3/acme-gt-output/street-seg/street-seg-0309.png"),
        }),
      );
    s3.destroy();
    await deliver(world, lines.slice(0, 1));
    const dir = await mkdtemp(path.join(tmpdir(), "gt-seg-"));
    const manifest = path.join(dir, "output.manifest");
    await writeFile(manifest, `${lines.join("\n")}\n`);
    process.env.AWS_REGION = LOCAL_REGION;
    const run = async (...extra: string[]) => {
      const { out } = await cli(
        auditArgs(world, "--s3-endpoint", world.env.sqsServer.address, ...extra).map((a) =>
          a === "label-studio:12" ? `file:${manifest}` : a,
        ),
      );
      return JSON.parse(out.join("\n")) as AuditOutcome;
    };
    // Each line is two masks (road, sidewalk: the classes with pixels), ids from the fetched file.
    const found = await run("--repair", "--queue-url", world.env.queueUrl);
    expect(found.report.refused).toEqual([]);
    expect(found.report.totals).toMatchObject({ inTool: 4, inClarifai: 2, missing: 2, stale: 0, extra: 0 });
    expect(found.repaired?.queued).toBe(1);
    await drain(world.env, world.poller, 60_000);
    expect((await run()).report.totals).toMatchObject({ inTool: 4, inClarifai: 4, missing: 0, stale: 0 });
  }, 60_000);
});

describe("a Clarifai that throttles", () => {
  test("work waits as Clarifai asks and reads on: the same count, nothing skipped", async () => {
    const tasks = project([5, 5, 5]);
    world.apis.labelStudio.set(12, tasks);
    await deliver(world, bodiesOf(tasks));
    const standIn = standInOf(world.env);
    standIn.faults.retryAfterSeconds = 1;
    standIn.faults.script.push("throttle", "throttle");
    const startedAt = Date.now();
    const { code, out } = await cli([
      "work",
      "--task",
      TASK,
      "--api-base",
      standIn.url,
      "--app",
      `${LOCAL_USER}/${LOCAL_APP}`,
      "--rate",
      "200",
      "--json",
    ]);
    expect(code).toBe(0);
    const rows = JSON.parse(out.join("")).workers as { total: number }[];
    expect(rows.reduce((n, r) => n + r.total, 0)).toBe(15);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(1000); // it waited the Retry-After
    expect(standIn.requests.filter((r) => r.httpStatus === 429)).toHaveLength(2);
  }, 60_000);
});

describe("a CVAT task", () => {
  test("its jobs read as the puller reads them: whole after delivery; a frame deleted by hand found and repaired", async () => {
    cvatTask17(world);
    const bodies = await readCvatJob(world.apis.url, 41, TOKEN, { getJson: createJsonGetter(100, 5000) });
    await sendBodies(world.env, bodies, "cvat");
    await drain(world.env, world.poller, 60_000);
    process.env.CVAT_TOKEN = TOKEN;
    const cvatArgs = (...extra: string[]) =>
      auditArgs(world, ...extra).map((a) => (a === "label-studio:12" ? "cvat:17" : a));
    const run = async (...extra: string[]) => {
      const { code, out } = await cli(cvatArgs(...extra));
      return { ...(JSON.parse(out.join("\n")) as AuditOutcome), code };
    };
    const whole = await run();
    const held = standInOf(world.env).annotations().length;
    expect(held).toBeGreaterThan(0);
    expect(whole.report.totals).toMatchObject({
      inTool: held,
      inClarifai: held,
      missing: 0,
      stale: 0,
      extra: 0,
    });
    expect(whole.code).toBe(0);

    const victim = standInOf(world.env).annotations()[0] as { id: string; input_id: string };
    await deleteByHand(world.env, [victim]);
    const found = await run("--repair", "--queue-url", world.env.queueUrl);
    expect(found.report.labelers.flatMap((l) => l.missing.map((m) => m.id))).toEqual([victim.id]);
    expect(found.repaired?.queued).toBe(1);
    await drain(world.env, world.poller, 60_000);
    expect((await run()).report.totals).toMatchObject({ inClarifai: held, missing: 0, stale: 0, extra: 0 });
  }, 60_000);
});

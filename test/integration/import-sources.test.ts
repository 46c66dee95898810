import { readFileSync } from "node:fs";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { describe, expect, test } from "@jest/globals";
import { createJsonGetter } from "../../lambda/pull/edges.js";
import { readCvatJob } from "../../lambda/pull/run-pull.js";
import { LOCAL_AWS_CREDENTIALS, LOCAL_REGION } from "../../local/environment.js";
import {
  bodiesOf,
  clarifaiArgs,
  cli,
  cvatTask17,
  deliver,
  project,
  TOKEN,
  useAuditWorld,
} from "../support/audit.js";
import { standInOf } from "../support/bridge.js";

/**
 * `clarifai-bridge import` from what is not a file on this machine (issue 34): a Label Studio project and a CVAT
 * task through their APIs (the stand-ins the puller is tested against), a page or a job at a time, and a Ground
 * Truth output manifest streamed from S3. Each imports exactly what live delivery would write: the same ids as
 * the bodies the puller queues, delivered by the handler.
 */
const world = useAuditWorld();

const importArgs = (source: string, ...extra: string[]) => [
  "import",
  "--source",
  source,
  "--direct",
  "--fresh",
  "--mapping",
  world.mappingFile,
  ...clarifaiArgs(world),
  "--rate",
  "200",
  "--json",
  ...extra,
];

const summaryOf = (out: string[]) => JSON.parse(out.at(-1) as string);
const storedIds = () =>
  standInOf(world.env)
    .annotations()
    .map((a) => a.id)
    .sort();

describe("a Label Studio project through its API", () => {
  test("every annotation of every page, as the puller's bodies make them; run again with its checkpoint, it reads and sends nothing", async () => {
    // 250 tasks over three pages of 100, a few annotations each.
    const tasks = project(Array.from({ length: 250 }, (_, i) => 1 + (i % 3)));
    world.apis.labelStudio.set(12, tasks);
    const dir = await mkdtemp(path.join(tmpdir(), "import-ls-"));
    const state = path.join(dir, "ls.state");
    const { code, out } = await cli(
      importArgs("label-studio:12", "--tool-url", world.apis.url, "--state", state),
    );
    expect(code).toBe(0);
    const expected = bodiesOf(tasks).length;
    expect(summaryOf(out)).toMatchObject({ summary: true, read: expected, sent: expected, failed: 0 });
    const first = storedIds();
    expect(first).toHaveLength(expected);
    // The pages were read one after another, the tool's own paging (a 404 past the last).
    const pages = world.apis.requests.filter((r) => r.path.startsWith("/api/tasks"));
    expect(pages.length).toBeGreaterThanOrEqual(3);
    // Finished: run again with the checkpoint, nothing is read or sent.
    expect(JSON.parse(await readFile(state, "utf8")).finished).toBe(true);
    const before = standInOf(world.env).requests.length;
    const read = world.apis.requests.length;
    const again = await cli(importArgs("label-studio:12", "--tool-url", world.apis.url, "--state", state));
    expect(again.code).toBe(0);
    expect(standInOf(world.env).requests.length).toBe(before);
    expect(world.apis.requests.length).toBe(read);
    // The same annotations the handler writes from the bodies the puller queues, delivered through the queue.
    standInOf(world.env).reset();
    await deliver(world, bodiesOf(tasks));
    expect(storedIds()).toEqual(first);
  }, 120_000);

  test("usage: the server and its token are needed, and the token goes to https or this machine only", async () => {
    await expect(cli(importArgs("label-studio:12"))).rejects.toThrow(/--tool-url/);
    await expect(cli(importArgs("label-studio:12", "--tool-url", "http://ls.example.com"))).rejects.toThrow(
      /https:\/\//,
    );
    const token = process.env.LABEL_STUDIO_TOKEN;
    delete process.env.LABEL_STUDIO_TOKEN;
    try {
      await expect(cli(importArgs("label-studio:12", "--tool-url", world.apis.url))).rejects.toThrow(
        /LABEL_STUDIO_TOKEN/,
      );
    } finally {
      process.env.LABEL_STUDIO_TOKEN = token;
    }
  });
});

describe("a CVAT task through its API", () => {
  test("its jobs, a job at a time, as the puller reads them", async () => {
    cvatTask17(world);
    process.env.CVAT_TOKEN = TOKEN;
    const bodies = await readCvatJob(world.apis.url, 41, TOKEN, { getJson: createJsonGetter(100, 5000) });
    const { code, out } = await cli(importArgs("cvat:17", "--tool-url", world.apis.url));
    expect(code).toBe(0);
    expect(summaryOf(out)).toMatchObject({ read: bodies.length, sent: bodies.length, failed: 0 });
    expect(standInOf(world.env).annotations().length).toBeGreaterThan(0);
  }, 60_000);
});

describe("a Ground Truth output manifest in S3", () => {
  test("streamed line by line from the object: every line delivered, a malformed one in the failures file", async () => {
    const line = JSON.parse(readFileSync("examples/events/11-ground-truth-boxes.json", "utf8"));
    const lines = ["0307", "0308", "0309"].map((n) =>
      JSON.stringify({ ...line, "source-ref": `s3://acme-gt/street/IMG_${n}.jpg` }),
    );
    const s3 = new S3Client({
      region: LOCAL_REGION,
      endpoint: world.env.sqsServer.address,
      forcePathStyle: true,
      credentials: LOCAL_AWS_CREDENTIALS,
    });
    await s3.send(new CreateBucketCommand({ Bucket: "gt-import" }));
    await s3.send(
      new PutObjectCommand({
        Bucket: "gt-import",
        Key: "street-boxes/output.manifest",
        Body: `${lines[0]}\n{"source-ref": \n${lines[1]}\n${lines[2]}\n`,
      }),
    );
    s3.destroy();
    process.env.AWS_REGION = LOCAL_REGION;
    const dir = await mkdtemp(path.join(tmpdir(), "import-s3-"));
    const failures = path.join(dir, "failures");
    const { code, out } = await cli(
      importArgs(
        "s3://gt-import/street-boxes/output.manifest",
        "--s3-endpoint",
        world.env.sqsServer.address,
        "--failures",
        failures,
      ),
    );
    expect(code).toBe(1); // one item not delivered
    expect(summaryOf(out)).toMatchObject({ read: 4, sent: 3, failed: 1 });
    const failed = (await readFile(failures, "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(failed).toEqual([
      expect.objectContaining({
        origin: "s3://gt-import/street-boxes/output.manifest:2",
        code: "invalid-json",
      }),
    ]);
    const inputs = new Set(
      standInOf(world.env)
        .annotations()
        .map((a) => a.input_id),
    );
    expect([...inputs].sort()).toEqual(["IMG_0307", "IMG_0308", "IMG_0309"]);
  }, 60_000);
});

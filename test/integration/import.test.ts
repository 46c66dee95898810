// Over 300 lines: one environment (the stand-in, SQS, S3 and a mask host) shared by the import's cases, each a path a user takes.
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { CreateBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, beforeEach, expect, test } from "@jest/globals";
import { main } from "../../bin/cli.js";
import { LOCAL_REGION, type LocalEnvironment, startLocalEnvironment } from "../../local/environment.js";
import { localS3Client } from "../../local/local-s3.js";
import { type MaskFileServer, startMaskFileServer } from "../../local/mask-files.js";
import { resetEnvironment, standInOf } from "../support/bridge.js";
import { makeEvent } from "../support/events.js";
import { labelStudioExportTasks, lsMapping } from "../support/label-studio.js";
import { groundTruthSegmentation, labelboxComposite } from "../support/mask-files.js";
import { queueCounts } from "../support/sqs.js";

/**
 * `clarifai-bridge import` (issue 34): a Label Studio export, a Labelbox NDJSON with masks and a Ground Truth
 * manifest with masks, straight to the Clarifai stand-in through the handler's delivery code, or onto the queue;
 * killed half-way and resumed from its checkpoint; run again; with a malformed line.
 */
// biome-ignore lint/suspicious/noExplicitAny: fixtures are read deep
type Json = Record<string, any>;
const LABELBOX_KEY = "lb-import-key-0123456789";
const BUCKET = "acme-gt-output";
const COMPOSITE = "/api/v1/tasks/clx0tk0000001/masks/clx0cm0000001/index/1";
const GT_KEY = "street-seg/annotations/consolidated-annotation/output/0_2026-11-22T09:12:44.png";
let env: LocalEnvironment;
let files: MaskFileServer;
let dir: string;
let out: string[];
let err: string[];
const io = { out: (s: string) => out.push(s), err: (s: string) => err.push(s) };
const fixture = (name: string): Json => JSON.parse(readFileSync(`test/fixtures/upstream/${name}`, "utf8"));

const mapping = () => ({
  projects: {
    ...lsMapping.projects,
    "labelbox:clx0pr0000street": { taskId: "street-masks", maskOrigins: [files.url] },
    "sagemaker-ground-truth:street-seg": {
      taskId: "street-seg",
      maskOrigins: [`s3://${BUCKET}/street-seg/`],
    },
  },
});

beforeAll(async () => {
  env = await startLocalEnvironment();
  files = await startMaskFileServer();
  dir = await mkdtemp(path.join(tmpdir(), "bridge-import-"));
  writeFileSync(path.join(dir, "mapping.json"), JSON.stringify(mapping()));
  Object.assign(process.env, {
    ...env.handlerEnv,
    LABELBOX_API_KEY: LABELBOX_KEY,
    LABELBOX_API_ORIGIN: files.url,
    POWERTOOLS_METRICS_DISABLED: "true",
  });
});
afterAll(async () => {
  await files.close();
  await env.close();
});
beforeEach(async () => {
  resetEnvironment(env);
  out = [];
  err = [];
  const s3 = localS3Client(env);
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: GT_KEY, Body: groundTruthSegmentation() }));
  s3.destroy();
  files.files.set(COMPOSITE, { bytes: labelboxComposite(), key: LABELBOX_KEY });
});

/** A Label Studio JSON export of `n` tasks of project 12, one annotation each (a box, a polygon, a choice). */
function labelStudioExport(n: number): string {
  const file = path.join(dir, `export-${n}-${Date.now()}.json`);
  writeFileSync(file, JSON.stringify(labelStudioExportTasks(n, "import-in-")));
  return file;
}

const direct = (file: string, ...more: string[]) => [
  "import",
  "--source",
  file,
  "--direct",
  "--mapping",
  path.join(dir, "mapping.json"),
  ...more,
];

const posted = () =>
  standInOf(env)
    .requests.filter((r) => r.method === "POST" && r.httpStatus === 200)
    .reduce((n, r) => n + r.annotations, 0);

test("a Label Studio export, killed half-way and resumed from its checkpoint: every annotation once; a second run sends nothing", async () => {
  // Three batches of 640 items (as the direct path sends them), so the kill comes after a checkpoint.
  const tasks = 1_600;
  const file = labelStudioExport(tasks);
  const state = path.join(dir, "ls.state");
  const failures = path.join(dir, "ls.failures");
  // The first run in a process of its own, killed (SIGKILL: no chance to tidy up) once some batches are stored.
  // The CLI from source (bin/clarifai-bridge.mjs would take a stale dist/ build where one exists).
  const run = `const { runCli } = await import("./bin/cli.ts"); process.exit(await runCli(process.argv.slice(1)));`;
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "--input-type=module", "-e", run, ...direct(file, "--state", state, "--rate", "6")],
    { env: { ...process.env, NODE_OPTIONS: "" }, stdio: ["ignore", "ignore", "pipe"] },
  );
  let childErr = "";
  child.stderr?.on("data", (c) => {
    childErr += c;
  });
  const closed = new Promise((r) => child.on("close", r));
  const perItem = 3; // the box, the polygon and the choice
  const deadline = Date.now() + 60_000;
  while (standInOf(env).annotations().length < 700 * perItem && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 50));
  child.kill("SIGKILL");
  await closed;
  const atKill = standInOf(env).annotations().length;
  expect({ atKill: atKill > 0, childErr: atKill > 0 ? "" : childErr.slice(-1500) }).toEqual({
    atKill: true,
    childErr: "",
  });
  expect(atKill).toBeLessThan(tasks * perItem);
  const checkpoint = JSON.parse(await readFile(state, "utf8"));
  expect(checkpoint.finished).toBe(false);

  expect(await main(direct(file, "--state", state, "--failures", failures, "--json"), io)).toBe(0);
  const stored = standInOf(env).annotations();
  expect(stored).toHaveLength(tasks * perItem);
  expect(new Set(stored.map((a) => a.id)).size).toBe(tasks * perItem);
  // Nothing posted twice: the batch cut by the kill is read again, and what it wrote is found at its version.
  expect(posted()).toBe(tasks * perItem);
  expect(standInOf(env).requests.filter((r) => r.method === "PATCH")).toEqual([]);
  // Progress lines for machines, with an ETA from how far through the file the reading is.
  const progress = out.slice(0, -1).map((l) => JSON.parse(l));
  expect(progress.some((p) => p.done === false && typeof p.etaSeconds === "number")).toBe(true);
  const summary = JSON.parse(out.at(-1) as string);
  expect(summary).toMatchObject({
    summary: true,
    read: tasks,
    sent: tasks,
    annotations: tasks * perItem,
    failed: 0,
  });

  // Finished: the next run with the checkpoint sends nothing at all.
  const before = standInOf(env).requests.length;
  out = [];
  expect(await main(direct(file, "--state", state, "--json"), io)).toBe(0);
  expect(standInOf(env).requests.length).toBe(before);
}, 120_000);

test("a Labelbox NDJSON and a Ground Truth manifest with masks in files; a malformed line goes to the failures file and the rest goes on", async () => {
  const row = fixture("labelbox-v2-masks.json");
  for (const o of row.projects.clx0pr0000street.labels[0].annotations.objects) {
    o.composite_mask.url = `${files.url}${COMPOSITE}`;
    o.mask.url = `${files.url}/api/v1/never-read`;
  }
  const ndjson = path.join(dir, "labelbox.ndjson");
  writeFileSync(ndjson, `${JSON.stringify(row)}\n{"this is": not json\n\n`);
  const line = fixture("ground-truth-segmentation.json");
  line["street-seg-ref"] = `s3://${BUCKET}/${GT_KEY}`;
  const manifest = path.join(dir, "output.manifest");
  writeFileSync(manifest, `${JSON.stringify(line)}\n`);
  const failures = path.join(dir, "masks.failures");

  expect(await main(direct(ndjson, "--failures", failures), io)).toBe(1);
  expect(await main(direct(manifest, "--failures", failures), io)).toBe(0);
  const masks = standInOf(env)
    .annotations()
    .filter((a) => JSON.stringify(a.annotation).includes('"mask"'));
  expect(masks.filter((a) => a.input_id === "sku-street-0412").length).toBeGreaterThan(0);
  expect(masks.filter((a) => a.input_id !== "sku-street-0412").length).toBeGreaterThan(0);
  const failed = (await readFile(failures, "utf8"))
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  expect(failed).toEqual([
    expect.objectContaining({ origin: `${ndjson}:2`, item: 1, code: expect.stringMatching(/^[a-z-]+$/) }),
  ]);
  expect(out.join("\n")).toMatch(/imported 1 of 2 items .* 1 not delivered/);
}, 60_000);

test("--fresh posts without lookups (about one request per 128 annotations); run again, it writes nothing twice", async () => {
  const file = labelStudioExport(300);
  expect(await main(direct(file, "--fresh"), io)).toBe(0);
  const requests = standInOf(env).requests;
  expect(requests.filter((r) => r.method === "GET" && r.path.includes("/annotations"))).toEqual([]);
  expect(requests.filter((r) => r.method === "POST").length).toBe(Math.ceil(900 / 128));
  expect(standInOf(env).annotations()).toHaveLength(900);
  // Without a checkpoint a second run sends again: each POST meets ids that exist, which are looked up and left.
  expect(await main(direct(file, "--fresh"), io)).toBe(0);
  expect(standInOf(env).annotations()).toHaveLength(900);
  expect(standInOf(env).requests.filter((r) => r.method === "PATCH")).toEqual([]);
});

test("a JSON array that is not Label Studio's export: each element one body (here canonical events)", async () => {
  const events = Array.from({ length: 12 }, (_, i) =>
    makeEvent({ eventId: `import-array-${i}`, taskId: "street-audit", inputId: `array-in-${i}` }),
  );
  const file = path.join(dir, "events.json");
  writeFileSync(file, JSON.stringify(events));
  expect(await main(direct(file, "--fresh"), io)).toBe(0);
  expect(
    new Set(
      standInOf(env)
        .annotations()
        .map((a) => a.input_id),
    ).size,
  ).toBe(12);
  expect(out.join("\n")).toMatch(/imported 12 of 12 items/);
});

test("onto the queue: one message per item, ten to a request", async () => {
  const file = labelStudioExport(25);
  expect(
    await main(
      [
        "import",
        "--source",
        file,
        "--queue-url",
        env.queueUrl,
        "--mapping",
        path.join(dir, "mapping.json"),
        "--endpoint",
        env.sqsServer.address,
        "--region",
        LOCAL_REGION,
      ],
      io,
    ),
  ).toBe(0);
  expect(queueCounts(env).ready).toBe(25);
  expect(standInOf(env).requests).toEqual([]);
});

test("usage: a source is needed, and exactly one path", async () => {
  await expect(main(["import", "--direct"], io)).rejects.toThrow(/import needs --source SOURCE/);
  await expect(main(["import", "--source", "x.json"], io)).rejects.toThrow(
    /one of --queue-url URL and --direct/,
  );
  await expect(main(["import", "--source", "missing.json", "--direct"], io)).rejects.toThrow(
    /--source missing.json cannot be read: ENOENT/,
  );
  await expect(main(["import", "--source", "x", "--direct", "--repair"], io)).rejects.toThrow(
    /--repair is not an option of import/,
  );
  await expect(main(["import", "--source", "x", "--queue-url", "http://q", "--fresh"], io)).rejects.toThrow(
    /--fresh goes with --direct/,
  );
});

test("through the package's bin (in a worker thread of bounded memory): all it prints arrives, in order, and its exit code is the process's", async () => {
  // The bin runs a dist/ build where one exists; a checkout's tests run the source.
  const { existsSync } = await import("node:fs");
  if (existsSync("dist/bin/cli.js")) return;
  const file = labelStudioExport(30);
  const failures = path.join(dir, "bin.failures");
  const runBin = (args: string[]) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ["bin/clarifai-bridge.mjs", ...args], {
        env: { ...process.env, NODE_OPTIONS: "" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout?.on("data", (c) => {
        stdout += c;
      });
      child.stderr?.on("data", (c) => {
        stderr += c;
      });
      child.on("close", (code) => resolve({ code, stdout, stderr }));
    });
  const done = await runBin(direct(file, "--json", "--failures", failures));
  expect({ code: done.code, stderr: done.code === 0 ? "" : done.stderr.slice(-800) }).toEqual({
    code: 0,
    stderr: "",
  });
  const lines = done.stdout.trim().split("\n");
  expect(JSON.parse(lines.at(-1) as string)).toMatchObject({
    summary: true,
    read: 30,
    annotations: 90,
    failed: 0,
  });
  expect(standInOf(env).annotations()).toHaveLength(90);
  const usage = await runBin(["import", "--source", file, "--direct", "--bogus"]);
  expect(usage.code).toBe(2);
  expect(usage.stderr).toContain("--bogus");
  const help = await runBin(["import", "--help"]);
  expect(help.code).toBe(0);
  expect(help.stdout).toContain("--state");
}, 120_000);

test("a batch is cut at the sink's bytes as well as its count: a file of large items is not read 640 at a time", async () => {
  const { runImport } = await import("../../bin/cli/import.js");
  const file = path.join(dir, "large-items.ndjson");
  const bodies = Array.from({ length: 20 }, () =>
    JSON.stringify(makeEvent({ metadata: { note: "x".repeat(400) } })),
  );
  writeFileSync(file, `${bodies.join("\n")}\n`);
  const batches: number[] = [];
  const state = await runImport({
    source: file,
    kind: "lines",
    mapping: { projects: {} },
    attributes: {},
    sink: {
      batchSize: 640,
      batchBytes: 1_000,
      send: async (items) => {
        batches.push(items.length);
        return [];
      },
      close: async () => undefined,
    },
  });
  expect(state.counts.sent).toBe(20);
  // Each body is over 400 characters: a batch holds at most three before it passes 1,000.
  expect(Math.max(...batches)).toBeLessThanOrEqual(3);
  expect(batches.reduce((n, b) => n + b, 0)).toBe(20);
});

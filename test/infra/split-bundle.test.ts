import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, test } from "@jest/globals";
import { App } from "aws-cdk-lib";
import { BridgeStack } from "../../lib/bridge-stack.js";
import { PROJECT_ROOT } from "../../lib/bundling.js";
import { type LocalEnvironment, startLocalEnvironment } from "../../local/environment.js";
import { makeEvent } from "../support/events.js";
import { lsCreated, lsMapping } from "../support/label-studio.js";
import { sqsRecord } from "../support/record.js";

/**
 * The deployed asset, not the source: the stack is synthesized (as `cdk synth` does, into a cloud assembly inside
 * the project so the runtime's `@aws-sdk/*` resolve as they do on Lambda), and the handler's asset folder is
 * loaded in a fresh Node process and invoked against the Clarifai stand-in. It must hold `index.mjs` and the
 * chunks split from it; its cold start must load no adapter; a Label Studio record must load Label Studio's chunk
 * (and only it) and be delivered.
 */
const OUT = path.join(PROJECT_ROOT, "cdk.out", `split-test-${process.pid}`);
let env: LocalEnvironment;
let handlerAsset: string;

beforeAll(async () => {
  const app = new App({ outdir: OUT });
  new BridgeStack(app, "Split", {
    clarifaiSecret: "clarifai-annotation-bridge/clarifai-pat",
    bridge: { clarifaiUserId: "acme", clarifaiAppId: "street", webhook: true },
  });
  const dir = app.synth().directory;
  // The handler's asset: the one whose entry publishes the handler's own metric names.
  handlerAsset = readdirSync(dir)
    .filter((d) => d.startsWith("asset.") && existsSync(path.join(dir, d, "index.mjs")))
    .map((d) => path.join(dir, d))
    .find((d) => readFileSync(path.join(d, "index.mjs"), "utf8").includes("AnnotationsDelivered")) as string;
  env = await startLocalEnvironment();
}, 120_000);

afterAll(async () => {
  await env?.close();
  rmSync(OUT, { recursive: true, force: true });
});

test("the synthesized handler asset is split: index.mjs and a chunk per upstream format", () => {
  expect(handlerAsset).toBeDefined();
  const chunks = readdirSync(path.join(handlerAsset, "chunks")).filter((f) => f.endsWith(".mjs"));
  expect(chunks.length).toBeGreaterThanOrEqual(5);
  const entry = statSync(path.join(handlerAsset, "index.mjs")).size;
  const all = entry + chunks.reduce((n, c) => n + statSync(path.join(handlerAsset, "chunks", c)).size, 0);
  console.log(`handler asset: index.mjs ${entry} bytes, ${chunks.length} chunks, ${all} bytes in all`);
  for (const format of ["label-studio", "labelbox", "cvat", "scale", "ground-truth"])
    expect(chunks.some((c) => c.startsWith(`${format}-`))).toBe(true);
});

test("loaded from cdk.out and invoked: no adapter at cold start; a Label Studio record loads its chunk and is delivered", async () => {
  const records = [
    sqsRecord(JSON.stringify(makeEvent({ eventId: "split-canonical", inputId: "split-in-1" })), 0),
    sqsRecord(lsCreated(7001), 1),
  ];
  // A fresh process, as Lambda's: import the asset's index.mjs, note every module file it loads, invoke twice.
  const script = `
    import { registerHooks } from "node:module";
    const loaded = [];
    registerHooks({ load(url, context, next) { if (url.includes(${JSON.stringify(handlerAsset)})) loaded.push(url.split("/").pop()); return next(url, context); } });
    const { handler } = await import(${JSON.stringify(path.join(handlerAsset, "index.mjs"))});
    const context = { awsRequestId: "r", functionName: "f", getRemainingTimeInMillis: () => 60000 };
    const atStart = [...loaded];
    const first = await handler({ Records: [${JSON.stringify(records[0])}] }, context);
    const afterCanonical = [...loaded];
    const second = await handler({ Records: [${JSON.stringify(records[1])}] }, context);
    console.log(JSON.stringify({ atStart, afterCanonical, loaded, first, second }));
  `;
  const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], {
    cwd: handlerAsset,
    env: {
      ...process.env,
      ...env.handlerEnv,
      BRIDGE_MAPPING: JSON.stringify(lsMapping),
      POWERTOOLS_LOG_LEVEL: "SILENT",
      POWERTOOLS_METRICS_DISABLED: "true",
      NODE_OPTIONS: "",
    },
    timeout: 60_000,
  });
  const run = JSON.parse(stdout.trim().split("\n").pop() as string);
  expect(run.first).toEqual({ batchItemFailures: [] });
  expect(run.second).toEqual({ batchItemFailures: [] });
  expect(run.atStart).toContain("index.mjs");
  // What the cold start read: the entry and the shared chunks it imports statically.
  const size = (f: string) =>
    statSync(f === "index.mjs" ? path.join(handlerAsset, f) : path.join(handlerAsset, "chunks", f)).size;
  const coldStart = (run.atStart as string[]).reduce((n, f) => n + size(f), 0);
  console.log(`cold start (canonical only) loads ${run.atStart.length} files, ${coldStart} bytes`);
  // A bound against growth, not the target (bench/RESULTS.md has the figures): 160,434 bytes with masks kept in
  // files (155,652 before them, 143,294 before the generated validators; zod still loads for the configuration).
  expect(coldStart).toBeLessThan(170_000);
  const adapterChunks = (files: string[]) =>
    files.filter((f) => /label-studio|labelbox|cvat|scale|ground-truth|mask-png/.test(f));
  expect(adapterChunks(run.atStart)).toEqual([]);
  expect(adapterChunks(run.afterCanonical)).toEqual([]);
  expect(adapterChunks(run.loaded)).toEqual([expect.stringMatching(/^label-studio-.*\.mjs$/)]);
  const stored = env.standIn?.annotations() ?? [];
  expect(stored.some((a) => a.input_id === "split-in-1")).toBe(true);
  expect(stored.some((a) => a.input_id === "sku-street-0307")).toBe(true);
}, 120_000);

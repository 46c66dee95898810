import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect, test } from "@jest/globals";

/**
 * `cdk synth` with bad context, as the CDK CLI runs the app (bin/app.ts, context in CDK_CONTEXT_JSON): one line per
 * problem, no stack trace, exit 1, before anything is bundled.
 */
function synth(context: Record<string, unknown>) {
  const result = spawnSync(process.execPath, ["--import", "tsx", "bin/app.ts"], {
    encoding: "utf8",
    env: {
      PATH: process.env.PATH,
      CDK_CONTEXT_JSON: JSON.stringify(context),
      CDK_OUTDIR: mkdtempSync(path.join(tmpdir(), "synth-")),
    },
    timeout: 60_000,
  });
  return { code: result.status, stderr: result.stderr };
}

test("unknown keys, non-boolean flags and values over Lambda's limits fail synth, one line each, no stack", () => {
  const { code, stderr } = synth({
    clarifaiSecret: "clarifai-annotation-bridge/clarifai-pat",
    webhooks: "true",
    fifo: "yes",
    functionTimeoutSeconds: "1000",
    alarmEmail: "ops",
    "@aws-cdk/core:checkSecretUsage": true,
  });
  expect(code).toBe(1);
  expect(stderr.trim().split("\n")).toEqual([
    "error: context webhooks is not a setting of this app: did you mean webhook?",
    'error: context alarmEmail must be an email address, got "ops"',
    'error: context functionTimeoutSeconds must be a whole number from 1 to 900 (Lambda\'s limit), got "1000"',
    'error: context fifo must be true or false, got "yes" (-c fifo=true)',
  ]);
}, 90_000);

test("a construct-level refusal is one line too", () => {
  const { code, stderr } = synth({
    clarifaiSecret: "s",
    mappingFile: "test/fixtures/upstream/labelbox-v2-row.json",
  });
  expect(code).toBe(1);
  expect(stderr.trim().split("\n")).toHaveLength(1);
  expect(stderr).toMatch(/^error: ClarifaiAnnotationBridge: invalid mapping: /);
}, 90_000);

import { expect, test } from "@jest/globals";
import { type ContextError, contextConfig } from "../../lib/context-config.js";

const from = (values: Record<string, unknown>, files: Record<string, string> = {}) =>
  contextConfig(values, (file) => {
    const text = files[file];
    if (text === undefined) throw new Error(`cannot read ${file}: ENOENT`);
    return text;
  });
/** The problems a ContextError lists, one per line. */
const problems = (values: Record<string, unknown>, files?: Record<string, string>) => {
  try {
    from(values, files);
    return [];
  } catch (error) {
    return (error as ContextError).problems;
  }
};

test("cdk.json's defaults are enough: the secret name, and no user/app (app-scoped key)", () => {
  expect(
    from({
      clarifaiSecret: "clarifai-annotation-bridge/clarifai-pat",
      clarifaiUserId: "",
      clarifaiAppId: "",
    }),
  ).toEqual({
    stackName: "ClarifaiAnnotationBridge",
    clarifaiSecret: "clarifai-annotation-bridge/clarifai-pat",
  });
});

test("a missing secret fails naming the key and how to set it", () => {
  expect(() => from({})).toThrow(/context clarifaiSecret is required.*-c clarifaiSecret=/);
});

test("a user without an app (or the reverse) names the missing key", () => {
  expect(() => from({ clarifaiSecret: "s", clarifaiUserId: "acme" })).toThrow(
    /context clarifaiAppId is required.*-c clarifaiAppId=/,
  );
  expect(() => from({ clarifaiSecret: "s", clarifaiAppId: "app" })).toThrow(
    /context clarifaiUserId is required/,
  );
});

test("numbers from -c arrive as strings and are checked", () => {
  expect(from({ clarifaiSecret: "s", batchSize: "64", maxConcurrency: 3, fifo: "true" })).toMatchObject({
    batchSize: 64,
    maxConcurrency: 3,
    fifo: true,
  });
  expect(() => from({ clarifaiSecret: "s", batchSize: "many" })).toThrow(
    /context batchSize must be a whole number from 1 to 10000/,
  );
});

test("an unknown key fails naming the nearest known one; CDK's own keys pass", () => {
  expect(problems({ clarifaiSecret: "s", webhooks: "true" })).toEqual([
    "context webhooks is not a setting of this app: did you mean webhook?",
  ]);
  expect(problems({ clarifaiSecret: "s", AlarmEmail: "a@b.co" })).toEqual([
    "context AlarmEmail is not a setting of this app: did you mean alarmEmail?",
  ]);
  expect(problems({ clarifaiSecret: "s", somethingElse: 1 })).toEqual([
    "context somethingElse is not a setting of this app",
  ]);
  expect(
    problems({
      clarifaiSecret: "s",
      "@aws-cdk/core:checkSecretUsage": true,
      "availability-zones:account=1:region=x": ["a"],
      "aws:cdk:enable-path-metadata": true,
    }),
  ).toEqual([]);
});

test("booleans are true or false only; every problem is listed at once", () => {
  expect(from({ clarifaiSecret: "s", fifo: "false", webhook: true, tracing: "true" })).toMatchObject({
    fifo: false,
    webhook: true,
    tracing: true,
  });
  expect(problems({ clarifaiSecret: "s", fifo: "yes", webhook: 1, functionTimeoutSeconds: "1000" })).toEqual([
    'context functionTimeoutSeconds must be a whole number from 1 to 900 (Lambda\'s limit), got "1000"',
    'context fifo must be true or false, got "yes" (-c fifo=true)',
    "context webhook must be true or false, got 1 (-c webhook=true)",
  ]);
});

test("Lambda's limits, the email, the ids and the removal policy are checked", () => {
  expect(problems({ clarifaiSecret: "s", memorySize: "64" })[0]).toMatch(
    /memorySize must be a whole number from 128 to 10240/,
  );
  expect(problems({ clarifaiSecret: "s", memorySize: "20000" })[0]).toMatch(/memorySize/);
  expect(problems({ clarifaiSecret: "s", alarmEmail: "ops at example" })).toEqual([
    'context alarmEmail must be an email address, got "ops at example"',
  ]);
  expect(problems({ clarifaiSecret: "s", clarifaiUserId: "a b", clarifaiAppId: "x" })[0]).toMatch(
    /clarifaiUserId must be letters/,
  );
  expect(problems({ clarifaiSecret: "s", removalPolicy: "snapshot" })[0]).toMatch(
    /removalPolicy must be destroy or retain/,
  );
  expect(from({ clarifaiSecret: "s", removalPolicy: "retain", memorySize: 512 })).toMatchObject({
    removalPolicy: "retain",
    memorySize: 512,
  });
});

test("mappingFile reads a file; a mapping cut at its first line (as the CDK CLI does to -c values) says what to do", () => {
  const file = JSON.stringify({ projects: { "label-studio:1": { taskId: "t" } } }, null, 2);
  expect(from({ clarifaiSecret: "s", mappingFile: "m.json" }, { "m.json": file })).toMatchObject({
    mapping: { projects: { "label-studio:1": { taskId: "t" } } },
  });
  expect(problems({ clarifaiSecret: "s", mappingFile: "missing.json" })).toEqual([
    "context mappingFile: cannot read missing.json: ENOENT",
  ]);
  expect(problems({ clarifaiSecret: "s", mapping: "{" })[0]).toMatch(
    /context mapping must be JSON.*cuts -c values at the first line break: use -c mappingFile=/,
  );
  expect(problems({ clarifaiSecret: "s", mapping: "{}", mappingFile: "m.json" }, { "m.json": "{}" })).toEqual(
    ["context mapping and mappingFile are both set: keep one"],
  );
});

test("puller (an object, JSON text or pullerFile) is checked with the puller's own schema", () => {
  const puller = { labelStudio: { url: "https://ls.example.com", projects: [12] }, scheduleMinutes: 30 };
  expect(from({ clarifaiSecret: "s", puller })).toMatchObject({ puller });
  expect(from({ clarifaiSecret: "s", puller: JSON.stringify(puller) })).toMatchObject({ puller });
  expect(
    from({ clarifaiSecret: "s", pullerFile: "p.json" }, { "p.json": JSON.stringify(puller) }),
  ).toMatchObject({
    puller,
  });
  expect(problems({ clarifaiSecret: "s", puller: { cvat: { url: "http://cvat.example.com" } } })[0]).toMatch(
    /context puller: .*loopback/,
  );
  expect(problems({ clarifaiSecret: "s", puller: { ...puller, scheduleMinutes: 1 } })).toEqual([
    "context puller.scheduleMinutes must be a whole number of at least 5, got 1",
  ]);
  expect(problems({ clarifaiSecret: "s", puller: {} })).toEqual([
    "context puller must set labelStudio and/or cvat",
  ]);
  expect(problems({ clarifaiSecret: "s", puller: "{" })[0]).toMatch(/context puller must be JSON/);
  // The scheduled audit: true, or its settings; checked like the rest.
  const audited = { ...puller, audit: { scheduleHours: 12, maxPages: 100 } };
  expect(from({ clarifaiSecret: "s", puller: audited })).toMatchObject({ puller: audited });
  expect(from({ clarifaiSecret: "s", puller: { ...puller, audit: true } })).toMatchObject({
    puller: { audit: true },
  });
  expect(problems({ clarifaiSecret: "s", puller: { ...puller, audit: { scheduleHours: 48 } } })).toEqual([
    "context puller.audit.scheduleHours must be a number from 0.25 to 24, got 48",
  ]);
  expect(problems({ clarifaiSecret: "s", puller: { ...puller, audit: { maxPages: 0 } } })[0]).toMatch(
    /context puller: .*audit\.maxPages/,
  );
  expect(problems({ clarifaiSecret: "s", puller: { ...puller, audit: "yes" } })[0]).toMatch(
    /puller\.audit must be true/,
  );
});

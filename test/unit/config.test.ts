import { describe, expect, test } from "@jest/globals";
import { loadConfig } from "../../lambda/config.js";

const base = {
  DEAD_LETTER_QUEUE_URL: "https://sqs.eu-west-1.amazonaws.com/123/dlq",
  CLARIFAI_PAT_SECRET_ARN: "arn:aws:secretsmanager:eu-west-1:123:secret:clarifai",
};

describe("loadConfig", () => {
  test("sensible defaults", () => {
    expect(loadConfig(base)).toMatchObject({
      apiBase: "https://api.clarifai.com",
      defaultApp: null,
      key: { source: "secret", secretId: base.CLARIFAI_PAT_SECRET_ARN },
      taskLink: "both",
      maxAnnotationsPerRequest: 128,
      maxConcurrentRequests: 4,
      requestTimeoutMs: 10_000,
      backoff: { baseSeconds: 10, capSeconds: 900 },
    });
    expect(Object.isFrozen(loadConfig(base))).toBe(true);
  });

  test.each([
    [{ DEAD_LETTER_QUEUE_URL: undefined }, /DEAD_LETTER_QUEUE_URL/],
    [{ CLARIFAI_PAT_SECRET_ARN: undefined }, /CLARIFAI_PAT_SECRET_ARN is required/],
    [{ CLARIFAI_PAT: "x" }, /not both/],
    [{ CLARIFAI_USER_ID: "u" }, /both CLARIFAI_USER_ID and CLARIFAI_APP_ID/],
    [{ MAX_ANNOTATIONS_PER_REQUEST: "129" }, /MAX_ANNOTATIONS_PER_REQUEST/],
    [{ MAX_CONCURRENT_REQUESTS: "zero" }, /MAX_CONCURRENT_REQUESTS/],
    [{ CLARIFAI_TASK_LINK: "nowhere" }, /CLARIFAI_TASK_LINK/],
    [{ CLARIFAI_API_BASE: "ftp://x" }, /CLARIFAI_API_BASE/],
    // The key would cross a network in clear text.
    [
      { CLARIFAI_API_BASE: "http://api.clarifai.com" },
      /CLARIFAI_API_BASE may use http:\/\/ only for a loopback host/,
    ],
    [{ CLARIFAI_API_BASE: "http://10.0.0.7:8080" }, /loopback/],
    [{ CLARIFAI_API_BASE: "http://127.0.0.1.example.com" }, /loopback/],
    [{ BACKOFF_BASE_SECONDS: "100", BACKOFF_CAP_SECONDS: "10" }, /BACKOFF_CAP_SECONDS/],
    // The Labelbox key goes to this origin alone: never in clear text across a network.
    [
      { LABELBOX_API_ORIGIN: "http://api.labelbox.com" },
      /LABELBOX_API_ORIGIN may use http:\/\/ only for a loopback host/,
    ],
    [{ LABELBOX_API_ORIGIN: "not a url" }, /LABELBOX_API_ORIGIN/],
    [{ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: "64" }, /AWS_LAMBDA_FUNCTION_MEMORY_SIZE/],
  ])("%p fails naming the variable", (change, message) => {
    expect(() => loadConfig({ ...base, ...change })).toThrow(message);
  });

  test("plain HTTP is taken for loopback hosts only (a local stand-in)", () => {
    for (const apiBase of [
      "http://127.0.0.1:4000",
      "http://localhost:9",
      "http://[::1]:80",
      "https://api.clarifai.com",
    ])
      expect(loadConfig({ ...base, CLARIFAI_API_BASE: apiBase }).apiBase).toBe(apiBase.replace(/\/+$/, ""));
  });

  test("a personal access token with user and app selects the PAT URL form", () => {
    const config = loadConfig({
      ...base,
      CLARIFAI_PAT_SECRET_ARN: undefined,
      CLARIFAI_PAT: "p",
      CLARIFAI_USER_ID: "u",
      CLARIFAI_APP_ID: "a",
      CLARIFAI_API_BASE: "http://127.0.0.1:9/",
    });
    expect(config).toMatchObject({
      key: { source: "env", value: "p" },
      defaultApp: { userId: "u", appId: "a" },
      apiBase: "http://127.0.0.1:9",
    });
  });
});

test("BRIDGE_MAPPING is read and checked at cold start, naming the bad field", () => {
  const mapping = { projects: { "label-studio:12": { taskId: "street", labels: { Car: "car" } } } };
  expect(loadConfig({ ...base, BRIDGE_MAPPING: JSON.stringify(mapping) }).upstream).toEqual(mapping);
  expect(() => loadConfig({ ...base, BRIDGE_MAPPING: "{" })).toThrow(/BRIDGE_MAPPING is not JSON/);
  expect(() =>
    loadConfig({ ...base, BRIDGE_MAPPING: JSON.stringify({ projects: { "label-studio:12": {} } }) }),
  ).toThrow(/BRIDGE_MAPPING projects\.label-studio:12\.taskId: /);
});

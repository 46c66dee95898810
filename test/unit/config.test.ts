import { describe, expect, test } from "@jest/globals";
import { loadConfig } from "../../lambda/config.js";

const base = {
  DEAD_LETTER_QUEUE_URL: "https://sqs.eu-west-1.amazonaws.com/123/dlq",
  CLARIFAI_PAT_SECRET_ARN: "arn:aws:secretsmanager:eu-west-1:123:secret:clarifai",
};

describe("loadConfig", () => {
  test("sensible defaults", async () => {
    expect(await loadConfig(base)).toMatchObject({
      apiBase: "https://api.clarifai.com",
      defaultApp: null,
      key: { source: "secret", secretId: base.CLARIFAI_PAT_SECRET_ARN },
      taskLink: "both",
      maxAnnotationsPerRequest: 128,
      maxConcurrentRequests: 4,
      requestTimeoutMs: 10_000,
      backoff: { baseSeconds: 10, capSeconds: 900 },
    });
    expect(Object.isFrozen(await loadConfig(base))).toBe(true);
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
  ])("%p fails naming the variable", async (change, message) => {
    await expect(loadConfig({ ...base, ...change })).rejects.toThrow(message);
  });

  test("plain HTTP is taken for loopback hosts only (a local stand-in)", async () => {
    for (const apiBase of [
      "http://127.0.0.1:4000",
      "http://localhost:9",
      "http://[::1]:80",
      "https://api.clarifai.com",
    ])
      expect((await loadConfig({ ...base, CLARIFAI_API_BASE: apiBase })).apiBase).toBe(
        apiBase.replace(/\/+$/, ""),
      );
  });

  test("a personal access token with user and app selects the PAT URL form", async () => {
    const config = await loadConfig({
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

test("BRIDGE_MAPPING is read and checked at cold start, naming the bad field", async () => {
  const mapping = { projects: { "label-studio:12": { taskId: "street", labels: { Car: "car" } } } };
  expect((await loadConfig({ ...base, BRIDGE_MAPPING: JSON.stringify(mapping) })).upstream).toEqual(mapping);
  await expect(loadConfig({ ...base, BRIDGE_MAPPING: "{" })).rejects.toThrow(/BRIDGE_MAPPING is not JSON/);
  await expect(
    loadConfig({ ...base, BRIDGE_MAPPING: JSON.stringify({ projects: { "label-studio:12": {} } }) }),
  ).rejects.toThrow(/BRIDGE_MAPPING projects\.label-studio:12\.taskId: /);
});

describe("the environment table (lambda/env-settings.ts)", () => {
  test("numbers read as Number() reads them; unset takes the default, optional ones stay unset", async () => {
    const config = await loadConfig({
      ...base,
      MAX_CONCURRENT_REQUESTS: " 12 ",
      CLARIFAI_REQUESTS_PER_SECOND: "7.5",
    });
    expect(config.maxConcurrentRequests).toBe(12);
    expect(config.requestsPerSecond).toBe(7.5);
    expect(config.maxReceiveCount).toBeUndefined();
    expect((await loadConfig({ ...base, MAX_RECEIVE_COUNT: "10" })).maxReceiveCount).toBe(10);
  });

  test.each([
    [{ MAX_CONCURRENT_REQUESTS: "" }, "MAX_CONCURRENT_REQUESTS: must be from 1 to 64"],
    [{ MAX_CONCURRENT_REQUESTS: "2.5" }, "MAX_CONCURRENT_REQUESTS: must be a whole number from 1 to 64"],
    [
      { CLARIFAI_REQUESTS_PER_SECOND: "fast" },
      "CLARIFAI_REQUESTS_PER_SECOND: must be a number from 0 to 10000",
    ],
    [{ CLARIFAI_USER_ID: "acme/../x", CLARIFAI_APP_ID: "a" }, "CLARIFAI_USER_ID: must be letters, digits"],
    [{ CLARIFAI_TASK_LOOKUP: "yes" }, "CLARIFAI_TASK_LOOKUP: must be one of on, off"],
    [{ DEAD_LETTER_QUEUE_URL: "queue-7" }, "DEAD_LETTER_QUEUE_URL: must be a URL"],
    [
      { CLARIFAI_API_BASE: "ftp://files.example.com" },
      "CLARIFAI_API_BASE: must be an http:// or https:// URL",
    ],
  ])("%p is refused by name and rule, never quoting the value", async (change, words) => {
    const error = await loadConfig({ ...base, ...change }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain(words);
    for (const value of Object.values(change))
      if (value.length > 2) expect((error as Error).message).not.toContain(value);
  });

  test("every problem at once, in one error", async () => {
    await expect(
      loadConfig({ ...base, DEAD_LETTER_QUEUE_URL: undefined, MAX_ANNOTATIONS_PER_REQUEST: "0" }),
    ).rejects.toThrow(
      /DEAD_LETTER_QUEUE_URL: is required; MAX_ANNOTATIONS_PER_REQUEST: must be from 1 to 128/,
    );
  });
});

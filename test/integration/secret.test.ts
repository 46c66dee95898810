import { afterAll, beforeAll, beforeEach, expect, test } from "@jest/globals";
import { LOCAL_USER, type LocalEnvironment, startLocalEnvironment } from "../../local/environment.js";
import type { InvokeInfo, Poller } from "../../local/poller.js";
import { loadBridge } from "../support/bridge.js";
import { makeEvent } from "../support/events.js";
import { captureStdout } from "../support/logs.js";
import { type LocalSecretsManager, startSecretsManager } from "../support/secrets-manager.js";
import { deadLetters, drain, sendBodies } from "../support/sqs.js";

/**
 * The deployed path: the key comes from Secrets Manager (through Powertools Parameters and the real AWS SDK,
 * pointed at a minimal local GetSecretValue endpoint), never from a plain environment variable.
 */
const SECRET_ARN = "arn:aws:secretsmanager:us-east-1:000000000000:secret:clarifai-pat-AbCdEf";
const PAT = "pat-from-secrets-manager-7c1d";
const ROTATED_PAT = "pat-rotated-9e2b";

let env: LocalEnvironment;
let secrets: LocalSecretsManager;
let poller: Poller;
const invocations: InvokeInfo[] = [];
let stdout: ReturnType<typeof captureStdout>;

beforeAll(async () => {
  secrets = await startSecretsManager(SECRET_ARN, PAT);
  env = await startLocalEnvironment({
    visibilityTimeoutSeconds: 2,
    standIn: { personalAccessTokens: { [PAT]: LOCAL_USER, [ROTATED_PAT]: LOCAL_USER } },
  });
  stdout = captureStdout();
  ({ poller } = await loadBridge(
    env,
    {
      ...env.handlerEnv,
      CLARIFAI_PAT: undefined, // the deployed path: the key only from Secrets Manager
      CLARIFAI_PAT_SECRET_ARN: SECRET_ARN,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url,
      CLARIFAI_SECRET_CACHE_SECONDS: "0",
    },
    invocations,
  ));
});

afterAll(async () => {
  stdout.restore();
  await env.close();
  await secrets.close();
});

beforeEach(() => {
  invocations.length = 0;
  secrets.value = PAT;
});

test("the key read from Secrets Manager authenticates to Clarifai, and appears in no log line", async () => {
  await sendBodies(env, [JSON.stringify(makeEvent()), JSON.stringify(makeEvent())]);
  await drain(env, poller);
  expect(env.standIn?.annotations()).toHaveLength(2);
  expect(secrets.calls()).toBeGreaterThanOrEqual(1);
  const lines = stdout.lines();
  expect(lines.length).toBeGreaterThan(0);
  for (const line of lines) expect(line).not.toContain(PAT);
});

test("when the secret cannot be read, the whole batch is retried and nothing is lost or dead-lettered", async () => {
  secrets.value = undefined;
  await sendBodies(env, [JSON.stringify(makeEvent())]);
  await poller.pollOnce(1);
  expect(invocations[0]).toMatchObject({ records: 1, failed: 1, deleted: 0 });
  expect(deadLetters(env)).toHaveLength(0);
  expect(stdout.lines().some((l) => l.includes("batch failed as a whole"))).toBe(true);

  secrets.value = PAT; // the operator fixes the secret: the message goes through on a later receive
  await drain(env, poller);
  expect(env.standIn?.annotations()).toHaveLength(3);
  for (const line of stdout.lines()) expect(line).not.toContain(PAT);
});

test("a key stored with a trailing newline, or as JSON under CLARIFAI_PAT, is read as the key", async () => {
  const before = env.standIn?.annotations().length ?? 0;
  secrets.value = `${PAT}\n`;
  await sendBodies(env, [JSON.stringify(makeEvent())]);
  await drain(env, poller);
  secrets.value = JSON.stringify({ CLARIFAI_PAT: PAT });
  await sendBodies(env, [JSON.stringify(makeEvent())]);
  await drain(env, poller);
  expect(env.standIn?.annotations()).toHaveLength(before + 2);
  expect(deadLetters(env)).toHaveLength(0);
});

test("a key with a line break inside is refused before any request: retried, alarmed, and quoted nowhere", async () => {
  const broken = "pat-broken-SECRET-part-one\npat-broken-SECRET-part-two";
  secrets.value = broken;
  const requestsBefore = env.standIn?.requests.length ?? 0;
  const linesBefore = stdout.lines().length;
  await sendBodies(env, [JSON.stringify(makeEvent())]);
  await poller.pollOnce(1);
  expect(invocations[0]).toMatchObject({ records: 1, failed: 1, deleted: 0 });
  expect(env.standIn?.requests.length).toBe(requestsBefore); // refused before it could reach Clarifai
  expect(deadLetters(env)).toHaveLength(0);
  const lines = stdout.lines().slice(linesBefore);
  const failure = lines.find((l) => l.includes("batch failed as a whole"));
  expect(failure).toContain("CLARIFAI_PAT_SECRET_ARN");
  expect(failure).toContain("printable ASCII");
  // The metric behind the construct's BatchFailedAsWhole alarm, published as EMF.
  expect(lines.some((l) => l.includes('"BatchFailedAsWhole"'))).toBe(true);
  for (const line of lines) {
    expect(line).not.toContain("pat-broken-SECRET-part-one");
    expect(line).not.toContain("pat-broken-SECRET-part-two");
  }

  secrets.value = PAT; // fixed: the record goes through on a later receive
  await drain(env, poller);
  expect(deadLetters(env)).toHaveLength(0);
});

test("a secret that starts with { but is not JSON is refused without quoting it; fixing it lets the record through", async () => {
  secrets.value = '{"CLARIFAI_PAT": "pat-unterminated-SECRET-4f1a';
  const linesBefore = stdout.lines().length;
  await sendBodies(env, [JSON.stringify(makeEvent())]);
  await poller.pollOnce(1);
  expect(invocations[0]).toMatchObject({ records: 1, failed: 1, deleted: 0 });
  const lines = stdout.lines().slice(linesBefore);
  const failure = lines.find((l) => l.includes("batch failed as a whole"));
  expect(failure).toContain("CLARIFAI_PAT_SECRET_ARN");
  expect(failure).toContain("not valid JSON");
  for (const line of lines) {
    expect(line).not.toContain("pat-unterminated");
    expect(line).not.toContain("SECRET-4f1a");
  }
  secrets.value = JSON.stringify({ pat: PAT });
  await drain(env, poller);
  expect(deadLetters(env)).toHaveLength(0);
});

test("warm invocations share one connection to Clarifai; a rotated key gets a new one and the old one is closed", async () => {
  const standIn = env.standIn as NonNullable<typeof env.standIn>;
  // Invocations in quick succession, as on a busy instance (a pool idle for over 4 s is closed on purpose).
  let warm = standIn.connections();
  for (let i = 0; i < 5; i++) {
    await sendBodies(env, [JSON.stringify(makeEvent())]);
    await poller.pollOnce(1);
    if (i === 0) warm = standIn.connections();
  }
  expect(invocations.slice(-5).map((i) => i.deleted)).toEqual([1, 1, 1, 1, 1]);
  // A client per invocation opened a connection per batch and left each one idle, open.
  expect(standIn.connections()).toEqual(warm);

  secrets.value = ROTATED_PAT;
  await sendBodies(env, [JSON.stringify(makeEvent())]);
  await drain(env, poller);
  expect(standIn.connections().accepted).toBe(warm.accepted + 1);
  const deadline = Date.now() + 5_000;
  while (standIn.connections().open > warm.open && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 20));
  expect(standIn.connections().open).toBe(warm.open);
  expect(deadLetters(env)).toHaveLength(0);
});

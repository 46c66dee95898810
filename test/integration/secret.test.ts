import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, expect, test } from "@jest/globals";
import { LOCAL_USER, type LocalEnvironment, startLocalEnvironment } from "../../local/environment.js";
import type { InvokeInfo, Poller } from "../../local/poller.js";
import { loadBridge } from "../support/bridge.js";
import { makeEvent } from "../support/events.js";
import { captureStdout } from "../support/logs.js";
import { deadLetters, drain, sendBodies } from "../support/sqs.js";

/**
 * The deployed path: the key comes from Secrets Manager (through @middy/secrets-manager and the real AWS SDK,
 * pointed at a minimal local GetSecretValue endpoint), never from a plain environment variable.
 */
const SECRET_ARN = "arn:aws:secretsmanager:us-east-1:000000000000:secret:clarifai-pat-AbCdEf";
const PAT = "pat-from-secrets-manager-7c1d";

let env: LocalEnvironment;
let secrets: Server;
let secretsAvailable = true;
let secretCalls = 0;
/** What the secret holds: the key as plain text unless a test stores it in another form. */
let secretValue = "";
let poller: Poller;
const invocations: InvokeInfo[] = [];
let stdout: ReturnType<typeof captureStdout>;

beforeAll(async () => {
  secrets = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      secretCalls += 1;
      const target = req.headers["x-amz-target"];
      const { SecretId } = JSON.parse(body || "{}") as { SecretId?: string };
      if (!secretsAvailable || target !== "secretsmanager.GetSecretValue" || SecretId !== SECRET_ARN) {
        res.writeHead(400, { "Content-Type": "application/x-amz-json-1.1" });
        res.end(
          JSON.stringify({
            __type: "ResourceNotFoundException",
            message: "Secrets Manager can't find the specified secret.",
          }),
        );
        return;
      }
      res.writeHead(200, { "Content-Type": "application/x-amz-json-1.1" });
      res.end(
        JSON.stringify({
          ARN: SECRET_ARN,
          Name: "clarifai-pat",
          SecretString: secretValue || PAT,
          VersionId: "v1",
        }),
      );
    });
  });
  await new Promise<void>((r) => secrets.listen(0, "127.0.0.1", r));
  env = await startLocalEnvironment({
    visibilityTimeoutSeconds: 2,
    standIn: { personalAccessTokens: { [PAT]: LOCAL_USER } },
  });
  stdout = captureStdout();
  ({ poller } = await loadBridge(
    env,
    {
      ...env.handlerEnv,
      CLARIFAI_PAT: undefined, // the deployed path: the key only from Secrets Manager
      CLARIFAI_PAT_SECRET_ARN: SECRET_ARN,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: `http://127.0.0.1:${(secrets.address() as AddressInfo).port}`,
      CLARIFAI_SECRET_CACHE_SECONDS: "0",
    },
    invocations,
  ));
});

afterAll(async () => {
  stdout.restore();
  await env.close();
  await new Promise((r) => secrets.close(r));
});

beforeEach(() => {
  invocations.length = 0;
  secretsAvailable = true;
  secretValue = "";
});

test("the key read from Secrets Manager authenticates to Clarifai, and appears in no log line", async () => {
  await sendBodies(env, [JSON.stringify(makeEvent()), JSON.stringify(makeEvent())]);
  await drain(env, poller);
  expect(env.standIn?.annotations()).toHaveLength(2);
  expect(secretCalls).toBeGreaterThanOrEqual(1);
  const lines = stdout.lines();
  expect(lines.length).toBeGreaterThan(0);
  for (const line of lines) expect(line).not.toContain(PAT);
});

test("when the secret cannot be read, the whole batch is retried and nothing is lost or dead-lettered", async () => {
  secretsAvailable = false;
  await sendBodies(env, [JSON.stringify(makeEvent())]);
  await poller.pollOnce(1);
  expect(invocations[0]).toMatchObject({ records: 1, failed: 1, deleted: 0 });
  expect(deadLetters(env)).toHaveLength(0);
  expect(stdout.lines().some((l) => l.includes("batch failed as a whole"))).toBe(true);

  secretsAvailable = true; // the operator fixes the secret: the message goes through on a later receive
  await drain(env, poller);
  expect(env.standIn?.annotations()).toHaveLength(3);
  for (const line of stdout.lines()) expect(line).not.toContain(PAT);
});

test("a key stored with a trailing newline, or as JSON under CLARIFAI_PAT, is read as the key", async () => {
  const before = env.standIn?.annotations().length ?? 0;
  secretValue = `${PAT}\n`;
  await sendBodies(env, [JSON.stringify(makeEvent())]);
  await drain(env, poller);
  secretValue = JSON.stringify({ CLARIFAI_PAT: PAT });
  await sendBodies(env, [JSON.stringify(makeEvent())]);
  await drain(env, poller);
  expect(env.standIn?.annotations()).toHaveLength(before + 2);
  expect(deadLetters(env)).toHaveLength(0);
});

test("a key with a line break inside is refused before any request: retried, alarmed, and quoted nowhere", async () => {
  const broken = "pat-broken-SECRET-part-one\npat-broken-SECRET-part-two";
  secretValue = broken;
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

  secretValue = ""; // fixed: the record goes through on a later receive
  await drain(env, poller);
  expect(deadLetters(env)).toHaveLength(0);
});

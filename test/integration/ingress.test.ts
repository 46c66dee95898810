import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { DeleteQueueCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, beforeEach, expect, test } from "@jest/globals";
import { UNAUTHENTICATED } from "../../lambda/webhook/webhook.js";
import { type LocalEnvironment, startLocalEnvironment } from "../../local/environment.js";
import { type FunctionUrlHandler, startFunctionUrl } from "../../local/function-url.js";
import type { InvokeInfo, Poller } from "../../local/poller.js";
import { loadBridge, resetEnvironment } from "../support/bridge.js";
import { LS_INPUT, lsMapping } from "../support/label-studio.js";
import { captureStdout } from "../support/logs.js";
import { type LocalSecretsManager, startSecretsManager } from "../support/secrets-manager.js";
import { deadLetters, drain, queueCounts } from "../support/sqs.js";

/**
 * The webhook ingress over real HTTP (a local function URL), real SQS (fauxqs) and the real bridge behind it:
 * a bad signature is refused and queues nothing; a good one is queued with its format and reaches Clarifai.
 */
const LS_TOKEN = "ls-token-integration-41c7";
const LB_SECRET = "lb-secret-integration-0d2e";
const lbProject = "labelbox:clx0pr0000street";
const SCALE_KEY = "live_scale_callback_4f1a9c2e";
const CVAT_SECRET = "cvat-webhook-secret-integration-77b1";
const PULL_QUEUE = "bridge-pull";

const SECRET_ARN = "arn:aws:secretsmanager:us-east-1:000000000000:secret:webhook-AbCdEf";

let env: LocalEnvironment;
let secrets: LocalSecretsManager;
let poller: Poller;
let ingress: { url: string; close(): Promise<void> };
const invocations: InvokeInfo[] = [];
let stdout: ReturnType<typeof captureStdout>;

beforeAll(async () => {
  secrets = await startSecretsManager(
    SECRET_ARN,
    JSON.stringify({ labelStudio: LS_TOKEN, labelbox: LB_SECRET, scale: SCALE_KEY, cvat: CVAT_SECRET }),
  );
  env = await startLocalEnvironment();
  const pullQueue = env.sqsServer.createQueue(PULL_QUEUE);
  stdout = captureStdout();
  const mapping = {
    projects: {
      ...lsMapping.projects,
      [lbProject]: { taskId: "street-audit", labels: { Car: "car" }, imageSize: { width: 960, height: 540 } },
      "scale:street-boxes": { taskId: "street-audit" },
    },
  };
  for (const [k, v] of Object.entries({
    QUEUE_URL: env.queueUrl,
    // The puller's queue, where completed CVAT jobs go.
    PULL_QUEUE_URL: pullQueue.queueUrl,
    // The deployed path: the secret from Secrets Manager, as the README documents it (JSON, one per tool).
    WEBHOOK_SECRET_ARN: SECRET_ARN,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url,
    // Asked to log every event: the ingress must not, since headers hold the secret and the signature.
    POWERTOOLS_LOGGER_LOG_EVENT: "true",
    POWERTOOLS_METRICS_DISABLED: "false",
  }))
    process.env[k] = v;
  ({ poller } = await loadBridge(
    env,
    { ...env.handlerEnv, BRIDGE_MAPPING: JSON.stringify(mapping) },
    invocations,
  ));
  const { handler } = (await import("../../lambda/ingress.js")) as unknown as { handler: FunctionUrlHandler };
  ingress = await startFunctionUrl(handler);
});
afterAll(async () => {
  stdout.restore();
  await ingress.close();
  await env.close();
  await secrets.close();
});
beforeEach(() => resetEnvironment(env));

const post = (path: string, body: Buffer | string, headers: Record<string, string>) =>
  fetch(`${ingress.url}${path}`, {
    method: "POST",
    body,
    headers: { "content-type": "application/json", ...headers },
  });
const queued = () => {
  const c = queueCounts(env);
  return c.ready + c.inflight + c.delayed;
};

test("Label Studio: a wrong shared secret is 401 and queues nothing; the right one is 202 and lands in Clarifai", async () => {
  const body = readFileSync("test/fixtures/upstream/label-studio-created.json");
  const refused = await post("/label-studio", body, { authorization: "Token wrong" });
  expect(refused.status).toBe(401);
  expect(await refused.json()).toEqual({ error: UNAUTHENTICATED });
  expect(queued()).toBe(0);

  const accepted = await post("/label-studio", body, { authorization: `Token ${LS_TOKEN}` });
  expect(accepted.status).toBe(202);
  expect(await accepted.json()).toEqual({ queued: expect.any(String) });
  const [message] = env.sqsServer.inspectQueue(env.queueName)?.messages.ready ?? [];
  expect(message?.body).toBe(body.toString("utf8")); // the raw payload, unchanged
  expect(message?.messageAttributes?.format).toMatchObject({ StringValue: "label-studio" });

  await drain(env, poller);
  expect(env.standIn?.annotations().filter((a) => a.input_id === LS_INPUT)).toHaveLength(3);
  expect(deadLetters(env)).toHaveLength(0);
});

test("Labelbox: a tampered body fails the HMAC check; a signed one is queued with its topic and delivered", async () => {
  const body = readFileSync("test/fixtures/upstream/labelbox-v2-row.json");
  const signature = `sha256=${createHmac("sha256", LB_SECRET).update(body).digest("hex")}`;
  const tampered = Buffer.from(body.toString("utf8").replace("sku-street-0412", "sku-street-9999"));
  const headers = {
    "x-hub-signature-256": signature,
    "x-labelbox-event": "LABEL_CREATED",
    "x-labelbox-id": "dlv-1",
  };

  expect((await post("/labelbox", tampered, headers)).status).toBe(401);
  expect(queued()).toBe(0);
  expect((await post("/labelbox", body, headers)).status).toBe(202);
  const [message] = env.sqsServer.inspectQueue(env.queueName)?.messages.ready ?? [];
  expect(message?.messageAttributes?.["labelbox-event"]).toMatchObject({ StringValue: "LABEL_CREATED" });

  await drain(env, poller);
  const held = env.standIn?.annotations().filter((a) => a.input_id === "sku-street-0412") ?? [];
  expect(held).toHaveLength(3); // the answers, the box, the polygon
  expect(held.every((a) => (a.annotation as { task_id: string }).task_id === "street-audit")).toBe(true);
  expect(deadLetters(env)).toHaveLength(0);
});

test("Scale: a callback with the right scale-callback-auth is queued and delivered; a wrong or missing key is 401", async () => {
  const body = readFileSync("test/fixtures/upstream/scale-imageannotation.json");
  for (const headers of [{}, { "scale-callback-auth": "live_scale_callback_wrong00" }] as Record<
    string,
    string
  >[]) {
    const refused = await post("/scale", body, headers);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({ error: UNAUTHENTICATED });
  }
  expect(queued()).toBe(0);
  const accepted = await post("/scale", body, { "scale-callback-auth": SCALE_KEY });
  expect(accepted.status).toBe(202);
  const [message] = env.sqsServer.inspectQueue(env.queueName)?.messages.ready ?? [];
  expect(message?.messageAttributes?.format).toMatchObject({ StringValue: "scale" });
  // Scale retries for 24 hours until a 2xx: a resend of the same callback changes nothing.
  expect((await post("/scale", body, { "scale-callback-auth": SCALE_KEY })).status).toBe(202);
  await drain(env, poller);
  const held = env.standIn?.annotations().filter((a) => a.input_id === "sku-street-0412") ?? [];
  expect(held).toHaveLength(3); // two boxes (one rotated, as a polygon) and a polygon
  expect(deadLetters(env)).toHaveLength(0);
});

test("an unknown path and an unsigned GET answer the same 401 as a wrong secret; neither queues anything", async () => {
  for (const response of [
    await fetch(`${ingress.url}/cvat`, { method: "POST", body: "{}" }),
    await fetch(`${ingress.url}/labelbox`),
  ]) {
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ error: UNAUTHENTICATED });
  }
  expect(queued()).toBe(0);
});

test("every signed Labelbox fixture replayed with every event header: no create turns into a delete", async () => {
  const sign = (body: Buffer) => `sha256=${createHmac("sha256", LB_SECRET).update(body).digest("hex")}`;
  const created = readFileSync("test/fixtures/upstream/labelbox-v2-row.json");
  await post("/labelbox", created, {
    "x-hub-signature-256": sign(created),
    "x-labelbox-event": "LABEL_CREATED",
  });
  await drain(env, poller);
  const count = () => env.standIn?.annotations().filter((a) => a.input_id === "sku-street-0412").length ?? 0;
  expect(count()).toBe(3);
  const signedWithContent = ["labelbox-v2-row.json", "labelbox-v1-created.json"].map((f) =>
    readFileSync(`test/fixtures/upstream/${f}`),
  );
  const topics = [
    "LABEL_CREATED",
    "LABEL_UPDATED",
    "LABEL_DELETED",
    "label_deleted",
    " LABEL_DELETED ",
    "REVIEW_CREATED",
    "",
  ];
  for (const body of signedWithContent)
    for (const topic of topics) {
      const response = await post("/labelbox", body, {
        "x-hub-signature-256": sign(body),
        "x-labelbox-event": topic,
      });
      expect([topic, response.status]).toEqual([
        topic,
        topic.trim().toUpperCase() === "LABEL_DELETED" ? 400 : 202,
      ]);
      await drain(env, poller);
      expect([topic, count()]).toEqual([topic, 3]);
    }
  expect(deadLetters(env)).toHaveLength(0);
});

test("a body SQS refuses is answered 503 with a fixed body, so the sender retries; the log says why, never the secret", async () => {
  const fixture = readFileSync("test/fixtures/upstream/label-studio-created.json", "utf8");
  // A raw U+FFFF: valid JSON, refused by SQS in a message body.
  const body = fixture.replace('"Car"', '"Car\uffff"');
  expect(body).toContain("\uffff");
  const before = stdout.lines().length;
  const response = await post("/label-studio", body, { authorization: `Token ${LS_TOKEN}` });
  expect(response.status).toBe(503);
  expect(await response.json()).toEqual({ error: "the webhook could not be queued; try again" });
  expect(queued()).toBe(0);
  const lines = stdout.lines().slice(before);
  expect(lines.some((l) => l.includes("webhook could not be queued"))).toBe(true);
  expect(lines.some((l) => l.includes('"WebhookRejected"') && l.includes("queue-failure"))).toBe(true);
});

test("Labelbox signatures with one or two hex digits too many or too few, or none, are 401 and queue nothing", async () => {
  const body = readFileSync("test/fixtures/upstream/labelbox-v2-row.json");
  const digest = createHmac("sha256", LB_SECRET).update(body).digest("hex");
  for (const signature of [`${digest}0`, `${digest}00`, digest.slice(0, -1), digest.slice(0, -2), ""]) {
    const response = await post("/labelbox", body, {
      "x-hub-signature-256": `sha256=${signature}`,
      "x-labelbox-event": "LABEL_CREATED",
    });
    expect([signature.length, response.status]).toEqual([signature.length, 401]);
  }
  expect(queued()).toBe(0);
});

test("no log line holds the Label Studio secret or a Labelbox signature, even with POWERTOOLS_LOGGER_LOG_EVENT=true", () => {
  const all = stdout.lines().join("\n");
  expect(all).not.toContain(LS_TOKEN);
  expect(all).not.toContain(LB_SECRET);
  expect(all).not.toMatch(/sha256=[0-9a-f]{64}/);
});

test("CVAT: a signed update:job of a completed job goes to the puller's queue, a ping is acknowledged, a bad signature is 401", async () => {
  const hook = readFileSync("test/fixtures/upstream/cvat-api/webhook-job-completed.json");
  const sign = (body: Buffer, secret = CVAT_SECRET) => ({
    "x-signature-256": `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`,
  });
  const pulls = () => env.sqsServer.inspectQueue(PULL_QUEUE)?.messages.ready ?? [];

  for (const headers of [{}, sign(hook, "another-cvat-secret-of-length-30")] as Record<string, string>[]) {
    const refused = await post("/cvat", hook, headers);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({ error: UNAUTHENTICATED });
  }
  expect(pulls()).toHaveLength(0);

  const ping = Buffer.from(JSON.stringify({ event: "ping", webhook_id: 3, sender: { id: 9 } }));
  expect((await post("/cvat", ping, sign(ping))).status).toBe(200);
  expect(pulls()).toHaveLength(0);

  const accepted = await post("/cvat", hook, sign(hook));
  expect(accepted.status).toBe(202);
  expect(pulls().map((m) => JSON.parse(m.body))).toEqual([{ cvat: "pull-job", jobId: 41 }]);
  expect(queued()).toBe(0); // nothing on the bridge's own queue: the puller reads the job first
});

test("an SQS outage (here: the queue is gone) is answered 503 with the same fixed body; the sender retries later", async () => {
  // Last in this file: it deletes the source queue.
  await env.sqs.send(new DeleteQueueCommand({ QueueUrl: env.queueUrl }));
  const before = stdout.lines().length;
  const body = readFileSync("test/fixtures/upstream/label-studio-created.json");
  const response = await post("/label-studio", body, { authorization: `Token ${LS_TOKEN}` });
  expect(response.status).toBe(503);
  const text = await response.text();
  expect(JSON.parse(text)).toEqual({ error: "the webhook could not be queued; try again" });
  expect(text).not.toContain(LS_TOKEN);
  const lines = stdout.lines().slice(before);
  expect(
    lines.some((l) => l.includes("webhook could not be queued") && l.includes("QueueDoesNotExist")),
  ).toBe(true);
  for (const line of lines) expect(line).not.toContain(LS_TOKEN);
});

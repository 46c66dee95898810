import { spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "@jest/globals";
import { buildHandler } from "../../bin/build.js";
import { INGRESS_ENTRY, PROJECT_ROOT } from "../../lib/bundling.js";
import {
  LOCAL_AWS_CREDENTIALS,
  type LocalEnvironment,
  startLocalEnvironment,
} from "../../local/environment.js";
import { type FunctionUrlHandler, startFunctionUrl } from "../../local/function-url.js";
import { captureStdout } from "../support/logs.js";
import { type LocalSecretsManager, startSecretsManager } from "../support/secrets-manager.js";

/**
 * The webhook secret in each documented form, read the deployed way (WEBHOOK_SECRET_ARN, Powertools Parameters,
 * the real AWS SDK against a local GetSecretValue endpoint), over real HTTP: one string for both tools, a JSON
 * object per tool, and malformed values, which fail at cold start (the bundled ingress, in a process of its own)
 * or, when a refresh brings them, answer 503, in both cases naming the rule and quoting none of the secret.
 */
const SECRET_ARN = "arn:aws:secretsmanager:us-east-1:000000000000:secret:webhook-forms-AbCdEf";
const SHARED = "shared-secret-for-both-tools-9f3c1a";
const LS = "label-studio-only-secret-5e2b7d";
const LB = "labelbox-only-signing-secret-81af04";
const TRY_AGAIN = { error: "the webhook could not be queued; try again" };

let env: LocalEnvironment;
let secrets: LocalSecretsManager;
let ingress: { url: string; close(): Promise<void> };
let stdout: ReturnType<typeof captureStdout>;

beforeAll(async () => {
  secrets = await startSecretsManager(SECRET_ARN, SHARED);
  env = await startLocalEnvironment({ standIn: false });
  stdout = captureStdout();
  for (const [k, v] of Object.entries({
    ...env.handlerEnv,
    QUEUE_URL: env.queueUrl,
    WEBHOOK_SECRET_ARN: SECRET_ARN,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url,
    WEBHOOK_SECRET_CACHE_SECONDS: "0", // every request re-reads the secret: each test stores another form
    POWERTOOLS_METRICS_DISABLED: "false",
  }))
    process.env[k] = v;
  delete process.env.WEBHOOK_SECRETS;
  const { handler } = (await import("../../lambda/ingress.js")) as unknown as { handler: FunctionUrlHandler };
  ingress = await startFunctionUrl(handler);
});
afterAll(async () => {
  stdout.restore();
  await ingress.close();
  await env.close();
  await secrets.close();
});
beforeEach(() => env.sqsServer.reset());

const LS_BODY = readFileSync("test/fixtures/upstream/label-studio-created.json");
const LB_BODY = readFileSync("test/fixtures/upstream/labelbox-v2-row.json");
const toLabelStudio = (secret: string) =>
  fetch(`${ingress.url}/label-studio`, {
    method: "POST",
    body: LS_BODY,
    headers: { authorization: `Token ${secret}` },
  });
const toLabelbox = (secret: string) =>
  fetch(`${ingress.url}/labelbox`, {
    method: "POST",
    body: LB_BODY,
    headers: {
      "x-hub-signature-256": `sha256=${createHmac("sha256", secret).update(LB_BODY).digest("hex")}`,
      "x-labelbox-event": "LABEL_CREATED",
    },
  });
const queued = () => env.sqsServer.inspectQueue(env.queueName)?.messages.ready.length ?? 0;

test("one string: both tools prove themselves with it", async () => {
  secrets.value = `${SHARED}\n`; // surrounding white space, as a console paste leaves it, is trimmed
  expect((await toLabelStudio(SHARED)).status).toBe(202);
  expect((await toLabelbox(SHARED)).status).toBe(202);
  expect((await toLabelStudio(LS)).status).toBe(401);
  expect(queued()).toBe(2);
});

test("a JSON object per tool: each tool with its own secret; a tool left out is switched off", async () => {
  secrets.value = JSON.stringify({ labelStudio: LS, labelbox: LB });
  expect((await toLabelStudio(LS)).status).toBe(202);
  expect((await toLabelbox(LB)).status).toBe(202);
  expect((await toLabelStudio(LB)).status).toBe(401);
  expect((await toLabelbox(LS)).status).toBe(401);

  secrets.value = JSON.stringify({ labelbox: LB });
  expect((await toLabelStudio(LS)).status).toBe(401);
  expect((await toLabelbox(LB)).status).toBe(202);
  expect(queued()).toBe(3);
});

describe("a refresh that brings an unusable secret answers 503 (senders retry), logs the rule, quotes nothing", () => {
  const broken: [string, string, string][] = [
    ["malformed JSON", `{"labelStudio": "${LS}", "labelbox": "${LB}"`, "not valid JSON"],
    ["a short secret", "tooShort-SECRET", "shorter than 24 characters"],
    ["a JSON field of the wrong case", JSON.stringify({ labelstudio: LS }), "field(s) other than"],
    ["a multi-line secret", `${LS}\n${LB}`, "control characters"],
    ["an empty object", "{}", "names no system"],
  ];
  test.each(broken)("%s", async (_name, value, rule) => {
    secrets.value = value;
    const before = stdout.lines().length;
    for (const response of [await toLabelStudio(LS), await toLabelbox(LB)]) {
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual(TRY_AGAIN);
    }
    expect(queued()).toBe(0);
    const lines = stdout.lines().slice(before);
    const error = lines.find((l) => l.includes("webhook secret unusable"));
    expect(error).toContain("the secret named by WEBHOOK_SECRET_ARN");
    expect(error).toContain(rule);
    expect(lines.some((l) => l.includes('"WebhookRejected"') && l.includes("secret-unusable"))).toBe(true);
    for (const line of lines) for (const part of [LS, LB, "tooShort"]) expect(line).not.toContain(part);

    secrets.value = SHARED; // fixed: the next delivery goes through
    expect((await toLabelStudio(SHARED)).status).toBe(202);
  });

  test("a secret that cannot be read", async () => {
    secrets.value = undefined;
    expect((await toLabelStudio(SHARED)).status).toBe(503);
    const line = stdout
      .lines()
      .find((l) => l.includes("webhook secret unusable") && l.includes("could not be read"));
    expect(line).toContain("ResourceNotFoundException");
  });
});

describe("at cold start, the bundled ingress refuses an unusable secret, naming the rule and quoting none of it", () => {
  let bundle: string;
  beforeAll(async () => {
    ({ file: bundle } = await buildHandler(path.join(PROJECT_ROOT, "dist", "test-ingress"), INGRESS_ENTRY));
  }, 60_000);

  /** Loads the bundle in a fresh Node process with the secret set to `value`; its exit code and output. */
  const coldStart = async (value: string | undefined) => {
    secrets.value = value;
    const child = spawn(
      process.execPath,
      ["--input-type=module", "-e", `await import(${JSON.stringify(pathToFileURL(bundle).href)})`],
      {
        cwd: PROJECT_ROOT,
        env: {
          PATH: process.env.PATH,
          AWS_REGION: "us-east-1",
          AWS_ACCESS_KEY_ID: LOCAL_AWS_CREDENTIALS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: LOCAL_AWS_CREDENTIALS.secretAccessKey,
          AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url,
          QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/000000000000/bridge",
          WEBHOOK_SECRET_ARN: SECRET_ARN,
        },
      },
    );
    let output = "";
    child.stdout.on("data", (c) => {
      output += c;
    });
    child.stderr.on("data", (c) => {
      output += c;
    });
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    return { code, output };
  };

  test("the documented forms load", async () => {
    for (const value of [
      SHARED,
      JSON.stringify({ labelStudio: LS, labelbox: LB }),
      JSON.stringify({ labelbox: LB }),
    ])
      expect(await coldStart(value)).toEqual({ code: 0, output: "" });
  }, 30_000);

  test.each([
    ["malformed JSON", `{"labelStudio": "${LS}"`, "not valid JSON"],
    ["a short secret", "tooShort-SECRET", "shorter than 24 characters"],
    [
      "a per-tool secret that is not text",
      JSON.stringify({ labelStudio: LS, labelbox: 12345678 }),
      '"labelbox" is not text',
    ],
    [
      "a Label Studio secret that cannot go in a header",
      JSON.stringify({ labelStudio: `${LS}é` }),
      "printable ASCII",
    ],
    ["an unreadable secret", undefined, "could not be read (ResourceNotFoundException)"],
  ])(
    "%s",
    async (_name, value, rule) => {
      const { code, output } = await coldStart(value);
      expect(code).not.toBe(0);
      expect(output).toContain("invalid configuration: ");
      expect(output).toContain("WEBHOOK_SECRET_ARN");
      expect(output).toContain(rule);
      for (const part of [LS, LB, "tooShort", "12345678"]) expect(output).not.toContain(part);
    },
    30_000,
  );
});

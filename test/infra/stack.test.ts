// Over 300 lines: the whole synthesized template, one describe per resource family, sharing one synthesis.
import { readdirSync, statSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, test } from "@jest/globals";
import { App, Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import * as kms from "aws-cdk-lib/aws-kms";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { AwsSolutionsChecks } from "cdk-nag";
import { BridgeStack } from "../../lib/bridge-stack.js";
import { ClarifaiAnnotationBridge } from "../../lib/clarifai-annotation-bridge.js";

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;

let stack: BridgeStack;
let template: Template;
let resources: Resources;
let assemblyDir: string;

beforeAll(() => {
  const app = new App();
  stack = new BridgeStack(app, "Bridge", {
    clarifaiSecret: "clarifai-annotation-bridge/clarifai-pat",
    bridge: { clarifaiUserId: "acme", clarifaiAppId: "street-scenes", alarmEmail: "ops@example.com" },
  });
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources as Resources;
  assemblyDir = app.synth().directory;
});

/** The construct on its own, in a stack with a queue key, for the options BridgeStack does not pass through. */
function variant(options: { withKey?: boolean; fifo?: boolean }): Stack {
  const s = new Stack(new App(), "Variant");
  new ClarifaiAnnotationBridge(s, "Bridge", {
    clarifaiSecret: secretsmanager.Secret.fromSecretCompleteArn(
      s,
      "Key",
      "arn:aws:secretsmanager:eu-west-1:123456789012:secret:clarifai-AbCdEf",
    ),
    ...(options.withKey ? { encryptionKey: new kms.Key(s, "QueueKey", { enableKeyRotation: true }) } : {}),
    ...(options.fifo ? { fifo: true } : {}),
  });
  return s;
}

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
/** The handler function's resource (the one whose logical id says Handler). */
const handlerFunction = () => {
  const found = ofType("AWS::Lambda::Function").find(([id]) => id.includes("Handler"));
  if (!found) throw new Error("no handler function in the template");
  return found[1];
};
const logicalId = (type: string, match: (id: string) => boolean) =>
  ofType(type).find(([id]) => match(id))?.[0] as string;

/**
 * Every action a function's role may take, by resource (JSON of the resource reference). Fails on any Deny, any
 * "*" resource, or a managed policy, so the callers' exact lists are the whole story.
 */
function grantsOf(all: Resources, fn: { Properties: Record<string, unknown> }): Map<string, Set<string>> {
  const role = (fn.Properties.Role as { "Fn::GetAtt": string[] })["Fn::GetAtt"][0];
  const entries = Object.entries(all);
  expect(entries.filter(([, r]) => r.Type === "AWS::IAM::ManagedPolicy")).toHaveLength(0);
  expect(all[role as string]?.Properties.ManagedPolicyArns).toBeUndefined();
  const statements = entries
    .filter(([, r]) => r.Type === "AWS::IAM::Policy")
    .filter(([, p]) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === role))
    .flatMap(
      ([, p]) =>
        (
          p.Properties.PolicyDocument as {
            Statement: { Action: string | string[]; Resource: unknown; Effect: string }[];
          }
        ).Statement,
    );
  const grants = new Map<string, Set<string>>();
  for (const s of statements) {
    expect(s.Effect).toBe("Allow");
    const actions = Array.isArray(s.Action) ? s.Action : [s.Action];
    const targets = Array.isArray(s.Resource) ? s.Resource : [s.Resource];
    for (const target of targets) {
      const key = JSON.stringify(target);
      expect(key).not.toBe('"*"');
      const set = grants.get(key) ?? new Set<string>();
      for (const a of actions) set.add(a);
      grants.set(key, set);
    }
  }
  return grants;
}

describe("queues", () => {
  test("the source queue redrives to the DLQ after 10 receives; the DLQ keeps messages 14 days", () => {
    const dlq = logicalId("AWS::SQS::Queue", (id) => id.includes("DeadLetter"));
    template.hasResourceProperties("AWS::SQS::Queue", {
      RedrivePolicy: { deadLetterTargetArn: { "Fn::GetAtt": [dlq, "Arn"] }, maxReceiveCount: 10 },
    });
    expect(resources[dlq]?.Properties.MessageRetentionPeriod).toBe(1_209_600);
  });

  test("visibility timeout is at least 6x the function timeout plus the batching window", () => {
    const source = ofType("AWS::SQS::Queue").find(([id]) => !id.includes("DeadLetter"))?.[1];
    const timeout = handlerFunction().Properties.Timeout as number;
    expect(source?.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * timeout + 5);
  });

  test("both queues are encrypted and refuse requests without TLS", () => {
    const queues = ofType("AWS::SQS::Queue");
    expect(queues).toHaveLength(2);
    for (const [, queue] of queues) expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
    const policies = ofType("AWS::SQS::QueuePolicy");
    const covered = new Set<string>();
    for (const [, policy] of policies) {
      const doc = policy.Properties.PolicyDocument as { Statement: Record<string, unknown>[] };
      const denyTls = doc.Statement.find(
        (s) =>
          s.Effect === "Deny" &&
          JSON.stringify(s.Condition) === JSON.stringify({ Bool: { "aws:SecureTransport": "false" } }),
      );
      if (denyTls) for (const q of policy.Properties.Queues as { Ref: string }[]) covered.add(q.Ref);
    }
    expect([...covered].sort()).toEqual(queues.map(([id]) => id).sort());
  });

  test("a KMS key can replace SQS-managed encryption", () => {
    const t = Template.fromStack(variant({ withKey: true }));
    t.allResourcesProperties("AWS::SQS::Queue", { KmsMasterKeyId: Match.anyValue() });
  });
});

describe("function and event source", () => {
  test("Node.js 24 on arm64, with the secret's ARN and never a plain key", () => {
    const fn = handlerFunction();
    expect(fn.Properties).toMatchObject({
      Runtime: "nodejs24.x",
      Architectures: ["arm64"],
      Handler: "index.handler",
    });
    const env = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(env.CLARIFAI_PAT_SECRET_ARN).toBeDefined();
    expect(JSON.stringify(env.CLARIFAI_PAT_SECRET_ARN)).toContain(
      "secret:clarifai-annotation-bridge/clarifai-pat",
    );
    expect(env).not.toHaveProperty("CLARIFAI_PAT");
    expect(env).toMatchObject({
      CLARIFAI_USER_ID: "acme",
      CLARIFAI_APP_ID: "street-scenes",
      MAX_RECEIVE_COUNT: "10",
    });
    // 15 requests/s shared by 2 instances, rounded down so that no one-second window can hold 16.
    expect(env.CLARIFAI_REQUESTS_PER_SECOND).toBe("7");
  });

  test("the event source reports batch item failures, fills one Clarifai request per batch, and caps concurrency", () => {
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      BatchSize: 128,
      MaximumBatchingWindowInSeconds: 5,
      ScalingConfig: { MaximumConcurrency: 2 },
    });
  });

  test("the role may do exactly this: write its logs, consume the queue (and queue continuations), send to the DLQ, read the secret", () => {
    const grants = grantsOf(resources, handlerFunction());
    const queue = logicalId("AWS::SQS::Queue", (id) => id.startsWith("BridgeQueue"));
    const dlq = logicalId("AWS::SQS::Queue", (id) => id.includes("DeadLetter"));
    const logs = logicalId("AWS::Logs::LogGroup", (id) => !id.includes("Webhook"));
    const on = (ref: string) =>
      [...(grants.get(JSON.stringify({ "Fn::GetAtt": [ref, "Arn"] })) ?? [])].sort();
    expect(on(queue)).toEqual([
      "sqs:ChangeMessageVisibility",
      "sqs:DeleteMessage",
      "sqs:GetQueueAttributes",
      "sqs:GetQueueUrl",
      "sqs:ReceiveMessage",
      // A long event's continuation is queued on its own queue (lambda/delivery/long-change.ts).
      "sqs:SendMessage",
    ]);
    expect(on(dlq)).toEqual(["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"]);
    expect(on(logs)).toEqual(["logs:CreateLogStream", "logs:PutLogEvents"]);
    const secret = [...grants.entries()].filter(([k]) => k.includes("secretsmanager"));
    expect(secret).toHaveLength(1);
    expect([...(secret[0]?.[1] ?? [])].sort()).toEqual([
      "secretsmanager:DescribeSecret",
      "secretsmanager:GetSecretValue",
    ]);
    expect(grants.size).toBe(4); // nothing else
  });
});

describe("alarms, topic and dashboard", () => {
  test("alarms on DLQ depth, oldest message age, function errors, whole-batch failures and throttles, sent to an encrypted topic", () => {
    const alarms = ofType("AWS::CloudWatch::Alarm").map(([, a]) => a.Properties);
    expect(alarms.map((a) => `${a.Namespace}/${a.MetricName}`).sort()).toEqual([
      "AWS/Lambda/Errors",
      "AWS/Lambda/Throttles",
      "AWS/SQS/ApproximateAgeOfOldestMessage",
      "AWS/SQS/ApproximateNumberOfMessagesVisible",
      "ClarifaiAnnotationBridge/BatchFailedAsWhole",
      "ClarifaiAnnotationBridge/ClarifaiAuthRejected",
    ]);
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: "BatchFailedAsWhole",
      Dimensions: [{ Name: "service", Value: "clarifai-annotation-bridge" }],
      Threshold: 1,
    });
    const topic = logicalId("AWS::SNS::Topic", () => true);
    for (const alarm of alarms) expect(alarm.AlarmActions).toEqual([{ Ref: topic }]);
    template.hasResourceProperties("AWS::SNS::Topic", { KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties("AWS::SNS::Subscription", {
      Protocol: "email",
      Endpoint: "ops@example.com",
    });
    template.hasResourceProperties("AWS::KMS::Key", {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: "cloudwatch.amazonaws.com" },
            Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
          }),
        ]),
      },
    });
  });

  test("a dashboard shows the handler's metrics, failures by reason included", () => {
    const [, dashboard] = ofType("AWS::CloudWatch::Dashboard")[0] ?? [];
    const body = JSON.stringify(dashboard?.Properties.DashboardBody);
    for (const metric of [
      "RecordsDelivered",
      "AnnotationsDelivered",
      "RecordsRetried",
      "RecordsDeadLettered",
      "ClarifaiLatency",
    ]) {
      expect(body).toContain(metric);
    }
  });

  test("no alarm topic without an email", () => {
    const t = Template.fromStack(new BridgeStack(new App(), "Quiet", { clarifaiSecret: "s" }));
    t.resourceCountIs("AWS::SNS::Topic", 0);
    t.resourceCountIs("AWS::CloudWatch::Alarm", 6);
  });
});

describe("cdk-nag", () => {
  test.each([
    ["the default stack", () => stack],
    [
      "FIFO queues, a KMS key and an app-scoped key given by ARN",
      () => variant({ withKey: true, fifo: true }),
    ],
  ])("AwsSolutions reports no errors for %s", (_name, make) => {
    const report = new AwsSolutionsChecks().validateScope(make());
    expect(report.violations.filter((v) => v.severity === "error").map((v) => v.ruleName)).toEqual([]);
  });

  test("the checks do find problems (a deliberately open role fails them)", async () => {
    const iam = await import("aws-cdk-lib/aws-iam");
    const s = new BridgeStack(new App(), "Open", { clarifaiSecret: "s" });
    s.bridge.function.addToRolePolicy(new iam.PolicyStatement({ actions: ["sqs:*"], resources: ["*"] }));
    const report = new AwsSolutionsChecks().validateScope(s);
    expect(report.violations.map((v) => v.ruleName)).toEqual(
      expect.arrayContaining(["AwsSolutions-IAM5[Resource::*]"]),
    );
  });
});

test("FIFO mode makes both queues FIFO with content-based deduplication", () => {
  const t = Template.fromStack(
    new BridgeStack(new App(), "Fifo", {
      clarifaiSecret: "s",
      bridge: { fifo: true, functionTimeout: Duration.seconds(30) },
    }),
  );
  t.resourceCountIs("AWS::SQS::Queue", 2);
  t.allResourcesProperties("AWS::SQS::Queue", { FifoQueue: true });
  t.hasResourceProperties("AWS::SQS::Queue", { ContentBasedDeduplication: true, VisibilityTimeout: 180 });
  t.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
    BatchSize: 10,
    MaximumBatchingWindowInSeconds: Match.absent(),
  });
});

test("the bundled handler asset exists, and its size is reported", () => {
  const assets = readdirSync(assemblyDir).filter((d) => d.startsWith("asset."));
  const bundle = assets
    .map((d) => path.join(assemblyDir, d, "index.mjs"))
    .find((f) => statSync(f, { throwIfNoEntry: false }));
  expect(bundle).toBeDefined();
  const bytes = statSync(bundle as string).size;
  console.log(
    `bundled handler: ${bytes} bytes minified (${(bytes / 1024).toFixed(1)} KiB), plus a source map`,
  );
  expect(bytes).toBeGreaterThan(10_000); // a real bundle, not an empty stub
  // A bound against accidental growth (a whole SDK pulled in), not the size target (bench/RESULTS.md has that):
  // the entry alone, now that the adapters are chunks of their own (test/infra/split-bundle.test.ts measures what
  // a cold start loads): 108,243 bytes with the generated validators, where the single file with every adapter
  // was 204,592.
  expect(bytes).toBeLessThan(150_000);
});

test("an upstream mapping reaches the function as BRIDGE_MAPPING, and a bad one fails synth naming the field", () => {
  const mapping = { projects: { "label-studio:12": { taskId: "street-audit" } } };
  const t = Template.fromStack(
    new BridgeStack(new App(), "Mapped", { clarifaiSecret: "s", bridge: { mapping } }),
  );
  t.hasResourceProperties("AWS::Lambda::Function", {
    Environment: { Variables: Match.objectLike({ BRIDGE_MAPPING: JSON.stringify(mapping) }) },
  });
  expect(
    () =>
      new BridgeStack(new App(), "Bad", {
        clarifaiSecret: "s",
        bridge: { mapping: { projects: { x: {} } } as never },
      }),
  ).toThrow(/invalid mapping: projects\.x\.taskId/);
});

describe("webhook ingress", () => {
  const withWebhook = (bridge: Record<string, unknown> = {}) =>
    new BridgeStack(new App(), "Hooked", { clarifaiSecret: "s", bridge: { webhook: true, ...bridge } });

  test("off unless asked for: no function URL, no second function, no webhook secret", () => {
    expect(ofType("AWS::Lambda::Url")).toHaveLength(0);
    expect(ofType("AWS::Lambda::Function")).toHaveLength(1);
    expect(ofType("AWS::SecretsManager::Secret")).toHaveLength(0);
  });

  test("a function URL (HTTPS, auth in the function) on a small, capped function that knows the queue and its secret", () => {
    const t = Template.fromStack(withWebhook());
    const all = t.toJSON().Resources as Resources;
    const [fnId, fn] =
      Object.entries(all).find(([id, r]) => r.Type === "AWS::Lambda::Function" && id.includes("Webhook")) ??
      [];
    expect(fn).toBeDefined();
    t.hasResourceProperties("AWS::Lambda::Url", {
      AuthType: "NONE",
      TargetFunctionArn: { "Fn::GetAtt": [fnId, "Arn"] },
    });
    expect(fn?.Properties).toMatchObject({
      Runtime: "nodejs24.x",
      Timeout: 10,
      ReservedConcurrentExecutions: 10,
      Environment: {
        Variables: {
          QUEUE_URL: { Ref: expect.stringMatching(/^BridgeQueue/) },
          WEBHOOK_SECRET_ARN: { Ref: expect.stringMatching(/^BridgeWebhookSecret/) },
          LABEL_STUDIO_HEADER: "Authorization",
        },
      },
    });
    t.hasResourceProperties("AWS::SecretsManager::Secret", {
      GenerateSecretString: { PasswordLength: 48, ExcludePunctuation: true },
    });
    // One random value per tool: Label Studio's generated in the webhook secret, Labelbox's in a seed secret of its
    // own, copied in when the webhook secret is created (so Label Studio's value cannot sign Labelbox's events).
    const [seedId] =
      Object.entries(all).find(
        ([id, r]) => r.Type === "AWS::SecretsManager::Secret" && id.includes("Seed"),
      ) ?? [];
    expect(seedId).toBeDefined();
    t.hasResourceProperties("AWS::SecretsManager::Secret", {
      GenerateSecretString: {
        PasswordLength: 48,
        GenerateStringKey: "labelStudio",
        SecretStringTemplate: {
          "Fn::Join": [
            "",
            ['{"labelbox":"{{resolve:secretsmanager:', { Ref: seedId }, ':SecretString:::}}"}'],
          ],
        },
      },
    });
    t.hasOutput("WebhookUrl", {});
    t.hasOutput("WebhookSecretArn", {});
  });

  test("its role may write its logs, send to the queue and read its secret, and nothing else", () => {
    const all = Template.fromStack(withWebhook()).toJSON().Resources as Resources;
    const fn = Object.entries(all).find(
      ([id, r]) => r.Type === "AWS::Lambda::Function" && id.includes("Webhook"),
    )?.[1];
    const grants = grantsOf(all, fn as { Properties: Record<string, unknown> });
    const id = (type: string, match: (id: string) => boolean) =>
      Object.entries(all).find(([k, r]) => r.Type === type && match(k))?.[0] as string;
    const on = (ref: string) =>
      [...(grants.get(JSON.stringify({ "Fn::GetAtt": [ref, "Arn"] })) ?? [])].sort();
    expect(on(id("AWS::SQS::Queue", (k) => k.startsWith("BridgeQueue")))).toEqual([
      "sqs:GetQueueAttributes",
      "sqs:GetQueueUrl",
      "sqs:SendMessage",
    ]);
    expect(on(id("AWS::Logs::LogGroup", (k) => k.includes("Webhook")))).toEqual([
      "logs:CreateLogStream",
      "logs:PutLogEvents",
    ]);
    expect(
      [
        ...(grants.get(
          JSON.stringify({ Ref: id("AWS::SecretsManager::Secret", (k) => !k.includes("Seed")) }),
        ) ?? []),
      ].sort(),
    ).toEqual(["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]);
    expect(grants.size).toBe(3);
  });

  test("ingress alarms (errors, throttles, queue failures, an unusable secret, a burst of unauthenticated requests) go to the alarm topic; the dashboard shows the ingress", () => {
    const t = Template.fromStack(withWebhook({ alarmEmail: "ops@example.com" }));
    const alarms = Object.values(t.findResources("AWS::CloudWatch::Alarm")).map(
      (a) =>
        a.Properties as {
          MetricName: string;
          Dimensions?: { Name: string; Value: unknown }[];
          Threshold: number;
          AlarmActions?: unknown[];
        },
    );
    const rejected = (reason: string) =>
      alarms.find(
        (a) =>
          a.MetricName === "WebhookRejected" &&
          a.Dimensions?.some((d) => d.Name === "reason" && d.Value === reason),
      );
    expect(rejected("queue-failure")).toMatchObject({ Threshold: 1 });
    expect(rejected("secret-unusable")).toMatchObject({ Threshold: 1 });
    expect(rejected("unauthenticated")).toMatchObject({ Threshold: 20 });
    expect(alarms.filter((a) => a.MetricName === "Errors")).toHaveLength(2);
    expect(alarms.filter((a) => a.MetricName === "Throttles")).toHaveLength(2);
    for (const alarm of alarms) expect(alarm.AlarmActions).toHaveLength(1);
    const dashboard = JSON.stringify(t.findResources("AWS::CloudWatch::Dashboard"));
    expect(dashboard).toContain("Webhook ingress");
    expect(dashboard).toContain("WebhookRejected");
  });

  test.each([
    ["the default webhook", () => withWebhook()],
    [
      "FIFO queues with a KMS key and the caller's own secret",
      () => {
        const s = new Stack(new App(), "HookedVariant");
        new ClarifaiAnnotationBridge(s, "Bridge", {
          clarifaiSecret: secretsmanager.Secret.fromSecretNameV2(s, "Key", "clarifai"),
          encryptionKey: new kms.Key(s, "QueueKey", { enableKeyRotation: true }),
          fifo: true,
          webhook: {
            secret: secretsmanager.Secret.fromSecretNameV2(s, "Hook", "hook"),
            labelStudioHeader: "X-Bridge-Token",
          },
        });
        return s;
      },
    ],
  ])("cdk-nag AwsSolutions reports no errors for %s", (_name, make) => {
    const report = new AwsSolutionsChecks().validateScope(make());
    expect(report.violations.filter((v) => v.severity === "error").map((v) => v.ruleName)).toEqual([]);
  });
});

describe("operator settings", () => {
  const tracedStack = () =>
    new BridgeStack(new App(), "Traced", {
      clarifaiSecret: "s",
      bridge: { tracing: true, webhook: true, removalPolicy: RemovalPolicy.RETAIN },
    });

  test("tracing turns on X-Ray for the handler and the ingress, cdk-nag still clean (the X-Ray grant justified)", () => {
    const s = tracedStack();
    const t = Template.fromStack(s);
    const functions = Object.values(t.findResources("AWS::Lambda::Function")).filter(
      (f) => (f.Properties as { Handler?: string }).Handler === "index.handler",
    );
    expect(functions).toHaveLength(2);
    for (const f of functions) expect(f.Properties.TracingConfig).toEqual({ Mode: "Active" });
    const report = new AwsSolutionsChecks().validateScope(s);
    expect(report.violations.filter((v) => v.severity === "error").map((v) => v.ruleName)).toEqual([]);
    // Off by default.
    expect(handlerFunction().Properties.TracingConfig).toBeUndefined();
  });

  test("removalPolicy RETAIN keeps the queues and the log groups on cdk destroy; the default deletes them", () => {
    const retained = Template.fromStack(tracedStack()).toJSON().Resources as Record<
      string,
      { Type: string; DeletionPolicy?: string }
    >;
    for (const type of ["AWS::SQS::Queue", "AWS::Logs::LogGroup"]) {
      const found = Object.values(retained).filter((r) => r.Type === type);
      expect(found.length).toBeGreaterThanOrEqual(2);
      for (const r of found) expect([type, r.DeletionPolicy]).toEqual([type, "Retain"]);
    }
    const defaults = template.toJSON().Resources as Record<string, { Type: string; DeletionPolicy?: string }>;
    for (const r of Object.values(defaults).filter((x) => x.Type === "AWS::SQS::Queue"))
      expect(r.DeletionPolicy).toBe("Delete");
  });

  test("the outputs include the dead-letter queue's ARN (the redrive commands use it)", () => {
    template.hasOutput("DeadLetterQueueArn", {
      Value: { "Fn::GetAtt": [Match.stringLikeRegexp("DeadLetterQueue"), "Arn"] },
    });
  });

  test.each([
    [{ functionTimeout: Duration.seconds(1000) }, /functionTimeout must be from 1 second to 15 minutes/],
    [{ memorySize: 64 }, /memorySize must be a whole number of MB from 128 to 10240/],
    [{ alarmEmail: "not-an-email" }, /alarmEmail must be an email address/],
  ])("the construct refuses %j", (props, message) => {
    expect(() => new BridgeStack(new App(), "Bad", { clarifaiSecret: "s", bridge: props })).toThrow(message);
  });
});

test("mask files: the Labelbox key's secret is read, S3 only under the mapping's s3:// maskOrigins; cdk-nag clean", () => {
  const app = new App();
  const s = new BridgeStack(app, "Masks", {
    clarifaiSecret: "clarifai",
    labelboxApiKeySecret: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:labelbox-AbCdEf",
    bridge: {
      mapping: {
        projects: {
          "sagemaker-ground-truth:street-seg": {
            taskId: "street-seg",
            maskOrigins: ["s3://acme-gt-output/street-seg/", "https://unrelated.example.com"],
          },
          "sagemaker-ground-truth:shelf-seg": { taskId: "shelf-seg", maskOrigins: ["s3://acme-gt-shelf"] },
        },
      },
    },
  });
  const all = Template.fromStack(s).toJSON().Resources as Resources;
  const fn = Object.entries(all).find(
    ([id, r]) => r.Type === "AWS::Lambda::Function" && id.includes("Handler"),
  );
  if (!fn) throw new Error("no handler function in the template");
  const env = (fn[1].Properties.Environment as { Variables: Record<string, unknown> }).Variables;
  expect(env.LABELBOX_API_KEY_SECRET_ARN).toBe(
    "arn:aws:secretsmanager:eu-west-1:123456789012:secret:labelbox-AbCdEf",
  );
  const grants = grantsOf(all, fn[1]);
  const s3 = [...grants.entries()].filter(([, actions]) => actions.has("s3:GetObject"));
  // Exactly the two prefixes, GetObject only; the https origin grants nothing.
  expect(s3.map(([resource, actions]) => [resource, [...actions]])).toEqual([
    [
      JSON.stringify({
        "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, ":s3:::acme-gt-output/street-seg/*"]],
      }),
      ["s3:GetObject"],
    ],
    [
      JSON.stringify({ "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, ":s3:::acme-gt-shelf/*"]] }),
      ["s3:GetObject"],
    ],
  ]);
  const labelbox = [...grants.entries()].find(([resource]) => resource.includes("labelbox"));
  expect([...(labelbox?.[1] ?? [])].sort()).toEqual([
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetSecretValue",
  ]);
  const report = new AwsSolutionsChecks().validateScope(s);
  expect(report.violations.filter((v) => v.severity === "error").map((v) => v.ruleName)).toEqual([]);
});

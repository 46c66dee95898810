import { describe, expect, test } from "@jest/globals";
import { App, Duration, Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import * as kms from "aws-cdk-lib/aws-kms";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { AwsSolutionsChecks } from "cdk-nag";
import {
  ClarifaiAnnotationBridge,
  type ClarifaiAnnotationBridgeProps,
} from "../../lib/clarifai-annotation-bridge.js";

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;

function bridge(extra: Partial<ClarifaiAnnotationBridgeProps> = {}, withKey = false): Stack {
  const s = new Stack(new App(), "Pulled");
  new ClarifaiAnnotationBridge(s, "Bridge", {
    clarifaiSecret: secretsmanager.Secret.fromSecretNameV2(s, "Key", "clarifai"),
    mapping: {
      projects: { "label-studio:12": { taskId: "street-audit" }, "cvat:5": { taskId: "street-audit" } },
    },
    ...(withKey ? { encryptionKey: new kms.Key(s, "QueueKey", { enableKeyRotation: true }) } : {}),
    ...extra,
  });
  return s;
}
const full = (withKey = false) =>
  bridge(
    {
      webhook: true,
      puller: {
        labelStudio: { url: "https://ls.example.com", projects: [12] },
        cvat: { url: "https://cvat.example.com" },
      },
    },
    withKey,
  );

describe("puller", () => {
  test("off by default: no puller function, bucket, schedule or pull queue", () => {
    const t = Template.fromStack(bridge());
    t.resourceCountIs("AWS::S3::Bucket", 0);
    t.resourceCountIs("AWS::Events::Rule", 0);
    expect(JSON.stringify(t.toJSON())).not.toContain("PULLER_CONFIG");
  });

  test("a private, encrypted, TLS-only state bucket; a 15-minute schedule; a pull queue with its DLQ; the ingress knows it", () => {
    const t = Template.fromStack(full());
    t.hasResourceProperties("AWS::S3::Bucket", {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
    });
    t.hasResourceProperties("AWS::Events::Rule", { ScheduleExpression: "rate(15 minutes)" });
    const all = t.toJSON().Resources as Resources;
    const functions = Object.entries(all).filter(([, r]) => r.Type === "AWS::Lambda::Function");
    const puller = functions.find(([id]) => id.includes("Puller"))?.[1];
    const env = (
      (puller as Resources[string]).Properties.Environment as { Variables: Record<string, unknown> }
    ).Variables;
    expect(JSON.parse(env.PULLER_CONFIG as string)).toEqual({
      labelStudio: { url: "https://ls.example.com", projects: [12] },
      cvat: { url: "https://cvat.example.com" },
    });
    expect(env).toHaveProperty("PULLER_SECRET_ARN");
    expect(env).toHaveProperty("PULLER_STATE_BUCKET");
    const ingress = functions.find(([id]) => id.includes("Webhook"))?.[1];
    expect(
      ((ingress as Resources[string]).Properties.Environment as { Variables: Record<string, unknown> })
        .Variables,
    ).toHaveProperty("PULL_QUEUE_URL");
    const alarms = Object.values(t.findResources("AWS::CloudWatch::Alarm")).map(
      (a) => (a.Properties as { MetricName: string }).MetricName,
    );
    expect(alarms).toEqual(expect.arrayContaining(["PullFailed", "ApproximateNumberOfMessagesVisible"]));
  });

  test("its role reads and writes only the state objects, lists only its bucket, sends only to the bridge's queue", () => {
    const all = Template.fromStack(full()).toJSON().Resources as Resources;
    const fn = Object.entries(all).find(
      ([id, r]) => r.Type === "AWS::Lambda::Function" && id.includes("Puller"),
    )?.[1];
    const role = ((fn as Resources[string]).Properties.Role as { "Fn::GetAtt": string[] })["Fn::GetAtt"][0];
    const statements = Object.values(all)
      .filter((r) => r.Type === "AWS::IAM::Policy")
      .filter((p) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === role))
      .flatMap(
        (p) =>
          (p.Properties.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown }[] })
            .Statement,
      );
    const s3 = statements.filter((s) => JSON.stringify(s.Action).includes("s3:"));
    expect(s3.map((s) => [s.Action, JSON.stringify(s.Resource)])).toEqual([
      [["s3:GetObject", "s3:PutObject"], expect.stringContaining("/label-studio/*")],
      ["s3:ListBucket", expect.not.stringContaining("/")],
    ]);
    expect(JSON.stringify(statements)).not.toContain('"Resource":"*"');
    expect(JSON.stringify(statements)).not.toMatch(/s3:\*|s3:DeleteObject/);
  });

  const audited = () =>
    bridge({
      clarifaiUserId: "acme",
      clarifaiAppId: "street",
      puller: { labelStudio: { url: "https://ls.example.com", projects: [12] }, audit: true },
    });

  test("the audit: a daily run with its own input, per-task metrics on the dashboard, an alarm after two audits missing work", () => {
    const t = Template.fromStack(audited());
    t.hasResourceProperties("AWS::Events::Rule", {
      ScheduleExpression: "rate(1 day)",
      Targets: [Match.objectLike({ Input: JSON.stringify({ audit: true }) })],
    });
    t.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: "AuditMissing",
      Period: 86_400,
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
      Threshold: 1,
      Statistic: "Sum",
    });
    const body = JSON.stringify(
      Object.values(t.findResources("AWS::CloudWatch::Dashboard"))[0]?.Properties?.DashboardBody,
    );
    for (const metric of ["AuditMissing", "AuditStale", "AuditExtra"]) expect(body).toContain(metric);
    const all = t.toJSON().Resources as Resources;
    const fn = Object.entries(all).find(
      ([id, r]) => r.Type === "AWS::Lambda::Function" && id.includes("Puller"),
    );
    const env = (
      (fn as [string, Resources[string]])[1].Properties.Environment as { Variables: Record<string, unknown> }
    ).Variables;
    expect(JSON.parse(env.PULLER_CONFIG as string).audit).toEqual({});
    expect(env).toMatchObject({
      CLARIFAI_USER_ID: "acme",
      CLARIFAI_APP_ID: "street",
      CLARIFAI_TASK_LINK: "both",
    });
    expect(env).toHaveProperty("CLARIFAI_PAT_SECRET_ARN");
    expect(env).toHaveProperty("BRIDGE_MAPPING");
    // The puller reads the Clarifai key secret (and its own), sends nothing to Clarifai's side but ListAnnotations.
    const role = ((fn as [string, Resources[string]])[1].Properties.Role as { "Fn::GetAtt": string[] })[
      "Fn::GetAtt"
    ][0];
    const statements = Object.values(all)
      .filter((r) => r.Type === "AWS::IAM::Policy")
      .filter((p) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === role))
      .flatMap(
        (p) =>
          (p.Properties.PolicyDocument as { Statement: { Action: unknown; Resource: unknown }[] }).Statement,
      );
    const secretReads = statements.filter((s) =>
      JSON.stringify(s.Action).includes("secretsmanager:GetSecretValue"),
    );
    expect(secretReads).toHaveLength(2);
    expect(JSON.stringify(secretReads)).toContain("clarifai");
    expect(JSON.stringify(statements)).not.toContain('"Resource":"*"');
  });

  test("without audit, the puller has no Clarifai settings and no audit rule or alarm", () => {
    const t = Template.fromStack(full());
    expect(JSON.stringify(t.toJSON())).not.toContain("AuditMissing");
    expect(JSON.stringify(t.toJSON())).not.toContain('{\\"audit\\":true}');
  });

  test.each([
    ["the default puller", () => full()],
    ["the puller with a KMS-encrypted bridge queue", () => full(true)],
    ["the puller with its audit", audited],
  ])("cdk-nag AwsSolutions reports no errors for %s", (_name, make) => {
    const report = new AwsSolutionsChecks().validateScope(make());
    expect(report.violations.filter((v) => v.severity === "error").map((v) => v.ruleName)).toEqual([]);
  });

  test.each([
    [{ puller: {} }, /needs labelStudio and\/or cvat/],
    [
      { puller: { labelStudio: { url: "https://ls.example.com", projects: [12, 13] } } },
      /projects 13 have no mapping: add projects\["label-studio:13"\]/,
    ],
    [{ puller: { cvat: { url: "https://cvat.example.com" } } }, /puller.cvat needs webhook/],
    [{ puller: { labelStudio: { url: "http://ls.example.com", projects: [12] } } }, /loopback/],
    [{ puller: { labelStudio: { url: "https://ls.example.com", projects: [] } } }, /labelStudio\.projects/],
    [
      {
        puller: {
          labelStudio: { url: "https://ls.example.com", projects: [12] },
          schedule: Duration.minutes(1),
        },
      },
      /at least 5 minutes/,
    ],
    [
      {
        puller: {
          labelStudio: { url: "https://ls.example.com", projects: [12] },
          audit: { schedule: Duration.minutes(5) },
        },
      },
      /between 15 minutes and a day/,
    ],
    [
      { puller: { cvat: { url: "https://cvat.example.com" }, audit: true }, webhook: true },
      /audit needs labelStudio/,
    ],
  ] as [Partial<ClarifaiAnnotationBridgeProps>, RegExp][])(
    "a bad puller setting fails synth: %j",
    (extra, error) => {
      expect(() => bridge(extra)).toThrow(error);
    },
  );
});

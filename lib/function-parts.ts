import { existsSync } from "node:fs";
import { Validations } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import type * as nodejs from "aws-cdk-lib/aws-lambda-nodejs";
import { OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import type * as logs from "aws-cdk-lib/aws-logs";
import type { Construct } from "constructs";
import { BUNDLING, PROJECT_ROOT, SPLIT_BUNDLE_SCRIPT } from "./bundling.js";

/**
 * What the bridge's functions share: Node.js 24 on arm64, bundled with lib/bundling.ts's esbuild settings by the
 * local esbuild (never Docker).
 */
export const FUNCTION_DEFAULTS = {
  // In this repository, its own lock file; installed as a package (no lock file travels with it), the app's
  // own, which NodejsFunction finds by walking up from the entry.
  ...(existsSync(`${PROJECT_ROOT}/package-lock.json`)
    ? { projectRoot: PROJECT_ROOT, depsLockFilePath: `${PROJECT_ROOT}/package-lock.json` }
    : {}),
  runtime: lambda.Runtime.NODEJS_24_X,
  architecture: lambda.Architecture.ARM_64,
  bundling: {
    ...BUNDLING,
    format: OutputFormat.ESM,
    externalModules: [...BUNDLING.externalModules],
    mainFields: [...BUNDLING.mainFields],
    forceDockerBundling: false,
  },
} satisfies Partial<nodejs.NodejsFunctionProps>;

/**
 * The defaults for one function's entry, its asset split into what the cold start loads and chunks loaded on first
 * use: NodejsFunction writes one file, then bin/split-bundle.mjs (an afterBundling hook, run by the local node)
 * bundles the same entry with the same settings into index.mjs and chunks/ in the same asset folder.
 */
export function functionDefaults(entry: string) {
  const settings = Buffer.from(JSON.stringify(BUNDLING)).toString("base64");
  const quote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
  return {
    ...FUNCTION_DEFAULTS,
    entry,
    bundling: {
      ...FUNCTION_DEFAULTS.bundling,
      commandHooks: {
        beforeBundling: () => [],
        beforeInstall: () => [],
        afterBundling: (_inputDir: string, outputDir: string) => [
          `node ${quote(SPLIT_BUNDLE_SCRIPT)} ${quote(entry)} ${quote(outputDir)} ${settings}`,
        ],
      },
    },
  } satisfies Partial<nodejs.NodejsFunctionProps>;
}

/**
 * A function role that may write to its own log group and nothing else (instead of AWSLambdaBasicExecutionRole);
 * each grant after it adds exactly what the function needs.
 */
export function logsOnlyRole(scope: Construct, id: string, logGroup: logs.ILogGroup): iam.Role {
  const role = new iam.Role(scope, id, { assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com") });
  role.addToPolicy(
    new iam.PolicyStatement({
      actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
      resources: [logGroup.logGroupArn],
    }),
  );
  return role;
}

/**
 * CDK's standard grants for SQS with a customer key: GenerateDataKey* and ReEncrypt* name action families of one
 * key (the queues' own key ARN), which cdk-nag reads as a wildcard.
 */
export function acknowledgeQueueKeyGrants(role: iam.IRole): void {
  for (const action of ["kms:ReEncrypt*", "kms:GenerateDataKey*"])
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Action::${action}]`,
      reason: `${action} is scoped to the queues' own KMS key, as CDK's SQS grants require.`,
    });
}

/**
 * Lambda active tracing adds `xray:PutTraceSegments` and `xray:PutTelemetryRecords` on `*`: X-Ray has no
 * resource-level permissions for them, which cdk-nag reads as a wildcard.
 */
export function acknowledgeTracingGrants(role: iam.IRole): void {
  Validations.of(role).acknowledge({
    id: "AwsSolutions-IAM5[Resource::*]",
    reason:
      "Active tracing (the tracing prop, off by default): xray:PutTraceSegments and xray:PutTelemetryRecords do not support resource-level permissions.",
  });
}

#!/usr/bin/env node
import { App, Duration, RemovalPolicy, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import type { MappingConfig } from "../lambda/events/contract/mapping-config.js";
import { BridgeStack } from "../lib/bridge-stack.js";
import { ContextError, contextConfig } from "../lib/context-config.js";

/**
 * `cdk synth` / `cdk deploy`: the stack from the context in cdk.json (or `-c key=value`), checked by cdk-nag.
 * A bad setting is reported as one line per problem, without a stack trace, and synth exits 1.
 */
const app = new App();
let config: ReturnType<typeof contextConfig>;
try {
  config = contextConfig(app.node.getAllContext());
  new BridgeStack(app, config.stackName, {
    clarifaiSecret: config.clarifaiSecret,
    ...(config.labelboxApiKeySecret ? { labelboxApiKeySecret: config.labelboxApiKeySecret } : {}),
    bridge: {
      ...(config.clarifaiUserId ? { clarifaiUserId: config.clarifaiUserId } : {}),
      ...(config.clarifaiAppId ? { clarifaiAppId: config.clarifaiAppId } : {}),
      ...(config.alarmEmail ? { alarmEmail: config.alarmEmail } : {}),
      ...(config.batchSize ? { batchSize: config.batchSize } : {}),
      ...(config.maxConcurrency ? { maxConcurrency: config.maxConcurrency } : {}),
      ...(config.maxReceiveCount ? { maxReceiveCount: config.maxReceiveCount } : {}),
      ...(config.functionTimeoutSeconds
        ? { functionTimeout: Duration.seconds(config.functionTimeoutSeconds) }
        : {}),
      ...(config.memorySize ? { memorySize: config.memorySize } : {}),
      ...(config.fifo ? { fifo: true } : {}),
      ...(config.webhook ? { webhook: true } : {}),
      ...(config.tracing ? { tracing: true } : {}),
      ...(config.removalPolicy === "retain" ? { removalPolicy: RemovalPolicy.RETAIN } : {}),
      ...(config.mapping ? { mapping: config.mapping as MappingConfig } : {}),
      ...(config.puller
        ? {
            puller: {
              ...(config.puller.labelStudio ? { labelStudio: config.puller.labelStudio } : {}),
              ...(config.puller.cvat ? { cvat: config.puller.cvat } : {}),
              ...(config.puller.requestsPerSecond
                ? { requestsPerSecond: config.puller.requestsPerSecond }
                : {}),
              ...(config.puller.scheduleMinutes
                ? { schedule: Duration.minutes(config.puller.scheduleMinutes) }
                : {}),
              ...(config.puller.audit ? { audit: auditProps(config.puller.audit) } : {}),
            },
          }
        : {}),
    },
    ...(process.env.CDK_DEFAULT_ACCOUNT
      ? { env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION } }
      : {}),
  });
} catch (error) {
  const lines = error instanceof ContextError ? error.problems : [(error as Error).message ?? String(error)];
  for (const line of lines) console.error(`error: ${line}`);
  process.exit(1);
}
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

/** The context's `puller.audit` as the construct's prop (`scheduleHours` as a Duration). */
function auditProps(audit: NonNullable<NonNullable<ReturnType<typeof contextConfig>["puller"]>["audit"]>) {
  if (audit === true || audit === false) return audit;
  const { scheduleHours, maxPages, clarifaiRequestsPerSecond } = audit;
  return {
    ...(scheduleHours !== undefined ? { schedule: Duration.minutes(Math.round(scheduleHours * 60)) } : {}),
    ...(maxPages !== undefined ? { maxPages } : {}),
    ...(clarifaiRequestsPerSecond !== undefined ? { clarifaiRequestsPerSecond } : {}),
  };
}

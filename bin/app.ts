#!/usr/bin/env node
import { App, Duration, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import type { MappingConfig } from "../lambda/events/adapters/mapping-config.js";
import { BridgeStack } from "../lib/bridge-stack.js";
import { contextConfig } from "../lib/context-config.js";

/** `cdk synth` / `cdk deploy`: the stack from the context in cdk.json (or `-c key=value`), checked by cdk-nag. */
const app = new App();
const config = contextConfig((key) => app.node.tryGetContext(key));
new BridgeStack(app, config.stackName, {
  clarifaiSecret: config.clarifaiSecret,
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
    ...(config.fifo ? { fifo: true } : {}),
    ...(config.webhook ? { webhook: true } : {}),
    ...(config.mapping ? { mapping: config.mapping as MappingConfig } : {}),
  },
  ...(process.env.CDK_DEFAULT_ACCOUNT
    ? { env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION } }
    : {}),
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

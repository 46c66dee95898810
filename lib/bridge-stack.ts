import { CfnOutput, Stack, type StackProps } from "aws-cdk-lib";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import type { Construct } from "constructs";
import {
  ClarifaiAnnotationBridge,
  type ClarifaiAnnotationBridgeProps,
} from "./clarifai-annotation-bridge.js";

export interface BridgeStackProps extends StackProps {
  /** The secret holding the Clarifai key: a name, or a complete ARN. */
  readonly clarifaiSecret: string;
  /** The secret holding a Labelbox API key (for Labelbox's mask URLs): a name, or a complete ARN. @default none */
  readonly labelboxApiKeySecret?: string;
  /** Everything else the construct takes (its props, without the secrets). @default the construct's defaults */
  readonly bridge?: Omit<ClarifaiAnnotationBridgeProps, "clarifaiSecret" | "labelboxApiKeySecret">;
}

/** The deployable stack: the bridge construct, composed with configuration, and its outputs. */
export class BridgeStack extends Stack {
  /** The construct this stack holds. */
  public readonly bridge: ClarifaiAnnotationBridge;

  constructor(scope: Construct, id: string, props: BridgeStackProps) {
    super(scope, id, props);
    const secret = props.clarifaiSecret.startsWith("arn:")
      ? secretsmanager.Secret.fromSecretCompleteArn(this, "ClarifaiKey", props.clarifaiSecret)
      : secretsmanager.Secret.fromSecretNameV2(this, "ClarifaiKey", props.clarifaiSecret);
    const labelbox = props.labelboxApiKeySecret;
    const labelboxSecret = !labelbox
      ? undefined
      : labelbox.startsWith("arn:")
        ? secretsmanager.Secret.fromSecretCompleteArn(this, "LabelboxKey", labelbox)
        : secretsmanager.Secret.fromSecretNameV2(this, "LabelboxKey", labelbox);
    this.bridge = new ClarifaiAnnotationBridge(this, "Bridge", {
      ...props.bridge,
      clarifaiSecret: secret,
      ...(labelboxSecret ? { labelboxApiKeySecret: labelboxSecret } : {}),
    });

    new CfnOutput(this, "QueueUrl", {
      value: this.bridge.queue.queueUrl,
      description: "Send labeling events here",
    });
    new CfnOutput(this, "QueueArn", { value: this.bridge.queue.queueArn });
    new CfnOutput(this, "DeadLetterQueueUrl", { value: this.bridge.deadLetterQueue.queueUrl });
    new CfnOutput(this, "DeadLetterQueueArn", {
      value: this.bridge.deadLetterQueue.queueArn,
      description:
        "For redrives: aws sqs start-message-move-task --source-arn <this> --destination-arn <QueueArn>",
    });
    new CfnOutput(this, "FunctionName", { value: this.bridge.function.functionName });
    new CfnOutput(this, "DashboardName", { value: this.bridge.dashboard.dashboardName });
    if (this.bridge.puller) {
      new CfnOutput(this, "PullerSecretArn", {
        value: this.bridge.puller.secret.secretArn,
        description:
          'aws secretsmanager put-secret-value --secret-id <arn> --secret-string \'{"labelStudio": "<token>", "cvat": "<token>"}\'',
      });
      if (this.bridge.puller.stateBucket)
        new CfnOutput(this, "PullerStateBucket", { value: this.bridge.puller.stateBucket.bucketName });
    }
    if (this.bridge.webhook) {
      new CfnOutput(this, "WebhookUrl", {
        value: this.bridge.webhook.url.url,
        description:
          "Label Studio: <url>label-studio; Labelbox: <url>labelbox; Scale: <url>scale; CVAT: <url>cvat",
      });
      new CfnOutput(this, "WebhookSecretArn", {
        value: this.bridge.webhook.secret.secretArn,
        description:
          "aws secretsmanager get-secret-value --secret-id <arn> gives the value to paste into the tools",
      });
    }
  }
}

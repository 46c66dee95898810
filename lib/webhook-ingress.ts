import { Duration, RemovalPolicy, Stack, Validations } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as nodejs from "aws-cdk-lib/aws-lambda-nodejs";
import * as logs from "aws-cdk-lib/aws-logs";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { INGRESS_ENTRY } from "./bundling.js";
import {
  acknowledgeQueueKeyGrants,
  acknowledgeTracingGrants,
  functionDefaults,
  logsOnlyRole,
} from "./function-parts.js";

export interface WebhookProps {
  /**
   * The secret the senders prove themselves with: JSON
   * `{"labelStudio": "…", "labelbox": "…", "scale": "<Scale's callback auth key>", "cvat": "…"}` (a system missing
   * from it is switched off; CVAT only with the puller's `cvat`), or one string for Label Studio and Labelbox alike
   * (weaker: each tool's admin holds the other's). Each secret has at least
   * 24 characters and no control characters (Label Studio's: printable ASCII); anything else fails the ingress at
   * cold start, naming the rule and quoting nothing.
   * @default a new secret, JSON with a generated 48-character value for `labelStudio` and another for `labelbox`
   */
  readonly secret?: secretsmanager.ISecret;
  /** The header Label Studio sends the secret in (configured on its webhook). @default "Authorization" */
  readonly labelStudioHeader?: string;
  /** At most this many ingress instances at once, so a flood of requests has a ceiling. @default 10 */
  readonly reservedConcurrency?: number;
}

export interface WebhookIngressProps extends WebhookProps {
  /** The bridge's source queue, where payloads go. */
  readonly queue: sqs.IQueue;
  /** The puller's queue, where completed CVAT jobs go (`/cvat` is off without it). */
  readonly pullQueue?: sqs.IQueue;
  readonly logRetention: logs.RetentionDays;
  /** Powertools service name for the ingress's logs and metrics. */
  readonly serviceName: string;
  /** The metrics namespace the ingress publishes `WebhookRejected` in. */
  readonly namespace: string;
  /** Lambda active tracing (X-Ray). @default false */
  readonly tracing?: boolean;
  /** What `cdk destroy` does to the log group. @default RemovalPolicy.DESTROY */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The webhook ingress: a small function behind a function URL (HTTPS only). It authenticates each request itself
 * (Label Studio's shared secret, Labelbox's HMAC signature, both from Secrets Manager), so the URL's own auth is
 * NONE: the labeling tools cannot sign AWS requests. It may send to the queue and read its secret, nothing else.
 */
export class WebhookIngress extends Construct {
  public readonly function: nodejs.NodejsFunction;
  public readonly url: lambda.FunctionUrl;
  public readonly secret: secretsmanager.ISecret;
  /** Errors, throttles, failed queue sends, and a burst of unauthenticated requests. */
  public readonly alarms: cloudwatch.Alarm[];
  /** `WebhookRejected` by reason, for a dashboard. */
  public readonly rejectedMetric: (reason: string) => cloudwatch.Metric;

  constructor(scope: Construct, id: string, props: WebhookIngressProps) {
    super(scope, id);
    this.secret = props.secret ?? this.generatedSecret();
    const logGroup = new logs.LogGroup(this, "Logs", {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY,
    });
    const role = logsOnlyRole(this, "Role", logGroup);
    this.function = new nodejs.NodejsFunction(this, "Function", {
      ...functionDefaults(INGRESS_ENTRY),
      handler: "handler",
      // Label Studio gives up after 1 second and never retries: a fast answer matters more than anything else.
      timeout: Duration.seconds(10),
      memorySize: 256,
      reservedConcurrentExecutions: props.reservedConcurrency ?? 10,
      role,
      logGroup,
      ...(props.tracing ? { tracing: lambda.Tracing.ACTIVE } : {}),
      environment: {
        NODE_OPTIONS: "--enable-source-maps",
        QUEUE_URL: props.queue.queueUrl,
        ...(props.pullQueue ? { PULL_QUEUE_URL: props.pullQueue.queueUrl } : {}),
        WEBHOOK_SECRET_ARN: this.secret.secretArn,
        LABEL_STUDIO_HEADER: props.labelStudioHeader ?? "Authorization",
        POWERTOOLS_SERVICE_NAME: props.serviceName,
      },
    });
    props.queue.grantSendMessages(this.function);
    props.pullQueue?.grantSendMessages(this.function);
    this.secret.grantRead(this.function);
    if (props.tracing) acknowledgeTracingGrants(role);
    if (props.queue.encryptionMasterKey) acknowledgeQueueKeyGrants(role);
    this.url = this.function.addFunctionUrl({
      authType: lambda.FunctionUrlAuthType.NONE,
      invokeMode: lambda.InvokeMode.BUFFERED,
    });

    const fiveMinutes = Duration.minutes(5);
    this.rejectedMetric = (reason: string) =>
      new cloudwatch.Metric({
        namespace: props.namespace,
        metricName: "WebhookRejected",
        dimensionsMap: { reason, service: props.serviceName },
        statistic: "Sum",
        period: fiveMinutes,
      });
    const alarm = (id: string, alarmDescription: string, metric: cloudwatch.IMetric, threshold: number) =>
      new cloudwatch.Alarm(this, id, {
        alarmDescription,
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    this.alarms = [
      alarm(
        "IngressErrors",
        "The webhook ingress failed: senders got a 5xx (Label Studio never retries). Read its log group.",
        this.function.metricErrors({ period: fiveMinutes, statistic: "Sum" }),
        1,
      ),
      alarm(
        "IngressThrottles",
        "The webhook ingress was throttled at its reserved concurrency: webhooks were refused. Raise reservedConcurrency or find the flood.",
        this.function.metricThrottles({ period: fiveMinutes, statistic: "Sum" }),
        1,
      ),
      alarm(
        "IngressQueueFailures",
        "Authenticated webhooks could not be put on the queue (answered 503): check SQS and the queue's key.",
        this.rejectedMetric("queue-failure"),
        1,
      ),
      alarm(
        "IngressSecretUnusable",
        "The webhook secret could not be read or is not in the documented format (answered 503): fix the secret; the ingress log names the rule it breaks.",
        this.rejectedMetric("secret-unusable"),
        1,
      ),
      alarm(
        "IngressUnauthenticatedBurst",
        "Many requests without the right secret or signature: a misconfigured tool after a rotation, or someone probing the URL.",
        this.rejectedMetric("unauthenticated"),
        20,
      ),
    ];
  }

  /**
   * The default secret: the JSON form with a distinct random value per tool, so the value Label Studio's admins can
   * read in its webhook settings cannot sign Labelbox's deliveries. CloudFormation generates one random value per
   * secret, so Label Studio's is generated in this one and Labelbox's in a second secret, copied in through a
   * dynamic reference in the template the generation starts from. The copy happens when the secret is created:
   * the reference is text that never changes, so a later deploy does not regenerate or overwrite a value rotated
   * by hand. Scale's key and CVAT's secret are added to the JSON by hand (Scale issues its own).
   */
  private generatedSecret(): secretsmanager.ISecret {
    const random = { passwordLength: 48, excludePunctuation: true } as const;
    const labelbox = new secretsmanager.Secret(this, "LabelboxSecretSeed", {
      description:
        "The Labelbox webhook's generated value, copied into the webhook secret when it is created; read that one, not this",
      generateSecretString: random,
    });
    const secret = new secretsmanager.Secret(this, "Secret", {
      description:
        'The Clarifai annotation bridge\'s webhook secrets, one per tool: {"labelStudio": ..., "labelbox": ...}',
      generateSecretString: {
        ...random,
        secretStringTemplate: Stack.of(this).toJsonString({ labelbox: labelbox.secretValue }),
        generateStringKey: "labelStudio",
      },
    });
    for (const s of [labelbox, secret])
      Validations.of(s).acknowledge({
        id: "AwsSolutions-SMG4",
        reason:
          "The webhook secret is pasted into Label Studio and Labelbox by hand; automatic rotation would break " +
          "them silently. Rotate it by hand (docs/tools/README.md).",
      });
    return secret;
  }
}

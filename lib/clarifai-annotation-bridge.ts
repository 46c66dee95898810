import { Duration, RemovalPolicy, Stack, Validations } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as actions from "aws-cdk-lib/aws-cloudwatch-actions";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import * as nodejs from "aws-cdk-lib/aws-lambda-nodejs";
import * as logs from "aws-cdk-lib/aws-logs";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import * as sns from "aws-cdk-lib/aws-sns";
import * as subscriptions from "aws-cdk-lib/aws-sns-subscriptions";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { type MappingConfig, mappingConfigSchema } from "../lambda/adapters/mapping-config.js";
import { BUNDLING, HANDLER_ENTRY, INGRESS_ENTRY, PROJECT_ROOT } from "./bundling.js";
import { BridgeDashboard } from "./dashboard.js";
import { DEFAULTS, visibilityTimeoutSeconds } from "./defaults.js";

/**
 * What the bridge's functions share: Node.js 24 on arm64, bundled with lib/bundling.ts's esbuild settings by the
 * local esbuild (never Docker).
 */
const FUNCTION_DEFAULTS = {
  projectRoot: PROJECT_ROOT,
  depsLockFilePath: `${PROJECT_ROOT}/package-lock.json`,
  runtime: lambda.Runtime.NODEJS_24_X,
  architecture: lambda.Architecture.ARM_64,
  bundling: {
    ...BUNDLING,
    format: nodejs.OutputFormat.ESM,
    externalModules: [...BUNDLING.externalModules],
    mainFields: [...BUNDLING.mainFields],
    forceDockerBundling: false,
  },
} satisfies Partial<nodejs.NodejsFunctionProps>;

/** Clarifai's default rate limit: 15 requests per second per user, whatever the plan. */
export const CLARIFAI_REQUESTS_PER_SECOND = 15;
/** The handler's CloudWatch namespace and service dimension (see lambda/handler.ts). */
export const METRICS_NAMESPACE = "ClarifaiAnnotationBridge";
export const SERVICE_NAME = "clarifai-annotation-bridge";

export interface ClarifaiAnnotationBridgeProps {
  /** The existing Secrets Manager secret holding the Clarifai key (a personal access token, or an app-scoped key). */
  readonly clarifaiSecret: secretsmanager.ISecret;
  /**
   * Clarifai user and app the annotations go to (PAT URL form `/v2/users/{user}/apps/{app}/annotations`).
   * @default none: the key is an app-scoped key and names its app (`/v2/annotations`)
   */
  readonly clarifaiUserId?: string;
  /** @default none, see clarifaiUserId */
  readonly clarifaiAppId?: string;
  /** @default "https://api.clarifai.com" */
  readonly clarifaiApiBase?: string;
  /** Where the task id goes on each annotation. @default "both" (task_id and annotation_info.task_id) */
  readonly taskLink?: "both" | "task_id" | "annotation_info";
  /** Clarifai requests per second the whole deployment may send. @default 15 (Clarifai's default limit) */
  readonly clarifaiRequestsPerSecond?: number;
  /**
   * Receives before SQS moves a message to the dead-letter queue. Invalid messages are dead-lettered on their first
   * receive, so this only has to ride out a Clarifai outage: with the handler's backoff (full jitter, 10 s doubling,
   * capped at 15 min) ten receives span up to about 50 minutes, roughly an hour with the visibility timeouts between.
   * @default 10
   */
  readonly maxReceiveCount?: number;
  /** Records per invocation. @default 128 (one full Clarifai request: its per-request limit is 128 annotations); 10 with fifo (SQS's FIFO maximum) */
  readonly batchSize?: number;
  /** How long the event source gathers a batch. @default 5 seconds (fills full batches under load, adds ≤5 s latency when quiet); none with fifo (not supported) */
  readonly maxBatchingWindow?: Duration;
  /**
   * Concurrent handler instances. Each gets an equal share of clarifaiRequestsPerSecond, so the deployment stays
   * under Clarifai's limit. @default 2 (the event source's minimum)
   */
  readonly maxConcurrency?: number;
  /** @default 60 seconds (several paced Clarifai round trips plus dead-letter sends) */
  readonly functionTimeout?: Duration;
  /** @default 256 (the handler is I/O bound; measured peak RSS is far below) */
  readonly memorySize?: number;
  /** A KMS key for both queues. @default SQS-managed encryption (SSE-SQS) */
  readonly encryptionKey?: kms.IKey;
  /**
   * FIFO queues: events of one message group reach the handler in the order they were sent. The webhook ingress
   * and `clarifai-bridge send` use one group per upstream annotation (its create, updates and delete stay in
   * order; deletes carry no input id, so the input id cannot be the group). @default false
   */
  readonly fifo?: boolean;
  /** @default one month */
  readonly logRetention?: logs.RetentionDays;
  /** Age of the oldest source message that raises an alarm. @default 1 hour (longer than a healthy retry cycle) */
  readonly oldestMessageAgeAlarmThreshold?: Duration;
  /** Email that receives the alarms (through an SNS topic encrypted with its own KMS key). @default no email */
  readonly alarmEmail?: string;
  /** An existing topic for the alarms. @default a new topic when alarmEmail is set, else none */
  readonly alarmTopic?: sns.ITopic;
  /**
   * Upstream project -> Clarifai task mapping for Label Studio, Labelbox and Ground Truth payloads (BRIDGE_MAPPING), checked
   * at synth time. @default none: only canonical events and Clarifai-native bodies are mapped
   */
  readonly mapping?: MappingConfig;
  /**
   * A webhook endpoint (a Lambda function URL) that Label Studio and Labelbox can call directly: it checks the
   * sender and puts the raw payload on the queue. `true` for the defaults. @default none
   */
  readonly webhook?: boolean | WebhookProps;
}

export interface WebhookProps {
  /**
   * The secret the senders prove themselves with: one string for both systems, or JSON
   * `{"labelStudio": "…", "labelbox": "…"}` (a system missing from it is switched off).
   * @default a new secret with a generated 48-character value
   */
  readonly secret?: secretsmanager.ISecret;
  /** The header Label Studio sends the secret in (configured on its webhook). @default "Authorization" */
  readonly labelStudioHeader?: string;
  /** At most this many ingress instances at once, so a flood of requests has a ceiling. @default 10 */
  readonly reservedConcurrency?: number;
}

/**
 * An SQS queue with a dead-letter queue and a Lambda that turns labeling events into task-linked Clarifai
 * annotations, with alarms and a dashboard; secure by default (encryption, TLS only, least privilege).
 */
export class ClarifaiAnnotationBridge extends Construct {
  public readonly queue: sqs.Queue;
  public readonly deadLetterQueue: sqs.Queue;
  public readonly function: nodejs.NodejsFunction;
  public readonly logGroup: logs.LogGroup;
  public readonly alarms: cloudwatch.Alarm[];
  public readonly alarmTopic?: sns.ITopic;
  public readonly dashboard: cloudwatch.Dashboard;
  /** The webhook ingress, when `webhook` is set: its function, its HTTPS URL and the secret senders use. */
  public readonly webhook?: {
    readonly function: nodejs.NodejsFunction;
    readonly url: lambda.FunctionUrl;
    readonly secret: secretsmanager.ISecret;
  };

  constructor(scope: Construct, id: string, props: ClarifaiAnnotationBridgeProps) {
    super(scope, id);
    if (Boolean(props.clarifaiUserId) !== Boolean(props.clarifaiAppId)) {
      throw new Error(
        "ClarifaiAnnotationBridge: set both clarifaiUserId and clarifaiAppId, or neither (app-scoped key)",
      );
    }
    const timeout = props.functionTimeout ?? Duration.seconds(DEFAULTS.functionTimeoutSeconds);
    const fifo = props.fifo ?? false;
    // SQS event sources on FIFO queues take at most 10 records per batch and no batching window.
    if (fifo && props.maxBatchingWindow)
      throw new Error("ClarifaiAnnotationBridge: maxBatchingWindow is not supported with fifo");
    if (fifo && (props.batchSize ?? 10) > 10)
      throw new Error("ClarifaiAnnotationBridge: batchSize is at most 10 with fifo");
    const batchingWindow = fifo
      ? undefined
      : (props.maxBatchingWindow ?? Duration.seconds(DEFAULTS.maxBatchingWindowSeconds));
    const batchSize = props.batchSize ?? (fifo ? 10 : DEFAULTS.batchSize);
    const maxConcurrency = props.maxConcurrency ?? DEFAULTS.maxConcurrency;
    const maxReceiveCount = props.maxReceiveCount ?? DEFAULTS.maxReceiveCount;
    const encryption = props.encryptionKey
      ? { encryption: sqs.QueueEncryption.KMS, encryptionMasterKey: props.encryptionKey }
      : { encryption: sqs.QueueEncryption.SQS_MANAGED };

    this.deadLetterQueue = new sqs.Queue(this, "DeadLetterQueue", {
      ...encryption,
      enforceSSL: true,
      fifo: fifo || undefined,
      retentionPeriod: Duration.days(14), // the longest SQS allows: time to read the reason and redrive
      maxMessageSizeBytes: 1_048_576, // the original body travels unchanged, and upstream bodies can be large
    });
    this.queue = new sqs.Queue(this, "Queue", {
      ...encryption,
      enforceSSL: true,
      fifo: fifo || undefined,
      contentBasedDeduplication: fifo || undefined,
      // AWS's guidance for SQS event sources: at least 6x the function timeout plus the batching window, so a
      // batch that is retried by the Lambda service is not redelivered while still being processed.
      visibilityTimeout: Duration.seconds(
        visibilityTimeoutSeconds(timeout.toSeconds(), batchingWindow?.toSeconds() ?? 0),
      ),
      retentionPeriod: Duration.days(4),
      maxMessageSizeBytes: 1_048_576,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount },
    });

    this.logGroup = new logs.LogGroup(this, "Logs", {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // An explicit role instead of AWSLambdaBasicExecutionRole: logs to this log group only, and nothing else.
    const role = new iam.Role(this, "Role", { assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com") });
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
        resources: [this.logGroup.logGroupArn],
      }),
    );

    // Each instance gets a whole number of requests per second where it can: evenly spaced at 7/s, an instance puts
    // at most 7 requests in any one-second window, so two stay at 14 <= 15; at 7.5/s a window can catch 8 + 8.
    const share = (props.clarifaiRequestsPerSecond ?? CLARIFAI_REQUESTS_PER_SECOND) / maxConcurrency;
    const perInstanceRate = share >= 1 ? Math.floor(share) : Math.floor(share * 100) / 100;
    this.function = new nodejs.NodejsFunction(this, "Handler", {
      entry: HANDLER_ENTRY,
      handler: "handler",
      ...FUNCTION_DEFAULTS,
      timeout,
      memorySize: props.memorySize ?? 256,
      role,
      logGroup: this.logGroup,
      environment: {
        NODE_OPTIONS: "--enable-source-maps",
        CLARIFAI_API_BASE: props.clarifaiApiBase ?? "https://api.clarifai.com",
        ...(props.clarifaiUserId && props.clarifaiAppId
          ? { CLARIFAI_USER_ID: props.clarifaiUserId, CLARIFAI_APP_ID: props.clarifaiAppId }
          : {}),
        CLARIFAI_PAT_SECRET_ARN: props.clarifaiSecret.secretArn,
        CLARIFAI_TASK_LINK: props.taskLink ?? "both",
        CLARIFAI_REQUESTS_PER_SECOND: String(perInstanceRate),
        DEAD_LETTER_QUEUE_URL: this.deadLetterQueue.queueUrl,
        MAX_RECEIVE_COUNT: String(maxReceiveCount),
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        ...(props.mapping ? { BRIDGE_MAPPING: JSON.stringify(checkedMapping(props.mapping)) } : {}),
      },
    });
    props.clarifaiSecret.grantRead(this.function);
    this.deadLetterQueue.grantSendMessages(this.function);
    this.function.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize,
        ...(batchingWindow ? { maxBatchingWindow: batchingWindow } : {}),
        reportBatchItemFailures: true,
        maxConcurrency,
      }),
    );

    if (props.encryptionKey) {
      // CDK's standard grants for SQS with a customer key: GenerateDataKey* and ReEncrypt* name action families of
      // one key (the queues' own key ARN), which cdk-nag reads as a wildcard.
      for (const action of ["kms:ReEncrypt*", "kms:GenerateDataKey*"]) {
        Validations.of(role).acknowledge({
          id: `AwsSolutions-IAM5[Action::${action}]`,
          reason: `${action} is scoped to the queues' own KMS key, as CDK's grantSendMessages/grantConsumeMessages require.`,
        });
      }
    }

    if (props.webhook)
      this.webhook = this.createWebhook(
        props.webhook === true ? {} : props.webhook,
        props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      );

    this.alarmTopic =
      props.alarmTopic ?? (props.alarmEmail ? this.createAlarmTopic(props.alarmEmail) : undefined);
    this.alarms = this.createAlarms(props.oldestMessageAgeAlarmThreshold ?? Duration.hours(1));
    if (this.alarmTopic) {
      const action = new actions.SnsAction(this.alarmTopic);
      for (const alarm of this.alarms) alarm.addAlarmAction(action);
    }
    this.dashboard = new BridgeDashboard(this, "Dashboard", {
      queue: this.queue,
      deadLetterQueue: this.deadLetterQueue,
      function: this.function,
      namespace: METRICS_NAMESPACE,
      service: SERVICE_NAME,
    }).dashboard;
  }

  /** Lets a producer (a webhook receiver, a labeling tool's role) send events to the queue, and nothing else. */
  public grantSendEvents(grantee: iam.IGrantable): iam.Grant {
    return this.queue.grantSendMessages(grantee);
  }

  /**
   * The webhook ingress: a small function behind a function URL (HTTPS only). It authenticates each request itself
   * (Label Studio's shared secret, Labelbox's HMAC signature, both from Secrets Manager), so the URL's own auth is
   * NONE: the labeling tools cannot sign AWS requests. It may send to the queue and read its secret, nothing else.
   */
  private createWebhook(
    props: WebhookProps,
    retention: logs.RetentionDays,
  ): NonNullable<ClarifaiAnnotationBridge["webhook"]> {
    const secret =
      props.secret ??
      new secretsmanager.Secret(this, "WebhookSecret", {
        description:
          "Shared secret for the Label Studio and Labelbox webhooks of the Clarifai annotation bridge",
        generateSecretString: { passwordLength: 48, excludePunctuation: true },
      });
    if (!props.secret)
      Validations.of(secret).acknowledge({
        id: "AwsSolutions-SMG4",
        reason:
          "The webhook secret is pasted into Label Studio and Labelbox by hand; automatic rotation would break " +
          "them silently. Rotate it by hand (README: Connect your labeling tool).",
      });
    const logGroup = new logs.LogGroup(this, "WebhookLogs", {
      retention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new iam.Role(this, "WebhookRole", {
      assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
    });
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
        resources: [logGroup.logGroupArn],
      }),
    );
    const fn = new nodejs.NodejsFunction(this, "Webhook", {
      entry: INGRESS_ENTRY,
      handler: "handler",
      ...FUNCTION_DEFAULTS,
      // Label Studio gives up after 1 second and never retries: a fast answer matters more than anything else.
      timeout: Duration.seconds(10),
      memorySize: 256,
      reservedConcurrentExecutions: props.reservedConcurrency ?? 10,
      role,
      logGroup,
      environment: {
        NODE_OPTIONS: "--enable-source-maps",
        QUEUE_URL: this.queue.queueUrl,
        WEBHOOK_SECRET_ARN: secret.secretArn,
        LABEL_STUDIO_HEADER: props.labelStudioHeader ?? "Authorization",
        POWERTOOLS_SERVICE_NAME: `${SERVICE_NAME}-ingress`,
      },
    });
    this.queue.grantSendMessages(fn);
    secret.grantRead(fn);
    if (this.queue.encryptionMasterKey)
      for (const action of ["kms:ReEncrypt*", "kms:GenerateDataKey*"])
        Validations.of(role).acknowledge({
          id: `AwsSolutions-IAM5[Action::${action}]`,
          reason: `${action} is scoped to the queue's own KMS key, as CDK's grantSendMessages requires.`,
        });
    const url = fn.addFunctionUrl({
      authType: lambda.FunctionUrlAuthType.NONE,
      invokeMode: lambda.InvokeMode.BUFFERED,
    });
    return { function: fn, url, secret };
  }

  private createAlarmTopic(email: string): sns.Topic {
    // CloudWatch cannot publish to a topic encrypted with the AWS-managed SNS key, so the topic gets its own key.
    const key = new kms.Key(this, "AlarmTopicKey", {
      enableKeyRotation: true,
      description: "Encrypts the Clarifai annotation bridge's alarm topic",
      removalPolicy: RemovalPolicy.DESTROY,
    });
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal("cloudwatch.amazonaws.com")],
        actions: ["kms:Decrypt", "kms:GenerateDataKey*"],
        resources: ["*"], // in a key policy "*" means this key
        conditions: { StringEquals: { "aws:SourceAccount": Stack.of(this).account } },
      }),
    );
    const topic = new sns.Topic(this, "AlarmTopic", { masterKey: key, enforceSSL: true });
    topic.addSubscription(new subscriptions.EmailSubscription(email));
    return topic;
  }

  private createAlarms(oldestAge: Duration): cloudwatch.Alarm[] {
    const period = Duration.minutes(1);
    return [
      new cloudwatch.Alarm(this, "DeadLetterQueueNotEmpty", {
        alarmDescription:
          "Labeling events were dead-lettered: read their reason attribute, fix, then redrive.",
        metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period,
          statistic: "Maximum",
        }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      new cloudwatch.Alarm(this, "OldestMessageTooOld", {
        alarmDescription:
          "Events wait too long: Clarifai may be down or throttling, or the key may be wrong.",
        metric: this.queue.metricApproximateAgeOfOldestMessage({ period, statistic: "Maximum" }),
        threshold: oldestAge.toSeconds(),
        evaluationPeriods: 5,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      new cloudwatch.Alarm(this, "FunctionErrors", {
        alarmDescription:
          "The handler failed whole batches (the secret unreadable, a crash); they will be retried.",
        metric: this.function.metricErrors({ period: Duration.minutes(5), statistic: "Sum" }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      new cloudwatch.Alarm(this, "FunctionThrottles", {
        alarmDescription: "The handler was throttled by Lambda: check the account's concurrency.",
        metric: this.function.metricThrottles({ period: Duration.minutes(5), statistic: "Sum" }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    ];
  }
}

/** The mapping, checked with the handler's own schema, so a mistake fails `cdk synth` rather than the first batch. */
function checkedMapping(mapping: unknown): MappingConfig {
  const parsed = mappingConfigSchema.safeParse(mapping);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new Error(`ClarifaiAnnotationBridge: invalid mapping: ${problems}`);
  }
  return parsed.data;
}

// Over 300 lines: the construct: its props with their defaults and the resources it composes, as Solutions Constructs keep one.
import { Aws, Duration, RemovalPolicy, Validations } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as actions from "aws-cdk-lib/aws-cloudwatch-actions";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import * as nodejs from "aws-cdk-lib/aws-lambda-nodejs";
import * as logs from "aws-cdk-lib/aws-logs";
import type * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import type * as sns from "aws-cdk-lib/aws-sns";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { type MappingConfig, mappingConfigSchema } from "../lambda/events/contract/mapping-config.js";
import { createAlarms, createAlarmTopic } from "./alarms.js";
import { HANDLER_ENTRY } from "./bundling.js";
import { auditWidget, BridgeDashboard } from "./dashboard.js";
import { DEFAULTS, perInstanceRate, visibilityTimeoutSeconds } from "./defaults.js";
import {
  acknowledgeQueueKeyGrants,
  acknowledgeTracingGrants,
  functionDefaults,
  logsOnlyRole,
} from "./function-parts.js";
import { BridgePuller, type PullerProps } from "./puller.js";
import { WebhookIngress, type WebhookProps } from "./webhook-ingress.js";

export type { WebhookProps } from "./webhook-ingress.js";

/** Clarifai's default rate limit: 15 requests per second per user, whatever the plan. */
export const CLARIFAI_REQUESTS_PER_SECOND = 15;
/** The handler's CloudWatch namespace and service dimension (see lambda/handler.ts). */
export const METRICS_NAMESPACE = "ClarifaiAnnotationBridge";
/** The handler's Powertools service name (the ingress's adds `-ingress`). */
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
   * The existing Secrets Manager secret holding a Labelbox API key, for Labelbox's mask URLs (composite and single
   * masks need it): the handler reads it (LABELBOX_API_KEY_SECRET_ARN) and sends it only to a Labelbox project's
   * `maskOrigins` (default `https://api.labelbox.com`). @default none: Labelbox masks are dead-lettered `mask-credentials-missing`
   */
  readonly labelboxApiKeySecret?: secretsmanager.ISecret;
  /**
   * A webhook endpoint (a Lambda function URL) that Label Studio and Labelbox can call directly: it checks the
   * sender and puts the raw payload on the queue. `true` for the defaults. @default none
   */
  readonly webhook?: boolean | WebhookProps;
  /** Lambda active tracing (AWS X-Ray) for the handler and the webhook ingress. @default false */
  readonly tracing?: boolean;
  /**
   * What `cdk destroy` (or removing the construct) does to the queues and the log groups. `RETAIN` keeps them, so
   * messages still in the dead-letter queue and the logs survive the stack. @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * The puller: Label Studio reconciliation on a schedule (what its webhooks lost: they are never retried) and
   * CVAT job pulls (its webhooks carry no annotations; needs `webhook`). Off by default.
   */
  readonly puller?: PullerProps;
}

/**
 * An SQS queue with a dead-letter queue and a Lambda that turns labeling events into task-linked Clarifai
 * annotations, with alarms and a dashboard; secure by default (encryption, TLS only, least privilege).
 */
export class ClarifaiAnnotationBridge extends Construct {
  /** The source queue: producers send labeling events here (see `grantSendEvents`). */
  public readonly queue: sqs.Queue;
  /** Where records end that cannot be delivered, with their reason in message attributes. */
  public readonly deadLetterQueue: sqs.Queue;
  /** The handler (Node.js 24, arm64), consuming `queue`. */
  public readonly function: nodejs.NodejsFunction;
  /** The handler's log group. */
  public readonly logGroup: logs.LogGroup;
  /** Every alarm the construct created (the handler's, the queues', and the webhook ingress's). */
  public readonly alarms: cloudwatch.Alarm[];
  /** The topic the alarms notify, when `alarmEmail` or `alarmTopic` is set. */
  public readonly alarmTopic?: sns.ITopic;
  /** The CloudWatch dashboard: throughput, failures by reason, queue depths, Clarifai latency. */
  public readonly dashboard: cloudwatch.Dashboard;
  /** The webhook ingress, when `webhook` is set: its function, its HTTPS URL and the secret senders use. */
  public readonly webhook?: WebhookIngress;
  /** The puller, when `puller` is set: its function, its token secret, its state bucket and pull queue. */
  public readonly puller?: BridgePuller;

  constructor(scope: Construct, id: string, props: ClarifaiAnnotationBridgeProps) {
    super(scope, id);
    if (Boolean(props.clarifaiUserId) !== Boolean(props.clarifaiAppId)) {
      throw new Error(
        "ClarifaiAnnotationBridge: set both clarifaiUserId and clarifaiAppId, or neither (app-scoped key)",
      );
    }
    const timeout = props.functionTimeout ?? Duration.seconds(DEFAULTS.functionTimeoutSeconds);
    if (timeout.toSeconds() < 1 || timeout.toSeconds() > 900)
      throw new Error(
        "ClarifaiAnnotationBridge: functionTimeout must be from 1 second to 15 minutes (Lambda's limit)",
      );
    const memorySize = props.memorySize ?? 256;
    if (!Number.isInteger(memorySize) || memorySize < 128 || memorySize > 10_240)
      throw new Error(
        "ClarifaiAnnotationBridge: memorySize must be a whole number of MB from 128 to 10240 (Lambda's limits)",
      );
    if (props.alarmEmail !== undefined && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(props.alarmEmail))
      throw new Error(
        `ClarifaiAnnotationBridge: alarmEmail must be an email address, got ${JSON.stringify(props.alarmEmail)}`,
      );
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;
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
      removalPolicy,
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
      removalPolicy,
    });

    this.logGroup = new logs.LogGroup(this, "Logs", {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy,
    });
    const role = logsOnlyRole(this, "Role", this.logGroup);

    const rate = perInstanceRate(
      props.clarifaiRequestsPerSecond ?? CLARIFAI_REQUESTS_PER_SECOND,
      maxConcurrency,
    );
    this.function = new nodejs.NodejsFunction(this, "Handler", {
      ...functionDefaults(HANDLER_ENTRY),
      handler: "handler",
      timeout,
      memorySize,
      role,
      logGroup: this.logGroup,
      ...(props.tracing ? { tracing: lambda.Tracing.ACTIVE } : {}),
      environment: {
        NODE_OPTIONS: "--enable-source-maps",
        CLARIFAI_API_BASE: props.clarifaiApiBase ?? "https://api.clarifai.com",
        ...(props.clarifaiUserId && props.clarifaiAppId
          ? { CLARIFAI_USER_ID: props.clarifaiUserId, CLARIFAI_APP_ID: props.clarifaiAppId }
          : {}),
        CLARIFAI_PAT_SECRET_ARN: props.clarifaiSecret.secretArn,
        CLARIFAI_TASK_LINK: props.taskLink ?? "both",
        CLARIFAI_REQUESTS_PER_SECOND: String(rate),
        DEAD_LETTER_QUEUE_URL: this.deadLetterQueue.queueUrl,
        MAX_RECEIVE_COUNT: String(maxReceiveCount),
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        ...(props.mapping ? { BRIDGE_MAPPING: JSON.stringify(checkedMapping(props.mapping)) } : {}),
        ...(props.labelboxApiKeySecret
          ? { LABELBOX_API_KEY_SECRET_ARN: props.labelboxApiKeySecret.secretArn }
          : {}),
      },
    });
    props.clarifaiSecret.grantRead(this.function);
    props.labelboxApiKeySecret?.grantRead(this.function);
    grantMaskBuckets(role, props.mapping);
    this.deadLetterQueue.grantSendMessages(this.function);
    // A long event that one invocation cannot finish goes on in a continuation message on its own queue
    // (lambda/delivery/long-change.ts): the function sends to the source queue too.
    this.queue.grantSendMessages(this.function);
    this.function.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize,
        ...(batchingWindow ? { maxBatchingWindow: batchingWindow } : {}),
        reportBatchItemFailures: true,
        maxConcurrency,
      }),
    );

    if (props.encryptionKey) acknowledgeQueueKeyGrants(role);
    if (props.tracing) acknowledgeTracingGrants(role);

    const unmapped = (props.puller?.labelStudio?.projects ?? []).filter(
      (id) => !props.mapping?.projects?.[`label-studio:${id}`],
    );
    if (unmapped.length)
      throw new Error(
        `ClarifaiAnnotationBridge: puller.labelStudio.projects ${unmapped.join(", ")} have no mapping: add ${unmapped.map((id) => `projects["label-studio:${id}"]`).join(", ")} to mapping (each needs a taskId), or every pulled annotation would be dead-lettered as missing-mapping`,
      );
    if (props.puller?.cvat && !props.webhook)
      throw new Error(
        "ClarifaiAnnotationBridge: puller.cvat needs webhook (CVAT's webhooks reach the ingress's /cvat)",
      );
    if (props.puller)
      this.puller = new BridgePuller(this, "Puller", {
        ...props.puller,
        queue: this.queue,
        logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
        serviceName: `${SERVICE_NAME}-puller`,
        namespace: METRICS_NAMESPACE,
        ...(props.tracing ? { tracing: true } : {}),
        removalPolicy,
        clarifai: {
          apiBase: props.clarifaiApiBase ?? "https://api.clarifai.com",
          ...(props.clarifaiUserId && props.clarifaiAppId
            ? { userId: props.clarifaiUserId, appId: props.clarifaiAppId }
            : {}),
          secret: props.clarifaiSecret,
          taskLink: props.taskLink ?? "both",
          ...(props.mapping ? { mapping: JSON.stringify(checkedMapping(props.mapping)) } : {}),
        },
      });

    if (props.webhook)
      this.webhook = new WebhookIngress(this, "Webhook", {
        ...(props.webhook === true ? {} : props.webhook),
        queue: this.queue,
        ...(this.puller?.pullQueue ? { pullQueue: this.puller.pullQueue } : {}),
        logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
        serviceName: `${SERVICE_NAME}-ingress`,
        namespace: METRICS_NAMESPACE,
        ...(props.tracing ? { tracing: true } : {}),
        removalPolicy,
      });

    this.alarmTopic =
      props.alarmTopic ?? (props.alarmEmail ? createAlarmTopic(this, props.alarmEmail) : undefined);
    this.alarms = [
      ...createAlarms(
        this,
        { queue: this.queue, deadLetterQueue: this.deadLetterQueue, function: this.function },
        props.oldestMessageAgeAlarmThreshold ?? Duration.hours(1),
        { namespace: METRICS_NAMESPACE, service: SERVICE_NAME },
      ),
      ...(this.webhook?.alarms ?? []),
      ...(this.puller?.alarms ?? []),
    ];
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
    if (this.webhook) {
      const ingress = this.webhook;
      this.dashboard.addWidgets(
        new cloudwatch.GraphWidget({
          title: "Webhook ingress",
          width: 24,
          left: [
            ingress.function.metricInvocations({ period: Duration.minutes(1), label: "requests" }),
            ingress.function.metricErrors({ period: Duration.minutes(1), label: "errors" }),
            ingress.function.metricThrottles({ period: Duration.minutes(1), label: "throttles" }),
          ],
          right: [
            "unauthenticated",
            "queue-failure",
            "too-large",
            "bad-body",
            "header-mismatch",
            "method",
          ].map((reason) =>
            ingress
              .rejectedMetric(reason)
              .with({ period: Duration.minutes(1), label: `rejected: ${reason}` }),
          ),
        }),
      );
    }
    if (this.puller?.auditSchedule)
      this.dashboard.addWidgets(auditWidget(METRICS_NAMESPACE, this.puller.auditSchedule));
  }

  /** Lets a producer (a webhook receiver, a labeling tool's role) send events to the queue, and nothing else. */
  public grantSendEvents(grantee: iam.IGrantable): iam.Grant {
    return this.queue.grantSendMessages(grantee);
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

/**
 * Read access to the S3 prefixes the mapping's `maskOrigins` list (Ground Truth's semantic segmentation PNGs):
 * `s3:GetObject` on exactly those buckets and prefixes, nothing else. A bucket encrypted with a customer KMS key
 * also needs `kms:Decrypt` on that key, granted by its owner to `bridge.function.role`.
 */
function grantMaskBuckets(role: iam.IRole, mapping: MappingConfig | undefined): void {
  const prefixes = new Set<string>();
  for (const project of Object.values(mapping?.projects ?? {}))
    for (const origin of project.maskOrigins ?? [])
      if (origin.startsWith("s3://")) prefixes.add(origin.slice("s3://".length).replace(/\/+$/, ""));
  if (prefixes.size === 0) return;
  const resources = [...prefixes].sort().map((p) => `arn:${Aws.PARTITION}:s3:::${p}/*`);
  role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ["s3:GetObject"], resources }));
  for (const p of [...prefixes].sort())
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${p}/*]`,
      reason: `GetObject under s3://${p}/, a prefix the mapping's maskOrigins list: Ground Truth names each mask object per labeling job.`,
    });
}

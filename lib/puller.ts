// Over 300 lines: the puller construct: schedule, state bucket, secrets and grants, composed in one place.
import { Duration, RemovalPolicy, Stack, Validations } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import * as nodejs from "aws-cdk-lib/aws-lambda-nodejs";
import * as logs from "aws-cdk-lib/aws-logs";
import * as s3 from "aws-cdk-lib/aws-s3";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { parsePullerConfig } from "../lambda/pull/puller-config.js";
import { PULLER_ENTRY } from "./bundling.js";
import {
  acknowledgeQueueKeyGrants,
  acknowledgeTracingGrants,
  functionDefaults,
  logsOnlyRole,
} from "./function-parts.js";

/** The puller (off unless `puller` is set): what webhooks lose (Label Studio) or never carry (CVAT). */
export interface PullerProps {
  /** Reconcile these Label Studio projects on a schedule (each needs `projects["label-studio:<id>"]` in the mapping). */
  readonly labelStudio?: {
    /** The Label Studio server, https://. */
    readonly url: string;
    readonly projects: readonly number[];
    /** Tasks per request. @default 100 */
    readonly pageSize?: number;
    /** Pages of changed tasks per project per run. @default 20 */
    readonly maxPagesPerRun?: number;
    /** Each run starts this long before the stored watermark. @default 600 */
    readonly overlapSeconds?: number;
    /** How far back the first run starts. @default 86400 */
    readonly initialLookbackSeconds?: number;
  };
  /**
   * Pull completed CVAT jobs: the webhook ingress's `/cvat` route (the `cvat` field of the webhook secret) puts
   * each completed job on the puller's queue. Needs `webhook`.
   */
  readonly cvat?: { readonly url: string };
  /** How often Label Studio is reconciled. @default 15 minutes */
  readonly schedule?: Duration;
  /**
   * The tools' API tokens, JSON `{"labelStudio": "<token>", "cvat": "<token>"}`.
   * @default a new secret, to be filled with `aws secretsmanager put-secret-value` (docs/tools/puller.md)
   */
  readonly secret?: secretsmanager.ISecret;
  /** Requests per second to each tool's API. @default 5 */
  readonly requestsPerSecond?: number;
  /**
   * Audit each Label Studio project against its Clarifai task on a schedule: metrics `AuditMissing`, `AuditStale`
   * and `AuditExtra` per task, an alarm when annotations stay missing for two audits in a row, and a dashboard row.
   * `true` for the defaults. The puller then reads the Clarifai key secret too (ListAnnotations only).
   * @default off
   */
  readonly audit?: boolean | PullerAuditProps;
}

export interface PullerAuditProps {
  /** How often. At least 15 minutes, at most a day (the alarm's period). @default 1 day */
  readonly schedule?: Duration;
  /** Pages read per project from Label Studio and from Clarifai (128 annotations a page). @default 250 */
  readonly maxPages?: number;
  /** ListAnnotations requests per second (shared with the bridge's 15). @default 2 */
  readonly clarifaiRequestsPerSecond?: number;
}

/** What the audit reads Clarifai with: the bridge's own settings. */
export interface PullerClarifaiProps {
  readonly apiBase: string;
  readonly userId?: string;
  readonly appId?: string;
  readonly secret: secretsmanager.ISecret;
  readonly taskLink: string;
  readonly mapping?: string;
}

export interface BridgePullerProps extends PullerProps {
  /** The bridge's source queue, where pulled annotations go. */
  readonly queue: sqs.IQueue;
  readonly logRetention: logs.RetentionDays;
  readonly serviceName: string;
  readonly namespace: string;
  readonly tracing?: boolean;
  readonly removalPolicy?: RemovalPolicy;
  /** Needed when `audit` is set. */
  readonly clarifai?: PullerClarifaiProps;
}

/** Lambda's run for one reconciliation or one batch of jobs; the schedule must leave a run time to finish. */
const TIMEOUT = Duration.minutes(5);

export class BridgePuller extends Construct {
  public readonly function: nodejs.NodejsFunction;
  public readonly secret: secretsmanager.ISecret;
  /** Where each Label Studio project's watermark and annotation ids are kept (when `labelStudio` is set). */
  public readonly stateBucket?: s3.Bucket;
  /** CVAT jobs to pull, filled by the ingress (when `cvat` is set). */
  public readonly pullQueue?: sqs.Queue;
  public readonly pullDeadLetterQueue?: sqs.Queue;
  public readonly alarms: cloudwatch.Alarm[];
  /** The audit's schedule, when `audit` is set (the dashboard's audit row reads it). */
  public readonly auditSchedule?: Duration;

  constructor(scope: Construct, id: string, props: BridgePullerProps) {
    super(scope, id);
    if (!props.labelStudio && !props.cvat)
      throw new Error("ClarifaiAnnotationBridge: puller needs labelStudio and/or cvat");
    const audit = props.audit === true ? {} : props.audit || undefined;
    const config = {
      ...(props.labelStudio
        ? { labelStudio: { ...props.labelStudio, projects: [...props.labelStudio.projects] } }
        : {}),
      ...(props.cvat ? { cvat: props.cvat } : {}),
      ...(props.requestsPerSecond !== undefined ? { requestsPerSecond: props.requestsPerSecond } : {}),
      ...(audit
        ? {
            audit: {
              ...(audit.maxPages !== undefined ? { maxPages: audit.maxPages } : {}),
              ...(audit.clarifaiRequestsPerSecond !== undefined
                ? { clarifaiRequestsPerSecond: audit.clarifaiRequestsPerSecond }
                : {}),
            },
          }
        : {}),
    };
    // The puller's own schema, so a mistake fails `cdk synth`, not the first run.
    try {
      parsePullerConfig(JSON.stringify(config));
    } catch (error) {
      throw new Error(
        `ClarifaiAnnotationBridge: puller: ${(error as Error).message.replace(/^invalid configuration: /, "")}`,
      );
    }
    const schedule = props.schedule ?? Duration.minutes(15);
    if (schedule.toSeconds() < TIMEOUT.toSeconds())
      throw new Error(
        "ClarifaiAnnotationBridge: puller.schedule must be at least 5 minutes (a run's timeout), so runs never overlap",
      );
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;
    if (audit) {
      this.auditSchedule = audit.schedule ?? Duration.days(1);
      const seconds = this.auditSchedule.toSeconds();
      if (seconds < 15 * 60 || seconds > 86_400)
        throw new Error(
          "ClarifaiAnnotationBridge: puller.audit.schedule must be between 15 minutes and a day (the alarm compares two audits a period apart)",
        );
      if (!props.clarifai)
        throw new Error("ClarifaiAnnotationBridge: puller.audit needs the bridge's Clarifai settings");
    }

    this.secret =
      props.secret ??
      new secretsmanager.Secret(this, "Tokens", {
        description:
          'API tokens the Clarifai annotation bridge\'s puller reads the labeling tools with: {"labelStudio": "…", "cvat": "…"}',
      });
    if (!props.secret)
      Validations.of(this.secret).acknowledge({
        id: "AwsSolutions-SMG4",
        reason:
          "The secret holds API tokens issued by Label Studio and CVAT; they are rotated in those tools and then put here by hand (docs/tools/puller.md).",
      });

    const logGroup = new logs.LogGroup(this, "Logs", { retention: props.logRetention, removalPolicy });
    const role = logsOnlyRole(this, "Role", logGroup);
    const environment: Record<string, string> = {
      NODE_OPTIONS: "--enable-source-maps",
      PULLER_CONFIG: JSON.stringify(config),
      PULLER_SECRET_ARN: this.secret.secretArn,
      QUEUE_URL: props.queue.queueUrl,
      POWERTOOLS_SERVICE_NAME: props.serviceName,
    };

    if (props.labelStudio) {
      this.stateBucket = new s3.Bucket(this, "State", {
        encryption: s3.BucketEncryption.S3_MANAGED,
        enforceSSL: true,
        blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
        objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        removalPolicy,
      });
      Validations.of(this.stateBucket).acknowledge({
        id: "AwsSolutions-S1",
        reason:
          "The bucket holds only the puller's own state (a watermark and annotation ids per project), written by one function; its API calls are in CloudTrail. Access logs would need a second bucket for no reader.",
      });
      environment.PULLER_STATE_BUCKET = this.stateBucket.bucketName;
    }

    if (audit && props.clarifai) {
      environment.CLARIFAI_API_BASE = props.clarifai.apiBase;
      environment.CLARIFAI_PAT_SECRET_ARN = props.clarifai.secret.secretArn;
      environment.CLARIFAI_TASK_LINK = props.clarifai.taskLink;
      if (props.clarifai.userId && props.clarifai.appId) {
        environment.CLARIFAI_USER_ID = props.clarifai.userId;
        environment.CLARIFAI_APP_ID = props.clarifai.appId;
      }
      if (props.clarifai.mapping) environment.BRIDGE_MAPPING = props.clarifai.mapping;
    }

    this.function = new nodejs.NodejsFunction(this, "Function", {
      ...functionDefaults(PULLER_ENTRY),
      handler: "handler",
      timeout: TIMEOUT,
      memorySize: 256,
      role,
      logGroup,
      ...(props.tracing ? { tracing: lambda.Tracing.ACTIVE } : {}),
      environment,
    });
    props.queue.grantSendMessages(this.function);
    this.secret.grantRead(this.function);
    // The audit reads Clarifai with the bridge's key: read access to that one secret, nothing else of the bridge's.
    if (audit && props.clarifai) props.clarifai.secret.grantRead(this.function);
    if (props.queue.encryptionMasterKey) acknowledgeQueueKeyGrants(role);
    if (props.tracing) acknowledgeTracingGrants(role);

    if (this.stateBucket) {
      // Exactly the state objects: read, write, and list (without it a missing object reads as AccessDenied).
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: ["s3:GetObject", "s3:PutObject"],
          resources: [this.stateBucket.arnForObjects("label-studio/*")],
        }),
      );
      role.addToPolicy(
        new iam.PolicyStatement({ actions: ["s3:ListBucket"], resources: [this.stateBucket.bucketArn] }),
      );
      const bucketId = Stack.of(this).getLogicalId(this.stateBucket.node.defaultChild as s3.CfnBucket);
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/label-studio/*]`,
        reason: "One state object per Label Studio project under label-studio/ in the puller's own bucket.",
      });
      new events.Rule(this, "Schedule", {
        description: "Label Studio reconciliation for the Clarifai annotation bridge",
        schedule: events.Schedule.rate(schedule),
        targets: [new targets.LambdaFunction(this.function, { retryAttempts: 2 })],
      });
    }

    if (audit && this.auditSchedule)
      new events.Rule(this, "AuditSchedule", {
        description:
          "Audit of the Label Studio projects against their Clarifai tasks (Clarifai annotation bridge)",
        schedule: events.Schedule.rate(this.auditSchedule),
        targets: [
          new targets.LambdaFunction(this.function, {
            event: events.RuleTargetInput.fromObject({ audit: true }),
            retryAttempts: 2,
          }),
        ],
      });

    if (props.cvat) {
      this.pullDeadLetterQueue = new sqs.Queue(this, "PullDeadLetterQueue", {
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
        removalPolicy,
      });
      this.pullQueue = new sqs.Queue(this, "PullQueue", {
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        visibilityTimeout: Duration.seconds(TIMEOUT.toSeconds() * 6),
        retentionPeriod: Duration.days(4),
        deadLetterQueue: { queue: this.pullDeadLetterQueue, maxReceiveCount: 5 },
        removalPolicy,
      });
      this.function.addEventSource(
        new SqsEventSource(this.pullQueue, {
          batchSize: 1,
          reportBatchItemFailures: true,
          maxConcurrency: 2,
        }),
      );
    }

    const fifteen = Duration.minutes(15);
    const alarm = (alarmId: string, alarmDescription: string, metric: cloudwatch.IMetric) =>
      new cloudwatch.Alarm(this, alarmId, {
        alarmDescription,
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    this.alarms = [
      alarm(
        "PullFailed",
        "A puller run failed (a Label Studio project or a CVAT job could not be read or queued); it resumes on the next run. Read the puller's log group.",
        new cloudwatch.Metric({
          namespace: props.namespace,
          metricName: "PullFailed",
          dimensionsMap: { service: props.serviceName },
          statistic: "Sum",
          period: fifteen,
        }),
      ),
      alarm(
        "PullRefused",
        "An annotation or frame could never be queued (too large, or nested too deep) and was passed over; the puller's log names it. Fix it in the tool, or send it by hand.",
        new cloudwatch.Metric({
          namespace: props.namespace,
          metricName: "PullRefused",
          dimensionsMap: { service: props.serviceName },
          statistic: "Sum",
          period: fifteen,
        }),
      ),
      alarm(
        "PullerErrors",
        "The puller function failed (its configuration or secret, or a run that threw). Read its log group.",
        this.function.metricErrors({ period: fifteen, statistic: "Sum" }),
      ),
      ...(this.auditSchedule
        ? [
            new cloudwatch.Alarm(this, "AuditMissing", {
              alarmDescription:
                "Labelers' work in Label Studio has been missing from Clarifai for two audits in a row (webhooks and the puller did not bring it, or it waits in the dead-letter queue). Run clarifai-bridge audit --task <task> --source label-studio:<project> --dlq-url <dlq> to see which and why, then --repair.",
              metric: new cloudwatch.Metric({
                namespace: props.namespace,
                metricName: "AuditMissing",
                dimensionsMap: { service: props.serviceName },
                statistic: "Sum",
                period: this.auditSchedule,
              }),
              threshold: 1,
              evaluationPeriods: 2,
              datapointsToAlarm: 2,
              comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
              treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
            }),
          ]
        : []),
      ...(this.pullDeadLetterQueue
        ? [
            alarm(
              "PullDeadLetters",
              "CVAT jobs could not be pulled after 5 tries and wait in the pull dead-letter queue; fix the cause (token, URL, job) and redrive them.",
              this.pullDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
                period: Duration.minutes(5),
              }),
            ),
          ]
        : []),
    ];
  }
}

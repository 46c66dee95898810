import { Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as sns from "aws-cdk-lib/aws-sns";
import * as subscriptions from "aws-cdk-lib/aws-sns-subscriptions";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";

/**
 * The bridge's alarms: dead letters, a stuck queue, failed and throttled invocations. Created in the bridge's own
 * scope, each at or above its threshold, missing data not breaching.
 */
export function createAlarms(
  scope: Construct,
  parts: { queue: sqs.IQueue; deadLetterQueue: sqs.IQueue; function: lambda.IFunction },
  oldestAge: Duration,
  metrics: { namespace: string; service: string },
): cloudwatch.Alarm[] {
  const minute = Duration.minutes(1);
  const fiveMinutes = Duration.minutes(5);
  const alarm = (
    id: string,
    alarmDescription: string,
    metric: cloudwatch.IMetric,
    threshold: number,
    evaluationPeriods = 1,
  ) =>
    new cloudwatch.Alarm(scope, id, {
      alarmDescription,
      metric,
      threshold,
      evaluationPeriods,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  /** A count the handler publishes, summed over five minutes. */
  const handlerMetric = (metricName: string) =>
    new cloudwatch.Metric({
      namespace: metrics.namespace,
      metricName,
      dimensionsMap: { service: metrics.service },
      statistic: "Sum",
      period: fiveMinutes,
    });
  return [
    alarm(
      "DeadLetterQueueNotEmpty",
      "Labeling events were dead-lettered: read their reason attribute, fix, then redrive.",
      parts.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: minute,
        statistic: "Maximum",
      }),
      1,
    ),
    alarm(
      "OldestMessageTooOld",
      "Events wait too long: Clarifai may be down or throttling, or the key may be wrong.",
      parts.queue.metricApproximateAgeOfOldestMessage({ period: minute, statistic: "Maximum" }),
      oldestAge.toSeconds(),
      5,
    ),
    alarm(
      "FunctionErrors",
      "The handler failed whole batches (the secret unreadable, a crash); they will be retried.",
      parts.function.metricErrors({ period: fiveMinutes, statistic: "Sum" }),
      1,
    ),
    alarm(
      "ClarifaiAuthRejected",
      "Clarifai refused the key, its scopes or a header (CONN_* 11000-11009, 11102, or HTTP 401/403): records are retried, not dead-lettered. Check the secret, the key's scopes and CLARIFAI_USER_ID/CLARIFAI_APP_ID.",
      handlerMetric("ClarifaiAuthRejected"),
      1,
    ),
    alarm(
      "BatchFailedAsWhole",
      "The handler failed a whole batch before any record had a fate (the key or secret unreadable or invalid, a crash): every record is retried. Read the function's 'batch failed as a whole' log line.",
      handlerMetric("BatchFailedAsWhole"),
      1,
    ),
    alarm(
      "FunctionThrottles",
      "The handler was throttled by Lambda: check the account's concurrency.",
      parts.function.metricThrottles({ period: fiveMinutes, statistic: "Sum" }),
      1,
    ),
  ];
}

/** An SNS topic for the alarms, mailing `email`, encrypted with its own key (CloudWatch cannot use SNS's AWS-managed key). */
export function createAlarmTopic(scope: Construct, email: string): sns.Topic {
  const key = new kms.Key(scope, "AlarmTopicKey", {
    enableKeyRotation: true,
    description: "Encrypts the Clarifai annotation bridge's alarm topic",
    removalPolicy: RemovalPolicy.DESTROY,
  });
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      principals: [new iam.ServicePrincipal("cloudwatch.amazonaws.com")],
      actions: ["kms:Decrypt", "kms:GenerateDataKey*"],
      resources: ["*"], // in a key policy "*" means this key
      conditions: { StringEquals: { "aws:SourceAccount": Stack.of(scope).account } },
    }),
  );
  const topic = new sns.Topic(scope, "AlarmTopic", { masterKey: key, enforceSSL: true });
  topic.addSubscription(new subscriptions.EmailSubscription(email));
  return topic;
}

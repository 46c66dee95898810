import { Duration } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";

export interface BridgeDashboardProps {
  readonly queue: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
  readonly function: lambda.IFunction;
  /** The handler's metrics namespace and service dimension. */
  readonly namespace: string;
  readonly service: string;
}

/** Throughput, failures by reason, dead-letter depth and Clarifai latency on one page. */
export class BridgeDashboard extends Construct {
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: BridgeDashboardProps) {
    super(scope, id);
    const period = Duration.minutes(1);
    const handlerMetric = (metricName: string, statistic = "Sum", label?: string) =>
      new cloudwatch.Metric({
        namespace: props.namespace,
        metricName,
        dimensionsMap: { service: props.service },
        statistic,
        period,
        ...(label ? { label } : {}),
      });

    this.dashboard = new cloudwatch.Dashboard(this, "Dashboard", { defaultInterval: Duration.hours(3) });
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: "Throughput",
        left: [
          props.queue.metricNumberOfMessagesSent({ period, label: "events received" }),
          handlerMetric("RecordsDelivered", "Sum", "records delivered"),
          handlerMetric("AnnotationsDelivered", "Sum", "annotations created"),
        ],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: "Failures by reason",
        left: [
          new cloudwatch.MathExpression({
            expression: `SEARCH('{${props.namespace},reason,service} MetricName="RecordsDeadLettered"', 'Sum', 60)`,
            label: "dead-lettered",
            period,
          }),
          handlerMetric("RecordsRetried", "Sum", "retried"),
          handlerMetric("ClarifaiThrottled", "Sum", "Clarifai throttled"),
        ],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: "Queues",
        left: [
          props.queue.metricApproximateNumberOfMessagesVisible({ period, label: "waiting" }),
          props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period, label: "dead letters" }),
        ],
        right: [props.queue.metricApproximateAgeOfOldestMessage({ period, label: "oldest (s)" })],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: "Clarifai latency and handler",
        left: [
          handlerMetric("ClarifaiLatency", "p50", "Clarifai p50 (ms)"),
          handlerMetric("ClarifaiLatency", "p99", "Clarifai p99 (ms)"),
        ],
        right: [
          props.function.metricErrors({ period, label: "handler errors" }),
          props.function.metricThrottles({ period, label: "handler throttles" }),
        ],
        width: 12,
      }),
    );
  }
}

/** The puller's audit, per task: Label Studio work missing, stale or extra in Clarifai, at each audit. */
export function auditWidget(namespace: string, period: Duration): cloudwatch.GraphWidget {
  const perTask = (metric: string) =>
    new cloudwatch.MathExpression({
      expression: `SEARCH('{${namespace},service,task} MetricName="${metric}"', 'Sum', ${period.toSeconds()})`,
      label: metric,
      period,
    });
  return new cloudwatch.GraphWidget({
    title: "Audit: Label Studio work missing, stale or extra in Clarifai, per task",
    width: 24,
    left: ["AuditMissing", "AuditStale", "AuditExtra"].map(perTask),
  });
}

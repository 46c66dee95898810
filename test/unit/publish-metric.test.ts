import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { expect, test } from "@jest/globals";
import { publishMetric } from "../../lambda/publish-metric.js";
import { captureStdout } from "../support/logs.js";

test("each metric is published at once with its own dimension only, through one reused instance", () => {
  const metrics = new Metrics({
    namespace: "Test",
    serviceName: "bridge",
    defaultDimensions: { stage: "dev" },
  });
  const stdout = captureStdout();
  try {
    publishMetric(metrics, "AnnotationsByState", MetricUnit.Count, 3, ["state", "SUCCESS"]);
    publishMetric(metrics, "RecordsDeadLettered", MetricUnit.Count, 1, ["reason", "invalid-event"]);
    publishMetric(metrics, "RecordsDeadLettered", MetricUnit.Count, 2, ["reason", "input-not-found"]);
  } finally {
    stdout.restore();
  }
  const blobs = stdout.lines().map((line) => JSON.parse(line));
  expect(blobs).toHaveLength(3);
  const [first, second, third] = blobs;
  expect(first._aws.CloudWatchMetrics[0].Dimensions).toEqual([["service", "stage", "state"]]);
  expect(first).toMatchObject({ AnnotationsByState: 3, state: "SUCCESS", stage: "dev", service: "bridge" });
  // The dimension of the metric before is gone: Powertools clears it after every publish.
  expect(second._aws.CloudWatchMetrics[0].Dimensions).toEqual([["service", "stage", "reason"]]);
  expect(second).not.toHaveProperty("state");
  expect(second).not.toHaveProperty("AnnotationsByState");
  expect(second).toMatchObject({ RecordsDeadLettered: 1, reason: "invalid-event" });
  expect(third).toMatchObject({ RecordsDeadLettered: 2, reason: "input-not-found" });
  // Nothing is left stored on the batch's own Metrics.
  expect(metrics.hasStoredMetrics()).toBe(false);
});

import type { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";

type Unit = (typeof MetricUnit)[keyof typeof MetricUnit];

/** One single-metric instance per Metrics, kept for the life of the instance. */
const reusable = new WeakMap<Metrics, Metrics>();

/**
 * Publishes one metric with its own dimension at once (EMF on stdout), as `metrics.singleMetric()` does, but
 * through one reused single-metric instance: Powertools clears its dimensions after every publish, and making a
 * new one costs about 0.3 ms (a new Console, the environment read again), which was most of the metrics' cost per
 * batch of 100.
 */
export function publishMetric(
  metrics: Metrics,
  name: string,
  unit: Unit,
  value: number,
  dimension: readonly [name: string, value: string],
): void {
  let single = reusable.get(metrics);
  if (!single) {
    single = metrics.singleMetric();
    reusable.set(metrics, single);
  }
  single.addDimension(dimension[0], dimension[1]);
  single.addMetric(name, unit, value);
}

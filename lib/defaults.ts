/**
 * The stack's defaults as plain numbers, shared by the CDK construct and the local run (which must not load
 * aws-cdk-lib), so `npm start` runs the queue and the event source exactly as `cdk deploy` would.
 */
export const DEFAULTS = {
  /** Invalid messages skip retries, so this only rides out a Clarifai outage (see the construct's prop). */
  maxReceiveCount: 10,
  /** One full Clarifai request: its per-request limit is 128 annotations. */
  batchSize: 128,
  maxBatchingWindowSeconds: 5,
  functionTimeoutSeconds: 60,
  /** The event source's minimum; each instance gets an equal share of Clarifai's rate limit. */
  maxConcurrency: 2,
} as const;

/** AWS's guidance for SQS event sources: at least 6x the function timeout plus the batching window. */
export const visibilityTimeoutSeconds = (functionTimeoutSeconds: number, batchingWindowSeconds: number) =>
  6 * functionTimeoutSeconds + batchingWindowSeconds;

/**
 * Each instance's share of Clarifai's rate limit: a whole number of requests per second where it can. Evenly
 * spaced at 7/s, an instance puts at most 7 requests in any one-second window, so two stay at 14 <= 15; at 7.5/s a
 * window can catch 8 + 8.
 */
export const perInstanceRate = (limit: number, instances: number) => {
  const share = limit / instances;
  return share >= 1 ? Math.floor(share) : Math.floor(share * 100) / 100;
};

/**
 * The prices the benchmark's cost columns use: AWS list prices for us-east-1 as published on the Lambda and SQS
 * pricing pages (Lambda on arm64, the stack's architecture; SQS standard queues beyond the free tier). Written
 * down here in one place so a reader can check them against today's pricing pages and change them.
 */
export const PRICES = {
  /** When these were taken from the pricing pages. */
  asOf: "AWS list prices for us-east-1 as of 2026-11 (re-check before budgeting)",
  /** Lambda, arm64: per GB-second of duration. */
  lambdaPerGbSecond: 0.0000133334,
  /** Lambda: per request (invocation). */
  lambdaPerRequest: 0.2 / 1_000_000,
  /** SQS standard: per request (each 64 KiB chunk of a payload is one request). */
  sqsPerRequest: 0.4 / 1_000_000,
} as const;

/** The stack's default memory for the handler (lib/clarifai-annotation-bridge.ts), used for every implementation. */
export const MEMORY_GB = 256 / 1024;

/**
 * SQS requests per message at the stack's defaults, whatever the handler: the producer's SendMessageBatch (10 per
 * request), the event source's ReceiveMessage (10 per request) and DeleteMessageBatch (10 per request). Retries and
 * dead letters add to it; the benchmark has none.
 */
export const SQS_REQUESTS_PER_MESSAGE = 0.1 + 0.1 + 0.1;

export interface Cost {
  readonly lambdaRequests: number;
  readonly gbSeconds: number;
  readonly sqsRequests: number;
  readonly dollars: number;
}

/** Cost of a million annotations from a measured run: its invocations and billed durations over what it delivered. */
export function costPerMillion(delivered: number, invocations: number, billedMs: number): Cost {
  const scale = delivered > 0 ? 1_000_000 / delivered : 0;
  const lambdaRequests = invocations * scale;
  // Lambda bills each invocation's duration rounded up to the millisecond.
  const gbSeconds = (billedMs / 1000) * MEMORY_GB * scale;
  const sqsRequests = 1_000_000 * SQS_REQUESTS_PER_MESSAGE;
  const dollars =
    lambdaRequests * PRICES.lambdaPerRequest +
    gbSeconds * PRICES.lambdaPerGbSecond +
    sqsRequests * PRICES.sqsPerRequest;
  return { lambdaRequests, gbSeconds, sqsRequests, dollars };
}

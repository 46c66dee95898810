/** Backoff settings, in seconds. */
export interface BackoffOptions {
  readonly baseSeconds: number;
  readonly capSeconds: number;
}

/** SQS refuses a visibility timeout above 12 hours. */
export const MAX_VISIBILITY_SECONDS = 43_200;

/**
 * Seconds until the next attempt of a record that has been received `receiveCount` times:
 * exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff and Jitter"),
 * never below 1 s, never below a server's Retry-After, never above SQS's 12-hour visibility limit.
 */
export function backoffSeconds(
  receiveCount: number,
  options: BackoffOptions,
  retryAfterSeconds?: number,
  random: () => number = Math.random,
): number {
  const attempt = Number.isFinite(receiveCount) ? Math.max(1, Math.floor(receiveCount)) : 1;
  const ceiling = Math.min(options.capSeconds, options.baseSeconds * 2 ** Math.min(attempt - 1, 30));
  const jittered = Math.ceil(random() * ceiling);
  const delay = Math.max(1, jittered, Math.ceil(retryAfterSeconds ?? 0));
  return Math.min(delay, MAX_VISIBILITY_SECONDS);
}

/**
 * Spaces requests evenly so that one handler instance never sends more than `perSecond` requests in any second.
 * Clarifai allows 15 requests per second per user; the stack gives each of its `maxConcurrency` instances an
 * equal share, so the deployment paces itself under the limit instead of bouncing off it.
 */
export interface RateLimiter {
  /**
   * Resolves when the next request may start: true. With `latestStart` (a `performance.now()` time), a slot that
   * would start later is neither waited for nor kept: false at once, so no invocation sleeps past its deadline or
   * holds a slot for a request it will not send.
   */
  acquire(latestStart?: number): Promise<boolean>;
  /** Clarifai said "too many": no request starts for `ms` (its Retry-After, or a second), as it asks. */
  backOff(ms: number): void;
}

export function createRateLimiter(
  perSecond: number,
  clock: { now: () => number; sleep: (ms: number) => Promise<void> } = {
    now: () => performance.now(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  },
): RateLimiter {
  if (!(perSecond > 0))
    return {
      acquire: async (latestStart) => latestStart === undefined || clock.now() <= latestStart,
      backOff: () => undefined,
    };
  // Rounded up to the microsecond so floating-point error can never squeeze in one request too many.
  const interval = Math.ceil(1e6 / perSecond) / 1000;
  let nextSlot = Number.NEGATIVE_INFINITY;
  return {
    async acquire(latestStart) {
      const now = clock.now();
      const slot = Math.max(now, nextSlot);
      if (latestStart !== undefined && slot > latestStart) return false;
      nextSlot = slot + interval;
      if (slot > now) await clock.sleep(slot - now);
      return true;
    },
    backOff(ms) {
      nextSlot = Math.max(nextSlot, clock.now() + ms);
    },
  };
}

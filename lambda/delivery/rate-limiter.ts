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
  // Even spacing alone keeps any second to `perSecond` starts only if every request leaves on time; one whose
  // timer fired late (a busy event loop: a GC pause, a batch being read) leaves right before the next, and a
  // sliding-window limit at the server (the stand-in's; the safe reading of Clarifai's) counts one too many. So
  // the actual start times of the last `perSecond` requests are kept too, and a request waits until the oldest of
  // them is a second old. On time, that is the even spacing itself: it costs nothing.
  const window = Math.floor(perSecond);
  const started: number[] = [];
  return {
    async acquire(latestStart) {
      const now = clock.now();
      const slot = Math.max(now, nextSlot);
      if (latestStart !== undefined && slot > latestStart) return false;
      nextSlot = slot + interval;
      if (slot > now) await clock.sleep(slot - now);
      if (window < 1) return true;
      // Checked when the request is about to start, against when the ones before it really started: a waiter
      // ahead of it may have woken late.
      for (;;) {
        const open = started.length >= window ? (started[started.length - window] as number) + 1000 : 0;
        const at = clock.now();
        if (at >= open) break;
        if (latestStart !== undefined && open > latestStart) return false;
        await clock.sleep(open - at);
      }
      started.push(clock.now());
      if (started.length > window) started.shift();
      return true;
    },
    backOff(ms) {
      nextSlot = Math.max(nextSlot, clock.now() + ms);
    },
  };
}

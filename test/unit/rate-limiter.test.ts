import { expect, test } from "@jest/globals";
import { createRateLimiter } from "../../lambda/delivery/rate-limiter.js";

function fakeClock() {
  let now = 0;
  const starts: number[] = [];
  return {
    clock: {
      now: () => now,
      sleep: async (ms: number) => {
        now += ms;
      },
    },
    starts,
    mark: () => starts.push(now),
  };
}

test("no more than N requests start in any one-second window", async () => {
  const { clock, starts, mark } = fakeClock();
  const limiter = createRateLimiter(7, clock);
  for (let i = 0; i < 50; i++) {
    await limiter.acquire();
    mark();
  }
  for (const start of starts)
    expect(starts.filter((s) => s >= start && s < start + 1000).length).toBeLessThanOrEqual(7);
  expect(starts.at(-1)).toBeCloseTo((49 * 1000) / 7, 1); // and no slower than that
});

test("a rate of 0 means no limit", async () => {
  const { clock, starts, mark } = fakeClock();
  const limiter = createRateLimiter(0, clock);
  for (let i = 0; i < 5; i++) {
    await limiter.acquire();
    mark();
  }
  expect(starts).toEqual([0, 0, 0, 0, 0]);
});

test("after Clarifai throttles, no request starts until its Retry-After has passed", async () => {
  const { clock, starts, mark } = fakeClock();
  const limiter = createRateLimiter(10, clock);
  await limiter.acquire();
  mark();
  limiter.backOff(2_000);
  await limiter.acquire();
  mark();
  expect(starts).toEqual([0, 2_000]);
});

test("a slot past the deadline is refused at once and not kept: the next caller gets it", async () => {
  const { clock, starts, mark } = fakeClock();
  const limiter = createRateLimiter(10, clock);
  expect(await limiter.acquire(0)).toBe(true);
  mark();
  limiter.backOff(5_000);
  // Clarifai asked for 5 s; an invocation with 1 s left neither sleeps nor reserves the slot at 5 s.
  expect(await limiter.acquire(1_000)).toBe(false);
  expect(clock.now()).toBe(0);
  expect(await limiter.acquire()).toBe(true);
  mark();
  expect(await limiter.acquire(5_050)).toBe(false); // the next slot is 5,100
  expect(await limiter.acquire(5_100)).toBe(true);
  mark();
  expect(starts).toEqual([0, 5_000, 5_100]);
});

test("a waiter that woke late pushes the next window out: never more than N starts in any second", async () => {
  // Forty requests queued at once; the third one's timer fires 90 ms late, as a busy event loop's do.
  let now = 0;
  let sleeps = 0;
  const timers: { at: number; resolve: () => void }[] = [];
  const limiter = createRateLimiter(15, {
    now: () => now,
    sleep: (ms) =>
      new Promise<void>((resolve) => {
        sleeps += 1;
        timers.push({ at: now + ms + (sleeps === 3 ? 90 : 0), resolve });
      }),
  });
  const starts: number[] = [];
  const all = Array.from({ length: 40 }, () => limiter.acquire().then(() => starts.push(now)));
  for (;;) {
    await new Promise((r) => setImmediate(r)); // every continuation runs before the clock moves on
    timers.sort((a, b) => a.at - b.at);
    const next = timers.shift();
    if (!next) break;
    now = Math.max(now, next.at);
    next.resolve();
  }
  await Promise.all(all);
  expect(starts).toHaveLength(40);
  for (const start of starts)
    expect(starts.filter((s) => s >= start && s < start + 1000).length).toBeLessThanOrEqual(15);
  // And the pace stays the limit's: forty starts in about 39 / 15 seconds and the late one's delay.
  expect((starts.at(-1) as number) / 1000).toBeLessThan(39 / 15 + 0.1);
});

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

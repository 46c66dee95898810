import { expect, test } from "@jest/globals";
import { runSoak } from "../../local/soak.js";

/**
 * The CI-sized chaos soak: a few hundred events through the real queue, poller and handler (each instance a
 * worker thread that a kill really stops) while the stand-in fails, throttles, drops, delays and partially fails
 * requests, some messages are delivered twice and one invocation is killed mid-batch. Every event must end as its
 * annotations or as a dead letter: none lost, none doubled. The stack's timing is scaled down together (function
 * timeout 5 s, visibility 31 s); Clarifai's 15 requests per second are not, so an invocation keeps room for its
 * requests. Checked with both cores kept busy: the most-received event took 4 to 5 receives of the 10 allowed. `npm run soak` runs the same
 * with 5,000 events (`--cpu-hog` to check it on a busy machine).
 */
test("chaos soak: every event is accounted for, none lost, none duplicated", async () => {
  const tally = await runSoak({ events: 300, invalidShare: 0.1, timeScale: 1 / 12 });

  expect(tally.problems).toEqual([]);
  expect(tally.lost).toBe(0);
  expect(tally.duplicated).toBe(0);
  expect(tally.contentMismatches).toBe(0);
  expect(tally.invalidNotDeadLetteredOnFirstReceive).toBe(0);
  const deadLettered = Object.values(tally.deadLettered).reduce((a, b) => a + b, 0);
  expect(tally.delivered + deadLettered).toBe(tally.sent);
  // The faults really happened, so the accounting above was tested under them.
  expect(tally.retries).toBeGreaterThan(0);
  expect(tally.killedInvocations).toBe(1);
  expect(deadLettered).toBeGreaterThan(0);
}, 240_000);

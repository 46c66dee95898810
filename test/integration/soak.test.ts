import { describe, expect, test } from "@jest/globals";
import { PROFILE_NAMES } from "../../local/clarifai/profiles.js";
import { runSoak } from "../../local/soak.js";

/**
 * The CI-sized chaos soak: a few hundred events through the real queue, poller and handler (each instance a
 * worker thread that a kill really stops) while the stand-in fails, throttles, drops, delays and partially fails
 * requests, some messages are delivered twice and one invocation is killed mid-batch. Every event must end as its
 * annotations or as a dead letter: none lost, none doubled. The stack's timing is scaled down together (function
 * timeout 5 s, visibility 31 s), so nothing here depends on the machine being idle. `npm run soak` runs the same
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

/**
 * The same accounting under every stand-in behaviour profile (whole-request refusals, item states, overwrite that
 * keeps annotation_info, duplicate ids answered 24155 or success, strict paging...): a smaller run each, faults
 * on, no kill (the run above covers it), so no good annotation is dead-lettered and none is doubled under any.
 */
describe.each(PROFILE_NAMES)("chaos soak under the stand-in profile %s", (profile) => {
  test("every event accounted for", async () => {
    const tally = await runSoak({ events: 120, invalidShare: 0.15, timeScale: 1 / 12, kill: false, profile });
    expect(tally.problems).toEqual([]);
    expect(tally.lost).toBe(0);
    expect(tally.duplicated).toBe(0);
    expect(tally.contentMismatches).toBe(0);
    const deadLettered = Object.values(tally.deadLettered).reduce((a, b) => a + b, 0);
    expect(tally.delivered + deadLettered).toBe(tally.sent);
    expect(deadLettered).toBeGreaterThan(0);
  }, 120_000);
});

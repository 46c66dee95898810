import { describe, expect, test } from "@jest/globals";
import { PROFILE_NAMES } from "../../local/clarifai/profiles.js";
import { runSoak } from "../../local/soak.js";

/**
 * The same accounting under every stand-in behaviour profile (whole-request refusals, item states, overwrite that
 * keeps annotation_info, duplicate ids answered 24155 or success, strict paging...): a smaller run each, faults
 * on, no kill (the run above covers it), so no good annotation is dead-lettered and none is doubled under any.
 */
// Each run is its own world (queues, stand-in, handler workers) and spends most of its time waiting for scaled
// visibility timeouts (a third of one core each, measured), so the profiles run side by side: 10 x 12 s became
// the time of the slowest.
describe("chaos soak under each stand-in profile", () => {
  test.concurrent.each(PROFILE_NAMES)(
    "%s: every event accounted for",
    async (profile) => {
      const tally = await runSoak({
        events: 120,
        invalidShare: 0.15,
        timeScale: 1 / 12,
        kill: false,
        profile,
      });
      expect(tally.problems).toEqual([]);
      expect(tally.lost).toBe(0);
      expect(tally.duplicated).toBe(0);
      expect(tally.contentMismatches).toBe(0);
      const deadLettered = Object.values(tally.deadLettered).reduce((a, b) => a + b, 0);
      expect(tally.delivered + deadLettered).toBe(tally.sent);
      expect(deadLettered).toBeGreaterThan(0);
    },
    120_000,
  );
});

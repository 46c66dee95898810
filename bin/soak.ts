import { parseArgs } from "node:util";
import { formatTally, runSoak } from "../local/soak.js";

/** `npm run soak`: the chaos soak with full accounting. Exits 0 only when nothing is lost or doubled. */
const { values } = parseArgs({
  options: {
    events: { type: "string", default: "5000" },
    "invalid-share": { type: "string", default: "0.05" },
    instances: { type: "string", default: "2" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log("Usage: npm run soak -- [--events N (5000)] [--invalid-share F (0.05)] [--instances N (2)]");
  process.exit(0);
}
const tally = await runSoak({
  events: Number(values.events),
  invalidShare: Number(values["invalid-share"]),
  instances: Number(values.instances),
  log: (line) => console.error(line),
});
console.log(`chaos soak\n${formatTally(tally)}`);
for (const problem of tally.problems.slice(0, 20)) console.log(`  problem: ${problem}`);
const ok =
  tally.lost === 0 && tally.duplicated === 0 && tally.contentMismatches === 0 && tally.problems.length === 0;
console.log(ok ? "\nResult: every event accounted for: lost = 0, duplicated = 0" : "\nResult: FAILED");
process.exit(ok ? 0 : 1);

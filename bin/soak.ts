import { parseArgs } from "node:util";
import { formatTally, runSoak } from "../local/soak.js";

/** `npm run soak`: the chaos soak with full accounting. Exits 0 only when nothing is lost or doubled. */
const { values } = parseArgs({
  options: {
    events: { type: "string", default: "5000" },
    "invalid-share": { type: "string", default: "0.05" },
    instances: { type: "string", default: "2" },
    "cpu-hog": { type: "boolean", default: false },
    profile: { type: "string" },
    "time-scale": { type: "string", default: "0.125" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log(
    [
      "Usage: npm run soak -- [options]",
      "  --events N          events to send (5000)",
      "  --invalid-share F   share of invalid or Clarifai-refused events (0.05)",
      "  --instances N       handler instances, each a worker thread stopped for real on a timeout (2)",
      "  --time-scale F      the stack's function timeout, batching window and visibility, scaled (0.125)",
      "  --cpu-hog           keep every core busy with spinning processes while the soak runs",
      "  --profile NAME      the Clarifai stand-in's behaviour profile (default, whole-request, states, ..., harsh)",
    ].join("\n"),
  );
  process.exit(0);
}
const tally = await runSoak({
  events: Number(values.events),
  invalidShare: Number(values["invalid-share"]),
  instances: Number(values.instances),
  timeScale: Number(values["time-scale"]),
  cpuHog: values["cpu-hog"],
  ...(values.profile ? { profile: values.profile } : {}),
  log: (line) => console.error(line),
});
console.log(`chaos soak\n${formatTally(tally)}`);
for (const problem of tally.problems.slice(0, 20)) console.log(`  problem: ${problem}`);
const ok =
  tally.lost === 0 && tally.duplicated === 0 && tally.contentMismatches === 0 && tally.problems.length === 0;
console.log(ok ? "\nResult: every event accounted for: lost = 0, duplicated = 0" : "\nResult: FAILED");
process.exit(ok ? 0 : 1);

import { mkdtemp, readdir, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { buildHandler } from "../bin/build.js";
import { HANDLER_ENTRY, PROJECT_ROOT } from "../lib/bundling.js";
import { runWorkers, startServices } from "./harness.js";
import type { ProfileRow } from "./rows.js";

/**
 * `npm run bench:profile`: where a warm handler's main thread spends its CPU at B=100. Runs the benchmark's
 * direct-mode worker under V8's sampling profiler against the stand-in (in another process), over the handler
 * bundled with the deployed esbuild settings but not minified (so functions keep their names), and prints the
 * functions with the most self time in the second half of the run, each with the source module esbuild took it
 * from. Figures, not assertions; an idle machine gives the clearest picture. `npm run bench` includes its top.
 */

/**
 * Profiles the handler at `batch` over `events` events (direct mode, against a stand-in of its own) and returns
 * the main thread's CPU per event in the second half of the run, with its functions by self time, largest first.
 */
export async function profileHandler(
  events = 20_000,
  batch = 100,
): Promise<{ usPerEvent: number; delivered: number; rows: ProfileRow[] }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "bridge-profile-"));
  // Inside the project, so the bundle resolves the AWS SDK from node_modules as the deployed one does from Lambda's.
  const { file: bundle } = await buildHandler(
    path.join(PROJECT_ROOT, "dist", "profile"),
    HANDLER_ENTRY,
    false,
  );
  const { services, child } = await startServices([]);
  let result: { delivered: number } | undefined;
  try {
    [result] = await runWorkers(
      1,
      [
        ...["--impl", "ours", "--bundle", bundle, "--batch", String(batch)],
        ...["--events", String(events), "--seconds", "120", "--mode", "direct"],
        ...["--services", JSON.stringify(services)],
      ],
      ["--cpu-prof", `--cpu-prof-dir=${dir}`],
    );
  } finally {
    child.kill("SIGTERM");
  }
  if (!result) throw new Error("no worker result");
  const file = (await readdir(dir)).find((f) => f.endsWith(".cpuprofile"));
  if (!file) throw new Error("no profile written");
  const profile = JSON.parse(await readFile(path.join(dir, file), "utf8")) as CpuProfile;
  // The entry and its chunks (code splitting): each file's own module markers.
  const outDir = path.dirname(bundle);
  const byFile = new Map<string, [number, string][]>();
  for (const f of [
    bundle,
    ...(await readdir(path.join(outDir, "chunks")).catch(() => [])).map((c) =>
      path.join(outDir, "chunks", c),
    ),
  ])
    if (f.endsWith(".mjs")) byFile.set(f, moduleLines(await readFile(f, "utf8")));
  const busy = selfTime(profile, 0.5, (url, line) => {
    const file = url.replace(/^file:\/\//, "");
    const modules = byFile.get(file);
    return modules ? moduleAt(modules, line) : url.replace(/^.*node_modules\//, "") || "(native)";
  }).filter((r) => r.fn !== "(idle)" && r.fn !== "(program)");
  const total = busy.reduce((n, r) => n + r.us, 0);
  const measured = result.delivered / 2;
  return {
    usPerEvent: total / measured,
    delivered: result.delivered,
    rows: busy.map((r) => ({ fn: r.fn, where: r.where, usPerEvent: r.us / measured, share: r.us / total })),
  };
}

if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  const { values } = parseArgs({
    options: {
      events: { type: "string", default: "20000" },
      batch: { type: "string", default: "100" },
      top: { type: "string", default: "25" },
    },
  });
  const { usPerEvent, delivered, rows } = await profileHandler(Number(values.events), Number(values.batch));
  console.log(
    `Main thread, second half of ${delivered} events at B=${values.batch}: ${usPerEvent.toFixed(1)} µs per event (profiler included)\n`,
  );
  console.log("µs/event  share  function (module)");
  for (const r of rows.slice(0, Number(values.top)))
    console.log(
      `${r.usPerEvent.toFixed(2).padStart(8)}  ${(r.share * 100).toFixed(1).padStart(4)}%  ${r.fn} (${r.where})`,
    );
}

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time by function over the samples after `fromShare` of the profile's span, largest first. */
function selfTime(p: CpuProfile, fromShare: number, where: (url: string, line: number) => string) {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  let t = 0;
  const times = p.timeDeltas.map((d) => {
    t += d;
    return t;
  });
  const from = t * fromShare;
  const sums = new Map<string, { fn: string; where: string; us: number }>();
  p.samples.forEach((id, i) => {
    if ((times[i] ?? 0) < from) return;
    const frame = byId.get(id)?.callFrame;
    if (!frame) return;
    const fn = frame.functionName || "(anonymous)";
    const at = where(frame.url, frame.lineNumber);
    const key = `${fn}\u0000${at}`;
    const entry = sums.get(key) ?? { fn, where: at, us: 0 };
    entry.us += p.timeDeltas[i + 1] ?? 0;
    sums.set(key, entry);
  });
  return [...sums.values()].sort((a, b) => b.us - a.us);
}

/** esbuild marks each module in an unminified bundle with a `// path` line: [first line, path], in order. */
function moduleLines(text: string): [number, string][] {
  const out: [number, string][] = [];
  text.split("\n").forEach((l, i) => {
    const m = /^\/\/ ((?:lambda|node_modules)\/\S+)$/.exec(l);
    if (m?.[1]) out.push([i, m[1].replace(/^node_modules\//, "")]);
  });
  return out;
}

function moduleAt(modules: [number, string][], line: number): string {
  let found = "(bundle)";
  for (const [start, name] of modules) {
    if (start > line) break;
    found = name;
  }
  return found;
}

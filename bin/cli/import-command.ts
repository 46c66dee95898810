import { stat } from "node:fs/promises";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { createClarifaiClient } from "../../lambda/clarifai/client.js";
import type { AppRef } from "../../lambda/clarifai/to-annotation.js";
import { loadConfig } from "../../lambda/config.js";
import { maskSources } from "../../lambda/delivery/mask-sources.js";
import { createRateLimiter } from "../../lambda/delivery/rate-limiter.js";
import { UsageError } from "./args.js";
import { type ImportCounts, readState, runImport } from "./import.js";
import { directSink, queueSink } from "./import-sinks.js";
import { sourceKind } from "./import-source.js";
import { annotationGroup, loadMapping } from "./send.js";

/** The options `import` reads (bin/cli.ts parses them; help.ts lists them). */
export interface ImportValues {
  readonly source?: string | undefined;
  readonly "queue-url"?: string | undefined;
  readonly direct?: boolean | undefined;
  readonly fresh?: boolean | undefined;
  readonly mapping?: string | undefined;
  readonly project?: string | undefined;
  readonly attribute?: string[] | undefined;
  readonly state?: string | undefined;
  readonly failures?: string | undefined;
  readonly json?: boolean | undefined;
  readonly rate?: string | undefined;
  readonly app?: string | undefined;
  readonly "api-base"?: string | undefined;
}

/** `clarifai-bridge import`: checks its options, picks the path, runs it with progress, prints the summary. */
export async function importCommand(
  values: ImportValues,
  io: { out: (line: string) => void; err: (line: string) => void },
  sqs: () => SQSClient,
  clarifaiTarget: (v: ImportValues) => { key: string; app: AppRef | null; apiBase: string },
): Promise<number> {
  const source = values.source;
  if (!source) throw new UsageError('import needs --source FILE (see "clarifai-bridge import --help")');
  if (values.fresh && !values.direct)
    throw new UsageError('--fresh goes with --direct (see "clarifai-bridge import --help")');
  if (Boolean(values.direct) === Boolean(values["queue-url"]))
    throw new UsageError(
      'import takes one of --queue-url URL and --direct (see "clarifai-bridge import --help")',
    );
  try {
    if (!(await stat(source)).isFile()) throw new UsageError(`--source ${source} is not a file`);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(
      `--source ${source} cannot be read: ${(error as { code?: string }).code ?? "error"}`,
    );
  }
  const project = values.project === undefined ? undefined : Number(values.project);
  if (project !== undefined && !(Number.isSafeInteger(project) && project > 0))
    throw new UsageError("--project takes a Label Studio project id (a whole number)");
  const attributes: Record<string, string> = {};
  for (const pair of values.attribute ?? []) {
    const match = /^([A-Za-z0-9_.-]{1,256})=(.+)$/.exec(pair);
    if (!match) throw new UsageError(`--attribute takes NAME=VALUE, got ${JSON.stringify(pair)}`);
    attributes[match[1] as string] = match[2] as string;
  }
  const rate = values.rate === undefined ? 15 : Number(values.rate);
  if (!(Number.isFinite(rate) && rate > 0)) throw new UsageError("--rate takes a positive number");
  if (values.state) {
    try {
      await readState(values.state);
    } catch (error) {
      throw new UsageError(`--state ${values.state}: ${(error as Error).message}`);
    }
  }
  const mapping = await loadMapping(values.mapping);
  const kind = sourceKind(source);
  let sink: ReturnType<typeof queueSink>;
  let close: () => void = () => undefined;
  if (values.direct) {
    const { key, app, apiBase } = clarifaiTarget(values);
    const config = await loadConfig({
      ...process.env,
      CLARIFAI_PAT: key,
      CLARIFAI_API_BASE: apiBase,
      ...(app ? { CLARIFAI_USER_ID: app.userId, CLARIFAI_APP_ID: app.appId } : {}),
      BRIDGE_MAPPING: JSON.stringify(mapping),
      CLARIFAI_REQUESTS_PER_SECOND: String(rate),
      MAX_RECEIVE_COUNT: process.env.MAX_RECEIVE_COUNT ?? "5",
      // Dead letters are captured in this process (the failures file), never sent: the URL only has to be one.
      DEAD_LETTER_QUEUE_URL: "https://import.invalid/dead-letters",
    });
    const client = createClarifaiClient(config.apiBase, key);
    close = () => client.close();
    sink = directSink({
      config,
      clarifai: client,
      limiter: createRateLimiter(rate),
      masks: maskSources(config),
      ...(values.fresh ? { fresh: true } : {}),
    });
  } else {
    const group = annotationGroup(mapping, attributes);
    sink = queueSink(sqs(), values["queue-url"] as string, attributes, (body) => group({ origin: "", body }));
  }
  const started = Date.now();
  const show = progressView(values.json === true, io, started);
  try {
    const state = await runImport({
      source,
      kind,
      ...(project !== undefined ? { project } : {}),
      mapping,
      attributes,
      sink,
      ...(values.state ? { statePath: values.state } : {}),
      ...(values.failures ? { failuresPath: values.failures } : {}),
      onProgress: show,
    });
    const c = state.counts;
    if (values.json) io.out(JSON.stringify({ summary: true, ...c, seconds: (Date.now() - started) / 1000 }));
    else {
      io.out(
        `imported ${c.sent} of ${c.read} items (${c.annotations} annotations) ${values.direct ? "to Clarifai" : "onto the queue"}; ${c.failed} not delivered${c.failed > 0 && values.failures ? ` (see ${values.failures})` : ""}`,
      );
      for (const [who, n] of Object.entries(c.byLabeler).sort((a, b) => b[1] - a[1]))
        io.out(`  ${who}: ${n} annotations`);
    }
    return c.failed > 0 ? 1 : 0;
  } finally {
    close();
  }
}

/**
 * Progress: a line redrawn on a terminal (items read and sent, annotations and their rate, failures, the ETA from
 * how far through the file the reading is), a JSON line per batch with --json, else a plain line every 10 s.
 */
function progressView(json: boolean, io: { out: (line: string) => void }, started: number) {
  let lastPlain = 0;
  return (c: ImportCounts, done: boolean, fraction: number) => {
    const seconds = Math.max(0.001, (Date.now() - started) / 1000);
    const rate = c.annotations / seconds;
    const eta = !done && fraction > 0.01 ? Math.round((seconds * (1 - fraction)) / fraction) : undefined;
    if (json) {
      io.out(
        JSON.stringify({
          read: c.read,
          sent: c.sent,
          annotations: c.annotations,
          failed: c.failed,
          annotationsPerSecond: Math.round(rate),
          seconds: Math.round(seconds),
          ...(eta !== undefined ? { etaSeconds: eta } : {}),
          done,
        }),
      );
      return;
    }
    const left = eta === undefined ? "" : `, ${Math.round(fraction * 100)}% read, about ${clock(eta)} left`;
    const line = `read ${c.read}, sent ${c.sent}, annotations ${c.annotations} (${Math.round(rate)}/s), not delivered ${c.failed}${left}`;
    if (process.stderr.isTTY) process.stderr.write(`\r${line}\u001b[K${done ? "\n" : ""}`);
    else if (done || Date.now() - lastPlain > 10_000) {
      lastPlain = Date.now();
      process.stderr.write(`${line}\n`);
    }
  };
}

/** Seconds as 1h02m, 3m05s or 42s. */
const clock = (s: number) =>
  s >= 3600
    ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`
    : s >= 60
      ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`
      : `${s}s`;

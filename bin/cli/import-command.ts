import { stat } from "node:fs/promises";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { createClarifaiClient } from "../../lambda/clarifai/client.js";
import type { AppRef } from "../../lambda/clarifai/to-annotation.js";
import { loadConfig } from "../../lambda/config.js";
import { maskSources } from "../../lambda/delivery/mask-sources.js";
import { createRateLimiter } from "../../lambda/delivery/rate-limiter.js";
import { secureOrLoopback } from "../../lambda/loopback.js";
import { createJsonGetter } from "../../lambda/pull/edges.js";
import { UsageError } from "./args.js";
import { type ImportCounts, readState, runImport } from "./import.js";
import { directSink, queueSink } from "./import-sinks.js";
import { isFileKind, type RemoteSource, type SourceKind, sourceKind } from "./import-source.js";
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
  readonly "tool-url"?: string | undefined;
  readonly "s3-endpoint"?: string | undefined;
}

/** `clarifai-bridge import`: checks its options, picks the path, runs it with progress, prints the summary. */
export async function importCommand(
  values: ImportValues,
  io: { out: (line: string) => void; err: (line: string) => void },
  sqs: () => SQSClient,
  clarifaiTarget: (v: ImportValues) => { key: string; app: AppRef | null; apiBase: string },
): Promise<number> {
  const source = values.source;
  if (!source) throw new UsageError('import needs --source SOURCE (see "clarifai-bridge import --help")');
  if (values.fresh && !values.direct)
    throw new UsageError('--fresh goes with --direct (see "clarifai-bridge import --help")');
  if (Boolean(values.direct) === Boolean(values["queue-url"]))
    throw new UsageError(
      'import takes one of --queue-url URL and --direct (see "clarifai-bridge import --help")',
    );
  const kind = sourceKind(source);
  const remote = await remoteOf(source, kind, values);
  if (isFileKind(kind))
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
      ...(values["s3-endpoint"] ? { AWS_ENDPOINT_URL_S3: values["s3-endpoint"] } : {}),
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
      remote,
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

/**
 * Where a source that is not a file is read: a tool's API (`--tool-url`, https or this machine only: the token
 * goes with every request; the token from LABEL_STUDIO_TOKEN or CVAT_TOKEN), or S3 (`--s3-endpoint` for a local
 * one). Usage errors name what is missing.
 */
async function remoteOf(source: string, kind: SourceKind, values: ImportValues): Promise<RemoteSource> {
  if (kind === "s3-lines") {
    if (!/^s3:\/\/[^/]+\/.+$/.test(source)) throw new UsageError(`--source ${source}: give s3://BUCKET/KEY`);
    return values["s3-endpoint"] ? { s3Endpoint: values["s3-endpoint"] } : {};
  }
  if (kind !== "label-studio-api" && kind !== "cvat-api") return {};
  const tool = kind === "cvat-api" ? "cvat" : "label-studio";
  const toolUrl = values["tool-url"];
  if (!toolUrl) throw new UsageError(`--source ${source} needs --tool-url (the ${tool} server)`);
  let url: URL;
  try {
    url = new URL(toolUrl);
  } catch {
    throw new UsageError(`--tool-url ${toolUrl} is not a URL`);
  }
  if (!secureOrLoopback(url))
    throw new UsageError(
      "--tool-url must be https:// (http:// only to this machine: localhost, 127.0.0.1, [::1]); the token travels with every request",
    );
  const variable = kind === "cvat-api" ? "CVAT_TOKEN" : "LABEL_STUDIO_TOKEN";
  const token = process.env[variable]?.trim();
  if (!token)
    throw new UsageError(`--source ${source}: the ${tool} token comes from ${variable}: set it first`);
  return { toolUrl, token, getJson: createJsonGetter(5, 20_000) };
}

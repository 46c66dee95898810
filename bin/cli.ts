// Over 300 lines: the CLI's entry: argument parsing and dispatch for every command; each command is a file in bin/cli/.
import { listTaskAnnotations } from "../lambda/audit/read-clarifai.js";
import { workReport } from "../lambda/audit/work.js";
import { clarifaiCall, createClarifaiClient } from "../lambda/clarifai/client.js";
import { fetchMasks, LABELBOX_KEY_ORIGINS } from "../lambda/delivery/fetch-masks.js";
import { lazyS3Reader } from "../lambda/delivery/mask-sources.js";
import { createRateLimiter } from "../lambda/delivery/rate-limiter.js";
import { parseCommandLine, UsageError } from "./cli/args.js";
import { formatAudit, formatWork, runAudit } from "./cli/audit.js";
import { readSource, SourceUsageError } from "./cli/audit-source.js";
import { listDeadLetters, type RedriveResult, redriveByCopy, redriveWithMoveTask } from "./cli/dlq.js";
import { DOCTOR_EXIT, formatReport, runDoctor } from "./cli/doctor.js";
import { HELP } from "./cli/help.js";
import { importCommand } from "./cli/import-command.js";
import { createProgress, progressCallback } from "./cli/progress.js";
import {
  annotationGroup,
  loadMapping,
  readBodies,
  readStdin,
  sendBodies,
  validateFiles,
} from "./cli/send.js";
import { queueArn, sqsClient } from "./cli/sqs-client.js";

/** The operator CLI: `npm run cli -- <command>`. Works against AWS, or a local queue with --endpoint. */

/** Every option some command takes; which command takes which is its help's business (cli/args.ts). */
const OPTIONS = {
  "queue-url": { type: "string" },
  "dlq-url": { type: "string" },
  endpoint: { type: "string" },
  region: { type: "string" },
  filter: { type: "string" },
  max: { type: "string" },
  json: { type: "boolean", default: false },
  "dry-run": { type: "boolean", default: false },
  mapping: { type: "string" },
  task: { type: "string" },
  input: { type: "string" },
  "video-input": { type: "string" },
  "text-input": { type: "string" },
  app: { type: "string" },
  "api-base": { type: "string" },
  "task-link": { type: "string" },
  since: { type: "string" },
  source: { type: "string" },
  "tool-url": { type: "string" },
  rate: { type: "string" },
  "max-pages": { type: "string" },
  repair: { type: "boolean", default: false },
  "delete-extra": { type: "boolean", default: false },
  "s3-endpoint": { type: "string" },
  attribute: { type: "string", multiple: true },
  direct: { type: "boolean", default: false },
  fresh: { type: "boolean", default: false },
  state: { type: "string" },
  failures: { type: "string" },
  project: { type: "string" },
  help: { type: "boolean", short: "h", default: false },
} as const;

export async function main(argv: string[], io = { out: console.log, err: console.error }): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, OPTIONS);
  const [command, sub, ...rest] = positionals;
  const name = command === "dlq" && sub ? `dlq ${sub}` : (command ?? "main");
  if (values.help || !command) {
    io.out(HELP[name] ?? HELP.main);
    return command || values.help ? 0 : 2;
  }
  const need = (key: "queue-url" | "dlq-url") => {
    const v = values[key];
    if (!v) throw new UsageError(`--${key} is required (see "clarifai-bridge ${name} --help")`);
    return v;
  };
  const max = values.max === undefined ? undefined : Number(values.max);
  if (max !== undefined && !(Number.isInteger(max) && max > 0))
    throw new UsageError("--max must be a positive integer");
  const sqs = () => sqsClient(values.endpoint, values.region);

  switch (name) {
    case "send": {
      const source = sub;
      if (!source || rest.length > 0)
        throw new UsageError('send takes one <file|dir|-> (see "clarifai-bridge send --help")');
      const queueUrl = values["dry-run"] ? "" : need("queue-url");
      const attributes: Record<string, string> = {};
      for (const pair of values.attribute ?? []) {
        const match = /^([A-Za-z0-9_.-]{1,256})=(.+)$/.exec(pair);
        if (!match) throw new UsageError(`--attribute takes NAME=VALUE, got ${JSON.stringify(pair)}`);
        attributes[match[1] as string] = match[2] as string;
      }
      const byFile = await readBodies(source, readStdin);
      const mapping = await loadMapping(values.mapping);
      const { valid, problems, filesUnchecked } = validateFiles(byFile, mapping, attributes);
      for (const p of problems) io.err(`invalid  ${p.origin}: ${p.reason}`);
      for (const origin of filesUnchecked)
        io.out(`masks in files  ${origin}: checked but its mask files, which the handler fetches`);
      if (values["dry-run"]) {
        io.out(`${valid.length} valid, ${problems.length} invalid (dry run: nothing sent)`);
        return problems.length > 0 ? 1 : 0;
      }
      const failed = await sendBodies(
        sqs(),
        queueUrl,
        valid,
        createProgress("sent"),
        annotationGroup(mapping, attributes),
        attributes,
      );
      for (const f of failed) io.err(`not sent ${f.origin}: ${f.reason}`);
      const total = [...byFile.values()].reduce((n, bodies) => n + bodies.length, 0);
      const heldBack = total - valid.length - problems.length;
      io.out(
        `sent ${valid.length - failed.length} of ${total} events; ${problems.length} invalid` +
          `${heldBack ? `, ${heldBack} held back with their file` : ""}, ${failed.length} refused by SQS`,
      );
      return problems.length + failed.length > 0 ? 1 : 0;
    }
    case "import":
      if (sub !== undefined)
        throw new UsageError(
          'import takes no positional arguments: --source SOURCE (see "clarifai-bridge import --help")',
        );
      return importCommand(values, io, sqs, clarifaiTarget);
    case "dlq list": {
      const views = await listDeadLetters(sqs(), need("dlq-url"), max ?? 100);
      if (values.json) for (const v of views) io.out(JSON.stringify(v));
      else {
        io.out(
          `${"age".padStart(8)}  ${"errorCode".padEnd(26)} ${"task".padEnd(22)} ${"input".padEnd(22)} reason`,
        );
        for (const v of views) {
          io.out(
            `${formatAge(v.ageSeconds).padStart(8)}  ${v.errorCode.padEnd(26)} ${v.taskId.padEnd(22)} ${v.inputId.padEnd(22)} ${v.reason}`,
          );
        }
        io.out(`${views.length} dead-lettered message(s)`);
      }
      return 0;
    }
    case "dlq redrive": {
      const dlqUrl = need("dlq-url");
      const queueUrl = need("queue-url");
      const client = sqs();
      const local = Boolean(values.endpoint ?? process.env.AWS_ENDPOINT_URL_SQS);
      if (!local && !values.filter && max === undefined) {
        const handle = await redriveWithMoveTask(
          client,
          await queueArn(client, dlqUrl),
          await queueArn(client, queueUrl),
        );
        io.out(`started an SQS message move task to ${queueUrl} (task handle ${handle})`);
        return 0;
      }
      const abort = new AbortController();
      const stop = () => abort.abort();
      process.once("SIGINT", stop);
      try {
        const result = await redriveByCopy(client, {
          dlqUrl,
          queueUrl,
          ...(values.filter ? { filter: values.filter } : {}),
          ...(max !== undefined ? { max } : {}),
          signal: abort.signal,
          progress: createProgress("moved"),
        });
        io.out(redriveSummary(result, queueUrl, abort.signal.aborted));
      } finally {
        process.off("SIGINT", stop);
      }
      return 0;
    }
    case "doctor": {
      const { key, app, apiBase } = clarifaiTarget(values);
      const taskId = values.task;
      const inputId = values.input;
      if (!taskId || !inputId)
        throw new UsageError('doctor needs --task and --input (see "clarifai-bridge doctor --help")');
      const taskLink = values["task-link"] ?? process.env.CLARIFAI_TASK_LINK ?? "both";
      if (taskLink !== "both" && taskLink !== "task_id" && taskLink !== "annotation_info")
        throw new UsageError("--task-link takes both, task_id or annotation_info");
      const report = await runDoctor({
        client: createClarifaiClient(apiBase, key),
        call: clarifaiCall(apiBase, key),
        app,
        taskId,
        inputId,
        ...(values["video-input"] ? { videoInputId: values["video-input"] } : {}),
        ...(values["text-input"] ? { textInputId: values["text-input"] } : {}),
        taskLink,
      });
      if (values.json) io.out(JSON.stringify(report));
      else for (const line of formatReport(report)) io.out(line);
      return DOCTOR_EXIT[report.verdict];
    }
    case "work": {
      const { key, app, apiBase } = clarifaiTarget(values);
      const taskId = values.task;
      if (!taskId) throw new UsageError('work needs --task (see "clarifai-bridge work --help")');
      if (values.since !== undefined && Number.isNaN(Date.parse(values.since)))
        throw new UsageError("--since takes an ISO time, e.g. 2026-12-01T00:00:00Z");
      const listing = await listTaskAnnotations(createClarifaiClient(apiBase, key), app, taskId, {
        limiter: createRateLimiter(positive(values.rate, "--rate", 3)),
        maxPages: positive(values["max-pages"], "--max-pages", 2000),
        onPage: progressCallback("annotations read"),
      });
      const rows = workReport(listing.annotations, values.since);
      if (values.json) io.out(JSON.stringify({ taskId, complete: listing.complete, workers: rows }));
      else for (const line of formatWork(taskId, rows, listing)) io.out(line);
      return listing.complete ? 0 : 1;
    }
    case "audit": {
      const { key, app, apiBase } = clarifaiTarget(values);
      const taskId = values.task;
      const source = values.source;
      if (!taskId || !source)
        throw new UsageError('audit needs --task and --source (see "clarifai-bridge audit --help")');
      if (values.repair && !values["queue-url"]) throw new UsageError("--repair needs --queue-url");
      const mapping = await loadMapping(values.mapping);
      const maxPages = positive(values["max-pages"], "--max-pages", 2000);
      const client = createClarifaiClient(apiBase, key);
      const outcome = await runAudit({
        taskId,
        app,
        client,
        limiter: createRateLimiter(positive(values.rate, "--rate", 3)),
        parse: { taskLink: "both", defaultApp: app, upstream: mapping },
        readSource: () =>
          readSource(source, values["tool-url"], maxPages, values.attribute ?? [], values["s3-endpoint"]),
        maxPages,
        sqs,
        ...(values["dlq-url"] ? { dlqUrl: values["dlq-url"] } : {}),
        ...(values.repair ? { repair: { queueUrl: values["queue-url"] as string } } : {}),
        deleteExtra: values["delete-extra"],
        progress: createProgress,
        // Masks kept in files are read as the handler reads them: the Labelbox key from LABELBOX_API_KEY (sent only
        // to LABELBOX_API_ORIGIN, Labelbox's API unless set), S3 with the AWS SDK's credentials.
        fetchMasks: (refs) =>
          fetchMasks(refs, {
            keyFor: async (tool) =>
              tool === "labelbox" ? process.env.LABELBOX_API_KEY?.trim() || undefined : undefined,
            s3Object: lazyS3Reader(values["s3-endpoint"]),
            keyOrigins: process.env.LABELBOX_API_ORIGIN?.trim()
              ? [new URL(process.env.LABELBOX_API_ORIGIN.trim()).origin]
              : LABELBOX_KEY_ORIGINS,
          }),
      });
      client.close();
      if (values.json) io.out(JSON.stringify(outcome));
      else for (const line of formatAudit(outcome)) io.out(line);
      const t = outcome.report.totals;
      return t.missing + t.stale + t.extra === 0 && outcome.complete.tool && outcome.complete.clarifai
        ? 0
        : 1;
    }
    default:
      throw new UsageError(`unknown command "${name}"`);
  }
}

/** Clarifai's key (CLARIFAI_PAT only: options show in process lists), app and API base. */
function clarifaiTarget(values: { app?: string | undefined; "api-base"?: string | undefined }) {
  const key = process.env.CLARIFAI_PAT?.trim();
  if (!key) throw new UsageError("the Clarifai key comes from CLARIFAI_PAT: set it first");
  const appText =
    values.app ??
    (process.env.CLARIFAI_USER_ID && process.env.CLARIFAI_APP_ID
      ? `${process.env.CLARIFAI_USER_ID}/${process.env.CLARIFAI_APP_ID}`
      : undefined);
  const appMatch = appText === undefined ? undefined : /^([A-Za-z0-9_-]+)\/([A-Za-z0-9_-]+)$/.exec(appText);
  if (appText !== undefined && !appMatch)
    throw new UsageError("--app takes USER/APP (letters, digits, _ and -)");
  const apiBase = (values["api-base"] ?? process.env.CLARIFAI_API_BASE ?? "https://api.clarifai.com").replace(
    /\/+$/,
    "",
  );
  const app = appMatch ? { userId: appMatch[1] as string, appId: appMatch[2] as string } : null;
  return { key, app, apiBase };
}

function positive(text: string | undefined, option: string, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!(Number.isFinite(n) && n > 0)) throw new UsageError(`${option} takes a positive number`);
  return n;
}

/** One line: what moved, what came back dead-lettered again, what was left and why. */
export function redriveSummary(r: RedriveResult, queueUrl: string, stopped: boolean): string {
  const parts = [`moved ${r.moved} message(s) to ${queueUrl}`];
  if (r.cameBack > 0)
    parts.push(`${r.cameBack} of them came back dead-lettered again while the redrive ran (left in the DLQ)`);
  if (r.skipped > 0) parts.push(`${r.skipped} left in the DLQ (filter or --max)`);
  if (r.startedWith === 0) parts.push("the DLQ held no messages when the redrive started");
  return `${parts.join("; ")}${stopped ? " (stopped early)" : ""}`;
}

function formatAge(seconds: number): string {
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)}h`;
  return `${Math.round(seconds / 86_400)}d`;
}

/** Runs a command and turns errors into messages and exit codes: 2 for usage errors, 1 for failures. */
export async function runCli(argv: string[]): Promise<number> {
  try {
    return await main(argv);
  } catch (error) {
    if (error instanceof UsageError || error instanceof SourceUsageError) {
      console.error(`error: ${error.message}`);
      return 2;
    }
    console.error(`error: ${(error as Error).message ?? String(error)}`);
    return 1;
  }
}

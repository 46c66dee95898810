import { parseArgs } from "node:util";
import { listTaskAnnotations } from "../lambda/audit/read-clarifai.js";
import { readCvatTask, readLabelStudioProject, type SourceRead } from "../lambda/audit/sources.js";
import { workReport } from "../lambda/audit/work.js";
import { clarifaiCall, createClarifaiClient } from "../lambda/clarifai/client.js";
import { createRateLimiter } from "../lambda/delivery/rate-limiter.js";
import { createJsonGetter } from "../lambda/pull/edges.js";
import { formatAudit, formatWork, runAudit } from "./cli/audit.js";
import { listDeadLetters, type RedriveResult, redriveByCopy, redriveWithMoveTask } from "./cli/dlq.js";
import { DOCTOR_EXIT, formatReport, runDoctor } from "./cli/doctor.js";
import { createProgress } from "./cli/progress.js";
import { annotationGroup, loadMapping, readBodies, sendBodies, validateFiles } from "./cli/send.js";
import { queueArn, sqsClient } from "./cli/sqs-client.js";

/** The operator CLI: `npm run cli -- <command>`. Works against AWS, or a local queue with --endpoint. */
const COMMON = `Common options:
  --endpoint URL   an SQS-compatible endpoint (default: AWS, or AWS_ENDPOINT_URL_SQS)
  --region NAME    AWS region (default: the SDK's usual lookup)
  -h, --help       this help`;

const HELP: Record<string, string> = {
  main: `Usage: clarifai-bridge <command> [options]

Commands:
  send <file|dir|->      validate labeling events with the Lambda's own rules, then send them to the queue
  dlq list               show dead-lettered messages (reason, error code, task, input, age) without consuming them
  dlq redrive            move dead-lettered messages back to the source queue
  doctor                 probe the real Clarifai with your key before going live: scopes, and how it answers
                         where its docs are silent (which stand-in profile it matches), safe or not
  work                   a Clarifai task's annotations per worker: by status, newest, upstream labelers
  audit                  the tool's work against Clarifai's, per labeler: missing, stale, extra, and what
                         waits in the dead-letter queue; --repair queues what is missing or stale

Run "clarifai-bridge <command> --help" for a command's options.`,
  send: `Usage: clarifai-bridge send <file|dir|-> --queue-url URL [options]

Validates every event first (same schema as the Lambda). A file with any invalid event is reported and nothing
from it is sent. A .json file is one event; a .jsonl file or "-" (standard input) is one event per line.

  --queue-url URL  the source queue (the stack's QueueUrl output)
  --mapping FILE   the upstream mapping the Lambda uses (default: BRIDGE_MAPPING), for Label Studio,
                   Labelbox and Ground Truth payloads
  --attribute K=V  a message attribute on every message (repeatable), as the webhook ingress sets them:
                   format=labelbox, labelbox-event=LABEL_DELETED, ...
  --dry-run        validate only
${COMMON}`,
  "dlq list": `Usage: clarifai-bridge dlq list --dlq-url URL [--max N] [--json]

Peeks at dead letters: receives them briefly, then makes them visible again, so nothing is consumed.

  --dlq-url URL    the dead-letter queue (the stack's DeadLetterQueueUrl output)
  --max N          at most N messages (default 100)
  --json           one JSON object per line instead of a table
${COMMON}`,
  "dlq redrive": `Usage: clarifai-bridge dlq redrive --dlq-url URL --queue-url URL [--filter reason=TEXT|errorCode=CODE] [--max N]

Moves dead letters back to the source queue. On AWS without a filter it starts SQS's own message move task,
naming the source queue as destination. Otherwise (a filter, or a local endpoint without move tasks) it
receives, sends, then deletes, ten at a time: nothing is lost if it stops, and Ctrl-C stops between batches.
It moves only what the DLQ held when it started: a moved message that fails again comes back to the DLQ and
stays there (counted in the summary), so the redrive ends even while the handler keeps refusing them.

  --dlq-url URL    the dead-letter queue
  --queue-url URL  the source queue to move the messages to
  --filter F       only messages whose reason contains TEXT, or whose errorCode is CODE
  --max N          at most N messages
${COMMON}`,
  doctor: `Usage: CLARIFAI_PAT=... clarifai-bridge doctor --task TASK --input INPUT [--app USER/APP] [options]

Run once with the real key before "cdk deploy". Checks that the key reaches the app and may create, patch, list
and delete annotations and read the task, then probes each behaviour Clarifai's docs leave open with
annotations whose ids start "cab-doctor-" (deleted again afterwards, whatever happens), and prints what
Clarifai answered, the stand-in profile that matches, and whether the bridge's configuration is safe with it.
Each probe states its premise (for a refusal probe: that something was refused); a probe whose premise did not
happen proves nothing and its row says "inconclusive". Exit 0: safe; 1: not safe; 3: safe where proved, some
rows inconclusive (2: usage error). The key comes from CLARIFAI_PAT (never an option: options show in process
lists).

  --task TASK        an existing Clarifai task id the bridge will link annotations to
  --input INPUT      an existing image input the probes may annotate (boxes, points, keypoints, a mask)
  --video-input ID   a video input, to probe video frames (not probed without it)
  --text-input ID    a text input, to probe text spans (not probed without it)
  --app USER/APP     the app (default CLARIFAI_USER_ID/CLARIFAI_APP_ID; neither for an app-scoped key)
  --api-base URL     default CLARIFAI_API_BASE, else https://api.clarifai.com
  --task-link MODE   the bridge's CLARIFAI_TASK_LINK: both (default), task_id or annotation_info
  --json             the report as JSON
  -h, --help         this help`,
  work: `Usage: CLARIFAI_PAT=... clarifai-bridge work --task TASK [--app USER/APP] [--since TIME] [--json]

Reads the task's annotations from Clarifai (ListAnnotations by task, 128 a page, at --rate requests a second) and
prints, per worker, how many are in each status (success, awaiting review, awaiting consensus, pending, review
denied), the newest annotation's time, and the upstream labelers the bridge recorded in annotation_info.
Key scope: Annotations_Get (the key comes from CLARIFAI_PAT, never an option).

  --task TASK       the Clarifai task
  --since TIME      only annotations modified at or after this ISO time
  --app USER/APP    the app (default CLARIFAI_USER_ID/CLARIFAI_APP_ID; neither for an app-scoped key)
  --api-base URL    default CLARIFAI_API_BASE, else https://api.clarifai.com
  --rate N          Clarifai requests per second (default 3: the bridge shares Clarifai's 15 a second)
  --max-pages N     stop after N pages (default 2000)
  --json            the rows as JSON
  -h, --help        this help`,
  audit: `Usage: CLARIFAI_PAT=... clarifai-bridge audit --task TASK --source TOOL:ID --mapping FILE [options]

Compares what the labeling tool holds with what the Clarifai task holds, by the bridge's derived ids, per
labeler: in the tool, in Clarifai, missing (never reached Clarifai, or deleted there), stale (Clarifai holds an
older version), extra (the bridge's annotation from this project that the tool no longer holds). The tool's
current state goes through the bridge's own adapters and mapping, so the ids are the ones delivery derives.

Sources:
  label-studio:PROJECT  Label Studio's tasks of a project (--tool-url; token from LABEL_STUDIO_TOKEN)
  cvat:TASK             the jobs of a CVAT task, as the puller reads them (--tool-url; token from CVAT_TOKEN)
  file:PATH             message bodies in a file or folder (.json; .jsonl and .manifest one per line: a Ground
                        Truth output manifest, Scale callbacks, canonical events), or in S3 (file:s3://BUCKET/KEY,
                        with the AWS SDK's credentials; --s3-endpoint for a local S3), with --attribute
                        format=... where the shape is not enough

  --task TASK          the Clarifai task the mapping sends the project to
  --mapping FILE       the bridge's mapping (default BRIDGE_MAPPING)
  --tool-url URL       the Label Studio or CVAT server
  --dlq-url URL        also read the dead-letter queue (peeked, not consumed): missing items waiting there
                       are shown with the dead letter's reason
  --repair             queue the tool's current body of each missing or stale annotation (needs --queue-url);
                       running it again queues nothing once the bridge has delivered them
  --delete-extra       delete the extras from Clarifai (only after the tool was read to the end)
  --queue-url URL      the bridge's source queue, for --repair
  --app, --api-base, --rate, --max-pages, --json   as for "work"
  --endpoint, --region                              the SQS endpoint and region, as for "dlq"
Key scopes: Annotations_Get (and Annotations_Delete with --delete-extra). Tokens are read from the environment,
never printed.`,
};

export async function main(argv: string[], io = { out: console.log, err: console.error }): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
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
      help: { type: "boolean", short: "h", default: false },
    },
  });
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
      const { valid, problems } = validateFiles(byFile, mapping, attributes);
      for (const p of problems) io.err(`invalid  ${p.origin}: ${p.reason}`);
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
        onPage: progressOf("annotations read"),
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

function progressOf(label: string): (n: number) => void {
  const progress = createProgress(label);
  return (n) => progress.update(n);
}

/** A JSON-lines object in S3 (a Ground Truth output manifest where the labeling job wrote it). */
async function readS3Lines(
  url: string,
  endpoint?: string,
): Promise<Map<string, { origin: string; body: string }[]>> {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(url);
  if (!match) throw new UsageError("file:s3:// takes s3://BUCKET/KEY");
  const { GetObjectCommand, S3Client } = await import("@aws-sdk/client-s3");
  const s3 = new S3Client(endpoint ? { endpoint, forcePathStyle: true } : {});
  try {
    const answer = await s3.send(new GetObjectCommand({ Bucket: match[1], Key: match[2] }));
    const text = (await answer.Body?.transformToString("utf8")) ?? "";
    const lines = text
      .split("\n")
      .map((line, i) => ({ origin: `${url}:${i + 1}`, body: line.trim() }))
      .filter((b) => b.body.length > 0);
    return new Map([[url, lines]]);
  } finally {
    s3.destroy();
  }
}

/** The audit's source: `label-studio:PROJECT`, `cvat:TASK` (tokens from the environment) or `file:PATH`. */
async function readSource(
  source: string,
  toolUrl: string | undefined,
  maxPages: number,
  attributes: readonly string[],
  endpoint?: string,
): Promise<SourceRead> {
  const match = /^(label-studio|cvat|file):(.+)$/.exec(source);
  if (!match) throw new UsageError("--source takes label-studio:PROJECT, cvat:TASK or file:PATH");
  const [, tool, id] = match as unknown as [string, string, string];
  if (tool === "file") {
    const format = attributes.map((a) => /^format=(.+)$/.exec(a)?.[1]).find((f) => f !== undefined);
    const byFile = id.startsWith("s3://") ? await readS3Lines(id, endpoint) : await readBodies(id, readStdin);
    const bodies = [...byFile.values()].flat().map((b) => ({
      body: b.body,
      origin: b.origin,
      groupId: "default",
      ...(format ? { format } : {}),
    }));
    return { bodies, scope: "", complete: true, read: bodies.length, refused: [] };
  }
  if (!/^\d{1,12}$/.test(id)) throw new UsageError(`--source ${tool}: the id is a number`);
  if (!toolUrl) throw new UsageError(`--source ${tool} needs --tool-url`);
  const variable = tool === "cvat" ? "CVAT_TOKEN" : "LABEL_STUDIO_TOKEN";
  const token = process.env[variable]?.trim();
  if (!token) throw new UsageError(`the ${tool} token comes from ${variable}: set it first`);
  const options = {
    getJson: createJsonGetter(5, 20_000),
    token,
    maxPages,
    onProgress: progressOf(`${tool} read`),
  };
  return tool === "cvat"
    ? readCvatTask(toolUrl, Number(id), options)
    : readLabelStudioProject(toolUrl, Number(id), options);
}

class UsageError extends Error {}

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

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** Runs a command and turns errors into messages and exit codes: 2 for usage errors, 1 for failures. */
export async function runCli(argv: string[]): Promise<number> {
  try {
    return await main(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`error: ${error.message}`);
      return 2;
    }
    console.error(`error: ${(error as Error).message ?? String(error)}`);
    return 1;
  }
}

import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { auditDemo, auditDemoClean, formatAuditDemo } from "./audit-demo.js";
import { LOCAL_APP, LOCAL_PAT, LOCAL_USER } from "./environment.js";
import {
  buildReport,
  compareWithExpected,
  drainQueue,
  formatReport,
  type LocalRun,
  readExampleBodies,
  readTasks,
  sendExamples,
  startLocalRun,
} from "./local-run.js";
import { startLocalWebhook } from "./local-webhook.js";
import type { InvokeInfo } from "./poller.js";
import { formatRecovered, LABEL_STUDIO_TOKEN, recoverLostWebhook } from "./pull-demo.js";
import { startUpstreamApis } from "./upstream-apis.js";

const HELP = `Usage: npm start -- [options]

Runs the bridge locally: an embedded SQS-compatible server with a source queue and a dead-letter queue, the
Clarifai stand-in, and the real Lambda handler behind a Lambda-style poller. Sends the example events, waits
until the queue drains, prints a report, and exits 0 when the run matched examples/expected.json.

Options:
  --events DIR     folder of events to send, one JSON body per file (default: examples/events)
  --real           send to the real Clarifai (needs CLARIFAI_PAT, CLARIFAI_USER_ID, CLARIFAI_APP_ID)
  --stand-in       use the stand-in even when CLARIFAI_PAT is set
  --watch          keep running on a fixed port and print each batch; send your own events meanwhile
  --port N         SQS port for --watch (default 4566)
  --webhook        also serve the webhook ingress over HTTP on loopback (implies --watch), so a local Label
                   Studio or a curl can post to it; the secret is WEBHOOK_SECRETS, or one generated and printed
  --webhook-port N port for --webhook (default 8787)
  --verbose        show the handler's JSON logs and metrics
  -h, --help       show this help`;

/** A start-up failure as one line that names the cause, and exit 2: no stack trace for a typo or a busy port. */
function fail(message: string): never {
  console.error(`error: ${message}`);
  process.exit(2);
}

let parsed: ReturnType<typeof parseOptions>;
try {
  parsed = parseOptions();
} catch (error) {
  fail(`${(error as Error).message} (see npm start -- --help)`);
}
const { values } = parsed;

function parseOptions() {
  return parseArgs({
    options: {
      events: { type: "string", default: "examples/events" },
      real: { type: "boolean", default: false },
      "stand-in": { type: "boolean", default: false },
      watch: { type: "boolean", default: false },
      port: { type: "string", default: "4566" },
      webhook: { type: "boolean", default: false },
      "webhook-port": { type: "string", default: "8787" },
      verbose: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
}

if (values.help) {
  console.log(HELP);
  process.exit(0);
}
if (values.webhook) values.watch = true;

// With a personal access token in the environment the same command talks to the real Clarifai, unless told not to.
const realClarifai = values.real || (Boolean(process.env.CLARIFAI_PAT) && !values["stand-in"]);
const startedAt = Date.now();
for (const [name, value] of [
  ["--port", values.port],
  ["--webhook-port", values["webhook-port"]],
] as const)
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65_535)
    fail(`${name} takes a port number, got ${JSON.stringify(value)}`);
if (!values.watch && !existsSync(values.events)) fail(`--events ${values.events}: no such folder`);
const tasksFile = path.join(values.events, "..", "tasks.json");
let run: LocalRun;
try {
  run = await startLocalRun({
    realClarifai,
    verbose: values.verbose,
    ...(existsSync(tasksFile) ? { tasks: readTasks(tasksFile) } : {}),
    ...(values.watch ? { sqsPort: Number(values.port), throttleFirstCall: false } : {}),
    onInvoke: (i) => {
      if (values.watch) console.log(batchLine(i));
    },
  });
} catch (error) {
  const e = error as NodeJS.ErrnoException;
  fail(
    e.code === "EADDRINUSE"
      ? `port ${values.port} is in use (another "npm start -- --watch"?): choose another with --port`
      : e.message,
  );
}

/** One line per batch in watch mode: what was delivered, dead-lettered (with why) and retried. */
function batchLine(i: InvokeInfo): string {
  const ids = new Set(i.messageIds);
  const dead = (run.env.sqsServer.inspectQueue(run.env.dlqName)?.messages.ready ?? []).filter((m) =>
    ids.has(m.messageAttributes?.sourceMessageId?.StringValue ?? ""),
  );
  const codes = [...new Set(dead.map((m) => m.messageAttributes?.errorCode?.StringValue ?? "?"))].join(", ");
  const delivered = i.deleted - dead.length;
  return `${new Date().toISOString()}  batch of ${i.records}: ${delivered} delivered, ${dead.length} dead-lettered${
    dead.length ? ` (${codes})` : ""
  }, ${i.failed} to retry (${i.ms} ms)`;
}
const target = run.env.standIn
  ? `the Clarifai stand-in at ${run.env.standIn.url}`
  : `the real Clarifai (${process.env.CLARIFAI_API_BASE ?? "https://api.clarifai.com"})`;

if (values.watch) {
  const endpoint = run.env.sqsServer.address;
  const standInUrl = run.env.standIn?.url;
  console.log(`Watching ${run.env.queueUrl}
  Dead letters: ${run.env.dlqUrl}
  Clarifai: ${target}${
    standInUrl
      ? `\n  What the stand-in holds: curl ${standInUrl}/_local/work (per task, worker and status), /_local/annotations, /_local/tasks`
      : ""
  }
  Send events from another terminal, for example:
    AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local npm run cli -- send examples/events \\
      --mapping examples/mapping.json --queue-url ${run.env.queueUrl} --endpoint ${endpoint} --region us-east-1
  Dead letters, from another terminal:
    AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local npm run cli -- dlq list \\
      --dlq-url ${run.env.dlqUrl} --endpoint ${endpoint} --region us-east-1
  or with the AWS CLI:
    AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local aws --region us-east-1 --endpoint-url ${endpoint} \\
      sqs send-message --queue-url ${run.env.queueUrl} --message-body file://examples/events/01-street-audit-tree.json${
        standInUrl
          ? `
  The work per worker, and the audit, against the stand-in (its key is ${LOCAL_PAT}, its app ${LOCAL_USER}/${LOCAL_APP}):
    CLARIFAI_PAT=${LOCAL_PAT} npm run cli -- work --task street-audit-2026-11 --app ${LOCAL_USER}/${LOCAL_APP} \\
      --api-base ${standInUrl}
    CLARIFAI_PAT=${LOCAL_PAT} AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local npm run cli -- audit \\
      --task street-audit-2026-11 --app ${LOCAL_USER}/${LOCAL_APP} --api-base ${standInUrl} \\
      --source file:examples/events --mapping examples/mapping.json --dlq-url ${run.env.dlqUrl} \\
      --endpoint ${endpoint} --s3-endpoint ${endpoint} --region us-east-1`
          : ""
      }
  Ctrl-C to stop.`);
  const webhook = values.webhook ? await startWebhook(run, Number(values["webhook-port"])) : undefined;
  process.on("SIGINT", () => {
    run.poller.stop();
    void Promise.all([webhook?.close(), run.close()]).then(() => process.exit(0));
  });
  await run.poller.start();
} else {
  try {
    const examples = await readExampleBodies(values.events);
    const fileByMessageId = await sendExamples(run, examples);
    await drainQueue(run);
    const report = buildReport(run, fileByMessageId, startedAt);
    console.log(formatReport(report, target));
    const expectedPath = path.join(values.events, "..", "expected.json");
    if (run.env.standIn && path.resolve(values.events) === path.resolve("examples/events")) {
      const problems = compareWithExpected(report, JSON.parse(await readFile(expectedPath, "utf8")));
      console.log(
        problems.length === 0
          ? "\nResult: as expected (examples/expected.json)"
          : `\nResult: NOT as expected\n  ${problems.join("\n  ")}`,
      );
      process.exitCode = problems.length === 0 ? 0 : 1;
      // What webhooks lose: a Label Studio annotation whose webhook never came, recovered by the puller.
      const labelStudio = await startUpstreamApis(LABEL_STUDIO_TOKEN);
      try {
        const recovered = await recoverLostWebhook(run, labelStudio);
        console.log(formatRecovered(recovered));
        if (recovered.annotations === 0) process.exitCode = 1;
        // Each labeler's work in Label Studio against Clarifai's, then a dropped webhook found and repaired.
        const audited = await auditDemo(run, labelStudio);
        console.log(formatAuditDemo(audited));
        if (!auditDemoClean(audited)) process.exitCode = 1;
      } finally {
        await labelStudio.close();
      }
    }
  } finally {
    await run.close();
  }
}

/** The ingress beside the queue, as `--webhook` serves it, with what to paste into Label Studio or curl. */
async function startWebhook(run: LocalRun, port: number): Promise<{ close(): Promise<void> }> {
  let webhook: Awaited<ReturnType<typeof startLocalWebhook>>;
  try {
    webhook = await startLocalWebhook(run.env.queueUrl, port);
  } catch (error) {
    // A WEBHOOK_SECRETS that breaks the secret's rules, or a port in use: say so, without a stack trace.
    console.error(`Cannot serve the webhook ingress: ${(error as Error).message}`);
    await run.close();
    process.exit(2);
  }
  const ls = "examples/events/10-label-studio-created.json";
  console.log(`
Webhook ingress at ${webhook.url} (loopback only)
  Label Studio: URL ${webhook.url}/label-studio, header Authorization: Token <secret>
  Labelbox:     URL ${webhook.url}/labelbox, signing secret <secret>
  Secret: ${webhook.generated ? `${webhook.secret}  (generated for this run; set WEBHOOK_SECRETS to choose one)` : "from WEBHOOK_SECRETS"}
  Try it:
    curl -sS -X POST ${webhook.url}/label-studio -H "Authorization: Token ${webhook.generated ? webhook.secret : "$WEBHOOK_SECRETS"}" \\
      -H "Content-Type: application/json" --data-binary @${ls}`);
  return webhook;
}

/** The operator CLI's help texts, one per command (bin/cli.ts prints them for --help and usage errors). */
const COMMON = `Common options:
  --endpoint URL   an SQS-compatible endpoint (default: AWS, or AWS_ENDPOINT_URL_SQS)
  --region NAME    AWS region (default: the SDK's usual lookup)
  -h, --help       this help`;

export const HELP: Record<string, string> = {
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
  import                 bring a project's history over: a tool's export, item by item, onto the queue or
                         straight to Clarifai, with a checkpoint, a failures file and progress

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

Masks kept in files (Labelbox, Scale segmentation, Ground Truth semantic segmentation) are fetched as the
handler fetches them, from the mapping's maskOrigins: the Labelbox key from LABELBOX_API_KEY, S3 with the AWS
SDK's credentials (--s3-endpoint too).

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
  import: `Usage: clarifai-bridge import --source SOURCE (--queue-url URL | --direct) [options]

Brings a labeling project's history over. Each item goes through the bridge's own adapters and mapping (the
ids, labelers, statuses and tasks live delivery would write); an item the bridge cannot read is written to the
failures file and the rest goes on. The file is read one item at a time: memory stays flat whatever its size.

Sources (--source SOURCE):
  a .json file           a Label Studio JSON export (the project's tasks with their annotations; --project
                         when its tasks do not name their project); any other JSON array, each element a body
                         (Scale callbacks, Labelbox rows, canonical events); or one JSON object, one body
  any other file         one body per line: a Labelbox export v2 NDJSON, a Ground Truth output manifest,
                         Scale callbacks, canonical events (--attribute format=... where the shape is not enough)
  s3://BUCKET/KEY        one body per line, streamed from S3: a Ground Truth output manifest where the labeling
                         job wrote it (the AWS SDK's credentials; --s3-endpoint for a local S3)
  label-studio:PROJECT   a Label Studio project through its API, a page of tasks at a time, each annotation
                         the body reconciliation queues (--tool-url; the token from LABEL_STUDIO_TOKEN)
  cvat:TASK              the jobs of a CVAT task through its API, a job at a time, as the puller reads them
                         (--tool-url; the token from CVAT_TOKEN)

Paths:
  --queue-url URL      onto the bridge's queue, ten to a request: the deployed handlers deliver at the stack's
                       rate (the default for a deployed stack)
  --direct             straight to Clarifai with the handler's own delivery code in this process, for a stack
                       not deployed yet (CLARIFAI_PAT; --app, --api-base as for "work"; --rate, default 15, the
                       account's whole limit: lower it while the stack runs). Masks kept in files are fetched as
                       the handler fetches them (LABELBOX_API_KEY, the AWS SDK's credentials for S3)
  --fresh              with --direct, for a task that holds none of these annotations yet: each is posted
                       without first looking up what Clarifai holds (about one request per 128 annotations);
                       one that exists after all is left as it is, not updated

  --mapping FILE       the bridge's mapping (default BRIDGE_MAPPING)
  --project N          the Label Studio project of an export whose tasks do not say
  --attribute K=V      a message attribute on every item (repeatable), as the ingress sets them
  --state FILE         a checkpoint, written after every batch: run again with it to go on where a stopped
                       import stopped; a finished import's checkpoint makes the next run send nothing
  --failures FILE      one JSON line per item not delivered: origin, item number, code and reason (appended)
  --json               progress and the summary as JSON lines, for machines
  --tool-url URL       the Label Studio or CVAT server (https://, or http:// to this machine)
  --s3-endpoint URL    a local S3 (path-style), for an s3:// source and masks kept in S3
  --rate, --app, --api-base   as for "work" (with --direct)
  --endpoint, --region        the SQS endpoint and region, as for "dlq"
Without --state, running an import again re-sends everything; the ids are derived, so nothing is written twice
(the handler finds each annotation held at the same version), but each item costs its lookups again.`,
};

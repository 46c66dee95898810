import { readFileSync } from "node:fs";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { lazySqsClient } from "../lambda/delivery/sqs-client.js";
import { createJsonGetter, queueSender, s3StateStore } from "../lambda/pull/edges.js";
import { parsePullerConfig } from "../lambda/pull/puller-config.js";
import { reconcileLabelStudio } from "../lambda/pull/run-pull.js";
import { LOCAL_AWS_CREDENTIALS, LOCAL_REGION } from "./environment.js";
import { drainQueue, type LocalRun } from "./local-run.js";
import { startUpstreamApis, type UpstreamApis } from "./upstream-apis.js";

/**
 * `npm start`'s last step: a Label Studio annotation whose webhook never arrived (Label Studio does not retry)
 * is found by the puller's reconciliation, over HTTP from a Label Studio API stand-in, with its state in the local
 * S3, and reaches the Clarifai stand-in through the queue and the handler like any other event.
 */
export interface RecoveredEvent {
  readonly annotationId: number;
  readonly inputId: string;
  readonly enqueued: number;
  /** The Clarifai annotations the stand-in holds for the input afterwards. */
  readonly annotations: number;
}

/** The Label Studio stand-in's token in `npm start`. */
export const LABEL_STUDIO_TOKEN = "local-label-studio-token";
const ANNOTATION_ID = 4999;
const INPUT_ID = "sku-street-0399";

/** With `upstream`, the caller's Label Studio stand-in is used and left open (the audit demo reads it next). */
export async function recoverLostWebhook(run: LocalRun, upstream?: UpstreamApis): Promise<RecoveredEvent> {
  // The puller's edges make their clients from the environment, as in Lambda: the local servers take anything.
  process.env.AWS_REGION ??= LOCAL_REGION;
  process.env.AWS_ACCESS_KEY_ID ??= LOCAL_AWS_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY ??= LOCAL_AWS_CREDENTIALS.secretAccessKey;
  const apis = upstream ?? (await startUpstreamApis(LABEL_STUDIO_TOKEN));
  const bucket = "clarifai-bridge-puller-state";
  const s3 = new S3Client({
    region: LOCAL_REGION,
    endpoint: run.env.sqsServer.address,
    forcePathStyle: true,
    credentials: LOCAL_AWS_CREDENTIALS,
  });
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    // The example's Label Studio annotation, as Label Studio's task API lists it, a minute old: its webhook was lost.
    const example = JSON.parse(readFileSync("examples/events/10-label-studio-created.json", "utf8"));
    const updatedAt = new Date(Date.now() - 60_000).toISOString();
    apis.labelStudio.set(12, [
      ...(apis.labelStudio.get(12) ?? []),
      {
        ...example.task,
        id: 3399,
        updated_at: updatedAt,
        data: { ...example.task.data, clarifai_input_id: INPUT_ID },
        annotations: [{ ...example.annotation, id: ANNOTATION_ID, task: 3399, updated_at: updatedAt }],
      },
    ]);
    const config = parsePullerConfig(JSON.stringify({ labelStudio: { url: apis.url, projects: [12] } }));
    const { enqueued } = await reconcileLabelStudio({
      config,
      tokens: { labelStudio: LABEL_STUDIO_TOKEN },
      getJson: createJsonGetter(config.requestsPerSecond, config.requestTimeoutMs),
      state: s3StateStore(bucket, run.env.sqsServer.address),
      enqueue: queueSender(lazySqsClient(run.env.sqsServer.address), run.env.queueUrl),
      count: () => undefined,
      log: () => undefined,
      now: () => new Date(),
    });
    await drainQueue(run);
    const annotations = (run.env.standIn?.annotations() ?? []).filter((a) => a.input_id === INPUT_ID).length;
    return { annotationId: ANNOTATION_ID, inputId: INPUT_ID, enqueued, annotations };
  } finally {
    s3.destroy();
    if (!upstream) await apis.close();
  }
}

export const formatRecovered = (r: RecoveredEvent) =>
  `\nRecovered by the puller: Label Studio annotation ${r.annotationId}, whose webhook never arrived, was found by reconciliation (${r.enqueued} queued) and is now ${r.annotations} Clarifai annotation(s) on input ${r.inputId}.`;

import { Server } from "node:net";
import { SQSClient } from "@aws-sdk/client-sqs";
import { type FauxqsServer, startFauxqs } from "fauxqs";
import { type ClarifaiStandIn, type StandInOptions, startClarifaiStandIn } from "./clarifai/stand-in.js";

/**
 * The embedded environment: an SQS-compatible server (fauxqs, in-process, loopback, free port) with a source
 * queue and a dead-letter queue wired by a redrive policy, and the Clarifai stand-in. No AWS account, no Docker.
 */
export interface LocalEnvironmentOptions {
  /** The source queue's redrive `maxReceiveCount`. @default 10 (the stack's default) */
  readonly maxReceiveCount?: number;
  /** The source queue's visibility timeout in seconds. @default 30 */
  readonly visibilityTimeoutSeconds?: number;
  /** @default "clarifai-annotation-bridge" (with `.fifo` added in FIFO mode) */
  readonly queueName?: string;
  /** FIFO queues (source and dead-letter), as the stack's `fifo` prop makes them. @default false */
  readonly fifo?: boolean;
  /** A fixed port for the SQS-compatible server. @default a free port */
  readonly sqsPort?: number;
  /** Options for the Clarifai stand-in; `false` to run without one (against the real Clarifai). */
  readonly standIn?: StandInOptions | false;
}

export interface LocalEnvironment {
  readonly sqsServer: FauxqsServer;
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly queueName: string;
  readonly dlqUrl: string;
  readonly dlqName: string;
  readonly standIn: ClarifaiStandIn | undefined;
  /** The environment variables the handler needs to run against this environment. */
  readonly handlerEnv: Record<string, string>;
  close(): Promise<void>;
}

export const LOCAL_REGION = "us-east-1";
/** The stand-in's personal access token and user, and the app the local run addresses. */
export const LOCAL_PAT = "local-pat";
export const LOCAL_USER = "local-user";
export const LOCAL_APP = "local-app";

/** Credentials the AWS SDK needs to sign requests; the local server does not check them. */
export const LOCAL_AWS_CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local" };

/**
 * Runs `start` with every server it opens bound to 127.0.0.1: the local queues accept anything from anyone who can
 * reach them, and fauxqs (2.4) listens on 0.0.0.0 whatever it is told, so its listen call is narrowed here.
 */
async function onLoopback<T>(start: () => Promise<T>): Promise<T> {
  const listen = Server.prototype.listen;
  Server.prototype.listen = function (this: Server, ...args: unknown[]) {
    const [first] = args;
    if (first !== null && typeof first === "object" && (first as { host?: unknown }).host === "0.0.0.0")
      args[0] = { ...(first as object), host: "127.0.0.1" };
    return listen.apply(this, args as Parameters<typeof listen>);
  } as typeof listen;
  try {
    return await start();
  } finally {
    Server.prototype.listen = listen;
  }
}

export async function startLocalEnvironment(
  options: LocalEnvironmentOptions = {},
): Promise<LocalEnvironment> {
  const sqsServer = await onLoopback(() => startFauxqs({ port: options.sqsPort ?? 0, logger: false }));
  const fifo = options.fifo ?? false;
  const stem = options.queueName ?? "clarifai-annotation-bridge";
  const queueName = fifo ? `${stem}.fifo` : stem;
  const dlqName = fifo ? `${stem}-dlq.fifo` : `${stem}-dlq`;
  const fifoAttributes: Record<string, string> = fifo
    ? { FifoQueue: "true", ContentBasedDeduplication: "true" }
    : {};
  const dlq = sqsServer.createQueue(dlqName, {
    attributes: { MessageRetentionPeriod: "1209600", ...fifoAttributes },
  });
  const source = sqsServer.createQueue(queueName, {
    attributes: {
      ...fifoAttributes,
      VisibilityTimeout: String(options.visibilityTimeoutSeconds ?? 30),
      RedrivePolicy: JSON.stringify({
        deadLetterTargetArn: dlq.queueArn,
        maxReceiveCount: String(options.maxReceiveCount ?? 10),
      }),
    },
  });
  const standIn = options.standIn === false ? undefined : await startClarifaiStandIn(options.standIn ?? {});
  const sqs = new SQSClient({
    region: LOCAL_REGION,
    endpoint: sqsServer.address,
    useQueueUrlAsEndpoint: false,
    credentials: LOCAL_AWS_CREDENTIALS,
  });
  const handlerEnv: Record<string, string> = {
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_AWS_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_AWS_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_SQS: sqsServer.address,
    // The same server answers S3 (Ground Truth's segmentation masks are read there).
    AWS_ENDPOINT_URL_S3: sqsServer.address,
    DEAD_LETTER_QUEUE_URL: dlq.queueUrl,
    ...(standIn
      ? {
          CLARIFAI_API_BASE: standIn.url,
          CLARIFAI_PAT: LOCAL_PAT,
          CLARIFAI_USER_ID: LOCAL_USER,
          CLARIFAI_APP_ID: LOCAL_APP,
        }
      : {}),
  };
  return {
    sqsServer,
    sqs,
    queueUrl: source.queueUrl,
    queueArn: source.queueArn,
    queueName,
    dlqUrl: dlq.queueUrl,
    dlqName,
    standIn,
    handlerEnv,
    async close() {
      sqs.destroy();
      await standIn?.close();
      await sqsServer.stop();
    },
  };
}

import { parentPort } from "node:worker_threads";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { handler } from "../lambda/handler.js";
import { lambdaContext } from "./lambda-context.js";

/**
 * One Lambda execution environment: a worker thread that loaded the bundled handler (its cold start) and runs one
 * invocation at a time. `worker-handler.ts` terminates it when an invocation passes its timeout, as Lambda stops
 * a timed-out environment: its timers and sockets end with it.
 */
export interface InvokeMessage {
  readonly id: number;
  readonly event: SQSEvent;
  readonly deadline: number;
  readonly requestId: string;
}

export type InvokeReply =
  | { readonly id: number; readonly response: SQSBatchResponse | undefined }
  | { readonly id: number; readonly error: string };

const sqsHandler = handler as unknown as (
  event: SQSEvent,
  context: ReturnType<typeof lambdaContext>,
) => Promise<SQSBatchResponse | undefined>;

parentPort?.on("message", async ({ id, event, deadline, requestId }: InvokeMessage) => {
  let reply: InvokeReply;
  try {
    reply = { id, response: await sqsHandler(event, lambdaContext(requestId, deadline)) };
  } catch (error) {
    reply = { id, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  }
  parentPort?.postMessage(reply);
});

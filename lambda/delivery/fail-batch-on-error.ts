import type { MiddlewareObj } from "@middy/core";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";

export interface FailBatchOnErrorOptions {
  /** Told about the error before the batch is failed. @default no logging */
  readonly logError?: (error: unknown) => void;
}

/**
 * If anything throws before every record has a fate (the secret cannot be read, a bug), report every record of
 * the batch as failed so SQS delivers it again: a crash must never lose a batch.
 */
export function failBatchOnError(
  options: FailBatchOnErrorOptions = {},
): MiddlewareObj<SQSEvent, SQSBatchResponse> {
  return {
    onError: async (request) => {
      options.logError?.(request.error);
      request.response = {
        batchItemFailures: (request.event?.Records ?? []).map((record) => ({
          itemIdentifier: record.messageId,
        })),
      };
    },
  };
}

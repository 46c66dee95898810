import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";

/**
 * What a user would otherwise write, for the benchmark to compare against: one POST per record. Both read the
 * canonical event and send the same annotation content the bridge would (task link, explicit values).
 */
interface Target {
  readonly apiBase: string;
  readonly userId: string;
  readonly appId: string;
  readonly pat: string;
}

function postOne(target: Target, record: SQSRecord): Promise<Response> {
  const e = JSON.parse(record.body) as {
    inputId: string;
    taskId: string;
    eventId: string;
    concepts: unknown[];
  };
  return fetch(`${target.apiBase}/v2/users/${target.userId}/apps/${target.appId}/annotations`, {
    method: "POST",
    headers: { Authorization: `Key ${target.pat}`, "Content-Type": "application/json" },
    body: JSON.stringify({
      annotations: [
        {
          // No id: Clarifai assigns one, as in the seed's example (so a retried batch can create duplicates).
          input_id: e.inputId,
          task_id: e.taskId,
          annotation_info: { task_id: e.taskId, event_id: e.eventId },
          data: { concepts: e.concepts },
        },
      ],
    }),
  });
}

/** The seed's approach: records one after another, one request each; any failure fails (and retries) the batch. */
export function naiveHandler(target: Target) {
  return async (event: SQSEvent): Promise<SQSBatchResponse | undefined> => {
    for (const record of event.Records) {
      const response = await postOne(target, record);
      await response.arrayBuffer();
      if (!response.ok) throw new Error(`Clarifai answered HTTP ${response.status}`);
    }
    return undefined;
  };
}

/** Powertools' BatchProcessor: records in parallel, one request each, partial batch failures reported. */
export function perRecordHandler(target: Target) {
  const processor = new BatchProcessor(EventType.SQS);
  const recordHandler = async (record: SQSRecord) => {
    const response = await postOne(target, record);
    await response.arrayBuffer();
    if (!response.ok) throw new Error(`Clarifai answered HTTP ${response.status}`);
  };
  return (event: SQSEvent, context: Context) =>
    processPartialResponse(event, recordHandler, processor, { context });
}

import type { SQSRecord } from "aws-lambda";

/** An SQS record as Lambda hands it over, for tests that call the batch code directly. */
export function sqsRecord(body: string, i: number, attributes: Record<string, string> = {}): SQSRecord {
  return {
    messageId: `m-${i}`,
    receiptHandle: `r-${i}`,
    body,
    attributes: {
      ApproximateReceiveCount: "1",
      SentTimestamp: "0",
      SenderId: "s",
      ApproximateFirstReceiveTimestamp: "0",
    },
    messageAttributes: Object.fromEntries(
      Object.entries(attributes).map(([k, v]) => [k, { dataType: "String", stringValue: v }]),
    ),
    md5OfBody: "",
    eventSource: "aws:sqs",
    eventSourceARN: "arn:aws:sqs:us-east-1:1:q",
    awsRegion: "us-east-1",
  };
}

import { GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";

/** An SQS client for real AWS, or for a local server when `--endpoint` or AWS_ENDPOINT_URL_SQS is given. */
export function sqsClient(endpoint: string | undefined, region: string | undefined): SQSClient {
  const url = endpoint ?? process.env.AWS_ENDPOINT_URL_SQS;
  return new SQSClient({
    ...(region ? { region } : {}),
    // Local servers name queues by hosts that may not resolve: send to the endpoint, not the queue URL's host.
    ...(url ? { endpoint: url, useQueueUrlAsEndpoint: false } : {}),
  });
}

export async function queueArn(sqs: SQSClient, queueUrl: string): Promise<string> {
  const answer = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["QueueArn"] }),
  );
  const arn = answer.Attributes?.QueueArn;
  if (!arn) throw new Error(`no ARN for ${queueUrl}`);
  return arn;
}

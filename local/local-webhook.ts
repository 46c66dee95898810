import { randomBytes } from "node:crypto";
import { type FunctionUrlHandler, startFunctionUrl } from "./function-url.js";

/**
 * The webhook ingress as `npm start -- --webhook` serves it: the real `lambda/ingress.ts` behind a local function
 * URL on loopback, sending to the local queue. Its secret is `WEBHOOK_SECRETS` when set (read by the same parser
 * as the deployed secret, so the same rules apply), or a 48-character one generated for the run.
 */
export async function startLocalWebhook(
  queueUrl: string,
  port: number,
): Promise<{ url: string; secret: string; generated: boolean; close(): Promise<void> }> {
  const given = process.env.WEBHOOK_SECRETS;
  const secret = given ?? randomBytes(24).toString("hex");
  process.env.QUEUE_URL = queueUrl;
  process.env.WEBHOOK_SECRETS = secret;
  // The handler is already loaded with the local environment (AWS_ENDPOINT_URL_SQS, credentials, region).
  const { handler } = (await import("../lambda/ingress.js")) as unknown as { handler: FunctionUrlHandler };
  const server = await startFunctionUrl(handler, port);
  return { ...server, secret, generated: given === undefined };
}

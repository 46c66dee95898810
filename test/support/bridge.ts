import { createClarifaiClient } from "../../lambda/clarifai/client.js";
import type { ClarifaiStandIn } from "../../local/clarifai/stand-in.js";
import { LOCAL_APP, LOCAL_PAT, LOCAL_USER, type LocalEnvironment } from "../../local/environment.js";
import {
  createPoller,
  type InvokeInfo,
  type Poller,
  type PollerOptions,
  type SqsHandler,
} from "../../local/poller.js";

/**
 * Sets the handler's environment, then loads the real handler (its config is read at import, once per test file)
 * and a Lambda-style poller on the environment's queue that records every invocation.
 */
export async function loadBridge(
  env: LocalEnvironment,
  handlerEnv: Record<string, string | undefined>,
  invocations: InvokeInfo[],
  pollerOptions: Partial<PollerOptions> = {},
): Promise<{ handler: SqsHandler; poller: Poller }> {
  for (const [name, value] of Object.entries(handlerEnv)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  const { handler } = (await import("../../lambda/handler.js")) as unknown as { handler: SqsHandler };
  const poller = createPoller({
    sqs: env.sqs,
    queueUrl: env.queueUrl,
    queueArn: env.queueArn,
    handler,
    onInvoke: (info) => invocations.push(info),
    ...pollerOptions,
  });
  return { handler, poller };
}

/** Empties the queues, the stand-in's store and request log, and the invocation log: each test starts clean. */
export function resetEnvironment(env: LocalEnvironment, invocations: InvokeInfo[] = []): void {
  env.sqsServer.reset();
  env.standIn?.reset();
  invocations.length = 0;
}

/** The environment's Clarifai stand-in (the tests that use it always start one). */
export function standInOf(env: LocalEnvironment): ClarifaiStandIn {
  if (!env.standIn) throw new Error("this environment runs without the Clarifai stand-in");
  return env.standIn;
}

/**
 * The upstream version a held annotation carries: the later of `annotation_info.occurred_at` and
 * `data.metadata.bridge_occurred_at` (an overwrite may keep annotation_info; it always replaces data).
 */
export function versionOf(annotation: Record<string, unknown>): string | undefined {
  const info = (annotation.annotation_info as { occurred_at?: unknown } | undefined)?.occurred_at;
  const data = (annotation.data as { metadata?: { bridge_occurred_at?: unknown } } | undefined)?.metadata
    ?.bridge_occurred_at;
  const times = [info, data].filter((t): t is string => typeof t === "string");
  return times.sort((a, b) => Date.parse(a) - Date.parse(b)).pop();
}

/** Deletes annotations from the stand-in through Clarifai's API, as someone deleting them by hand in Clarifai would. */
export async function deleteByHand(
  env: LocalEnvironment,
  annotations: readonly { readonly id: string; readonly input_id: string }[],
): Promise<void> {
  const client = createClarifaiClient(standInOf(env).url, LOCAL_PAT);
  try {
    const answer = await client.deleteAnnotations(
      { userId: LOCAL_USER, appId: LOCAL_APP },
      annotations.map((a) => a.id),
      annotations.map((a) => a.input_id),
      5000,
    );
    if (answer.kind !== "response" || answer.httpStatus !== 200)
      throw new Error(`DeleteAnnotations failed: ${JSON.stringify(answer)}`);
  } finally {
    client.close();
  }
}

/** The app's settings, read from CDK context (cdk.json, or `-c key=value` on the command line). */
export interface ContextConfig {
  readonly stackName: string;
  readonly clarifaiSecret: string;
  readonly clarifaiUserId?: string;
  readonly clarifaiAppId?: string;
  readonly alarmEmail?: string;
  readonly batchSize?: number;
  readonly maxConcurrency?: number;
  readonly maxReceiveCount?: number;
  readonly functionTimeoutSeconds?: number;
  readonly fifo?: boolean;
  /** Deploy the webhook ingress (context `webhook=true`). */
  readonly webhook?: boolean;
  /** The upstream mapping (context `mapping`: an object in cdk.json, or JSON text with -c). */
  readonly mapping?: unknown;
}

/** Reads and checks the context; a missing or bad value fails naming the key and how to set it. */
export function contextConfig(get: (key: string) => unknown): ContextConfig {
  const text = (key: string): string | undefined => {
    const value = get(key);
    if (value === undefined || value === null || value === "") return undefined;
    if (typeof value !== "string")
      throw new Error(`context ${key} must be a string; set it with -c ${key}=…`);
    return value;
  };
  const count = (key: string): number | undefined => {
    const value = get(key);
    if (value === undefined || value === null || value === "") return undefined;
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1)
      throw new Error(
        `context ${key} must be a positive integer, got ${JSON.stringify(value)} (-c ${key}=…)`,
      );
    return n;
  };
  const clarifaiSecret = text("clarifaiSecret");
  if (!clarifaiSecret) {
    throw new Error(
      "context clarifaiSecret is required: the name or ARN of the Secrets Manager secret holding the Clarifai key. " +
        "Set it in cdk.json or with -c clarifaiSecret=clarifai-annotation-bridge/clarifai-pat",
    );
  }
  const clarifaiUserId = text("clarifaiUserId");
  const clarifaiAppId = text("clarifaiAppId");
  if (Boolean(clarifaiUserId) !== Boolean(clarifaiAppId)) {
    const missing = clarifaiUserId ? "clarifaiAppId" : "clarifaiUserId";
    throw new Error(
      `context ${missing} is required with a personal access token (set both clarifaiUserId and clarifaiAppId, or neither for an app-scoped key): -c ${missing}=…`,
    );
  }
  const fifo = get("fifo");
  return {
    stackName: text("stackName") ?? "ClarifaiAnnotationBridge",
    clarifaiSecret,
    ...(clarifaiUserId ? { clarifaiUserId } : {}),
    ...(clarifaiAppId ? { clarifaiAppId } : {}),
    ...(text("alarmEmail") ? { alarmEmail: text("alarmEmail") } : {}),
    ...(count("batchSize") ? { batchSize: count("batchSize") } : {}),
    ...(count("maxConcurrency") ? { maxConcurrency: count("maxConcurrency") } : {}),
    ...(count("maxReceiveCount") ? { maxReceiveCount: count("maxReceiveCount") } : {}),
    ...(count("functionTimeoutSeconds") ? { functionTimeoutSeconds: count("functionTimeoutSeconds") } : {}),
    ...(fifo === true || fifo === "true" ? { fifo: true } : {}),
    ...(get("webhook") === true || get("webhook") === "true" ? { webhook: true } : {}),
    ...mappingOf(get("mapping")),
  };
}

function mappingOf(value: unknown): { mapping?: unknown } {
  if (value === undefined || value === null || value === "") return {};
  if (typeof value !== "string") return { mapping: value };
  try {
    return { mapping: JSON.parse(value) };
  } catch {
    throw new Error(
      "context mapping must be JSON (see examples/mapping.json): -c mapping='{\"projects\": {…}}'",
    );
  }
}

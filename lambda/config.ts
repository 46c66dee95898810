import type { AppRef, TaskLinkMode } from "./clarifai/to-annotation.js";
import { ConfigError } from "./config-error.js";
import { type EnvSetting, int, number, oneOf, readEnv, text, url } from "./env-settings.js";
import { USER_APP_ID_PATTERN } from "./events/bounds.js";
import type { MappingConfig } from "./events/contract/mapping-config.js";
import { EMPTY_MAPPING, withMappingDefaults } from "./events/contract/mapping-defaults.js";
import { loadWords } from "./events/contract/refusal-words.js";
import { isLoopbackHost } from "./loopback.js";
import { keyProblem } from "./redact.js";

/** Where a key comes from: a Secrets Manager secret (deployed) or a plain variable (local runs only). */
export type KeySource =
  | { readonly source: "secret"; readonly secretId: string }
  | { readonly source: "env"; readonly value: string };

/** The handler's settings, read from the environment once at cold start. */
export interface Config {
  readonly apiBase: string;
  /** The default target app (PAT URL form), or null for an app-scoped key (`/v2/annotations`). */
  readonly defaultApp: AppRef | null;
  /** Where the key comes from: a Secrets Manager secret (deployed) or the plain variable (local runs only). */
  readonly key: KeySource;
  readonly secretCacheSeconds: number;
  readonly deadLetterQueueUrl: string;
  readonly sqsEndpoint?: string;
  /** Where S3 is (local runs), for Ground Truth's segmentation masks. */
  readonly s3Endpoint?: string;
  /** The Labelbox API key for its mask URLs: from a secret (deployed) or the plain variable (local runs). */
  readonly labelboxKey?: KeySource;
  /** The only origin the Labelbox key is sent to (Labelbox's API; a local stand-in in tests). */
  readonly labelboxApiOrigin: string;
  readonly taskLink: TaskLinkMode;
  readonly maxAnnotationsPerRequest: number;
  readonly maxConcurrentRequests: number;
  /** Clarifai requests per second this instance may send (0 = no limit). */
  readonly requestsPerSecond: number;
  readonly requestTimeoutMs: number;
  /** A retried record's first delay and longest delay (delivery/backoff.ts reads it). */
  readonly backoff: { readonly baseSeconds: number; readonly capSeconds: number };
  readonly maxReceiveCount?: number;
  /** Upstream projects (Label Studio, Labelbox, Ground Truth) -> Clarifai tasks, from BRIDGE_MAPPING. */
  readonly upstream: MappingConfig;
  /**
   * Read each task (GetTask) before its annotations are sent: unknown tasks are dead-lettered at once and
   * `from-task` statuses follow the task's review strategy. Off: no GetTask, `from-task` posts no status.
   */
  readonly taskLookup: boolean;
  /** How long a task read stays good in an instance (a missing or unreadable one at most 60 s). */
  readonly taskCacheSeconds: number;
  /** The function's memory in MB (Lambda's AWS_LAMBDA_FUNCTION_MEMORY_SIZE): one batch's reading budget derives from it. */
  readonly memoryMb: number;
}

export { ConfigError } from "./config-error.js";

/** A Clarifai user or app id (a URL path segment): letters, digits, `_` and `-`. */
const id = () => ({ kind: "id", pattern: USER_APP_ID_PATTERN, maxLength: 255 }) as const;

/**
 * The handler's environment, one setting per variable: its kind, range and default, read by `readEnv` below with
 * no schema library (zod is most of a cold start's module time; it loads only to word a refused BRIDGE_MAPPING).
 * docs/configuration.md is generated from this table and each setting's TSDoc (bin/configuration-doc.ts).
 */
export const HANDLER_ENV = {
  /** Clarifai's API. `http://` only for a loopback host (a local stand-in): the key must not cross a network in clear text. */
  CLARIFAI_API_BASE: url({ web: true, fallback: "https://api.clarifai.com" }),
  /** With a personal access token, the app's user (`POST /v2/users/{user}/apps/{app}/annotations`); unset with `CLARIFAI_APP_ID`: an app-scoped key (`POST /v2/annotations`). */
  CLARIFAI_USER_ID: id(),
  /** With a personal access token, the app; see `CLARIFAI_USER_ID`. */
  CLARIFAI_APP_ID: id(),
  /** The Clarifai key itself, for local runs only (deployed: `CLARIFAI_PAT_SECRET_ARN`); set one of the two, not both. */
  CLARIFAI_PAT: text(),
  /** The Secrets Manager secret holding the Clarifai key (required when deployed): plain text, or a JSON object with the key under `CLARIFAI_PAT`, `pat` or `key`. A key that cannot go in an HTTP header fails every batch as a whole, naming this variable and quoting nothing. */
  CLARIFAI_PAT_SECRET_ARN: text(),
  /** How long the key's secret is cached before it is read again (a rotation takes effect within it). */
  CLARIFAI_SECRET_CACHE_SECONDS: int(0, 86_400, 300),
  /** Where the handler sends a record that can never be delivered, with its reason. */
  DEAD_LETTER_QUEUE_URL: url({ required: true }),
  /** The AWS SDK's endpoint override for SQS (local runs: the embedded SQS-compatible server). */
  AWS_ENDPOINT_URL_SQS: text(),
  /** The AWS SDK's endpoint override for S3, where Ground Truth's segmentation masks are read (local runs: the embedded server; path-style). */
  AWS_ENDPOINT_URL_S3: text(),
  /** The Labelbox API key itself, for local runs only (deployed: `LABELBOX_API_KEY_SECRET_ARN`); set one of the two, not both. */
  LABELBOX_API_KEY: text(),
  /** The Secrets Manager secret holding the Labelbox API key, which Labelbox's mask URLs need (plain text, or JSON with it under `LABELBOX_API_KEY`, `apiKey` or `key`); sent only to `LABELBOX_API_ORIGIN`. Unset: Labelbox masks are dead-lettered `mask-credentials-missing`. */
  LABELBOX_API_KEY_SECRET_ARN: text(),
  /** The origin the Labelbox key is sent to, and no other: Labelbox's API, where its mask URLs point. `http://` only for a loopback host (a local stand-in). */
  LABELBOX_API_ORIGIN: url({ web: true, fallback: "https://api.labelbox.com" }),
  /** Where the task id goes: `task_id` (the current proto's field), `annotation_info.task_id` (older docs), or both. */
  CLARIFAI_TASK_LINK: oneOf(["both", "task_id", "annotation_info"], "both"),
  /** Annotations per PostAnnotations or PatchAnnotations request (Clarifai accepts 1 to 128). */
  // Clarifai accepts 1..128 annotations per PostAnnotations request.
  MAX_ANNOTATIONS_PER_REQUEST: int(1, 128, 128),
  /** Clarifai requests in flight per invocation. */
  MAX_CONCURRENT_REQUESTS: int(1, 64, 4),
  /** Clarifai requests per second this instance sends at most (0: no limit); the stack sets its share of Clarifai's 15, floor(15 / maxConcurrency): 7 at the default 2 instances. */
  // Clarifai's default limit is 15 requests/s per user; the stack divides it among its concurrent instances.
  CLARIFAI_REQUESTS_PER_SECOND: number(0, 10_000, 0),
  /** One Clarifai request's time limit, never beyond the invocation's remaining time. */
  REQUEST_TIMEOUT_MS: int(100, 900_000, 10_000),
  /** A retried record's first delay (full jitter, doubling per receive). */
  BACKOFF_BASE_SECONDS: int(1, 43_200, 10),
  /** A retried record's longest delay. */
  BACKOFF_CAP_SECONDS: int(1, 43_200, 900),
  /** Upstream projects -> Clarifai tasks, labels, labelers and statuses (JSON; see the mapping below). */
  BRIDGE_MAPPING: text(),
  /** Read each task (GetTask) before its annotations: unknown tasks are dead-lettered at once and `from-task` statuses follow the task's review; `off`: no reads. */
  CLARIFAI_TASK_LOOKUP: oneOf(["on", "off"], "on"),
  /** How long a task read stays good in an instance (a missing or unreadable one at most 60 s). */
  CLARIFAI_TASK_CACHE_SECONDS: int(0, 86_400, 300),
  /** Set by Lambda: the function's memory in MB. Each batch's reading (parsed bodies, decoded masks, the annotations made) must fit in it beside the runtime; local runs take the stack's default. */
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE: int(128, 10_240, 256),
  /** The queue's `maxReceiveCount`: on that receive the handler dead-letters a failing record with the reason itself. */
  MAX_RECEIVE_COUNT: int(1, 1000),
} as const satisfies Record<string, EnvSetting>;

/** Reads the environment; throws a ConfigError naming every bad variable and the rule it broke. */
export async function loadConfig(env: NodeJS.ProcessEnv): Promise<Config> {
  const { values: e, problems } = readEnv(HANDLER_ENV, env);
  if (problems.length > 0) throw new ConfigError(`invalid configuration: ${problems.join("; ")}`);
  if (Boolean(e.CLARIFAI_USER_ID) !== Boolean(e.CLARIFAI_APP_ID)) {
    throw new ConfigError(
      "invalid configuration: set both CLARIFAI_USER_ID and CLARIFAI_APP_ID (personal access token), or neither (app-scoped key)",
    );
  }
  if (e.CLARIFAI_PAT && e.CLARIFAI_PAT_SECRET_ARN) {
    throw new ConfigError("invalid configuration: set CLARIFAI_PAT_SECRET_ARN or CLARIFAI_PAT, not both");
  }
  const key = e.CLARIFAI_PAT_SECRET_ARN
    ? ({ source: "secret", secretId: e.CLARIFAI_PAT_SECRET_ARN } as const)
    : e.CLARIFAI_PAT
      ? ({ source: "env", value: e.CLARIFAI_PAT } as const)
      : undefined;
  if (!key) {
    throw new ConfigError(
      "invalid configuration: CLARIFAI_PAT_SECRET_ARN is required (the Secrets Manager secret holding the Clarifai key); CLARIFAI_PAT is accepted for local runs",
    );
  }
  // The key travels in a header: over plain HTTP only to this machine (a local stand-in), never across a network.
  const api = new URL(e.CLARIFAI_API_BASE);
  if (api.protocol === "http:" && !isLoopbackHost(api.hostname)) {
    throw new ConfigError(
      "invalid configuration: CLARIFAI_API_BASE may use http:// only for a loopback host (a local stand-in); use https://",
    );
  }
  const keyIssue = key.source === "env" ? keyProblem(key.value) : undefined;
  if (keyIssue) {
    // Never quote the value: it is the key.
    throw new ConfigError(`invalid configuration: CLARIFAI_PAT ${keyIssue}`);
  }
  if (e.LABELBOX_API_KEY && e.LABELBOX_API_KEY_SECRET_ARN) {
    throw new ConfigError(
      "invalid configuration: set LABELBOX_API_KEY_SECRET_ARN or LABELBOX_API_KEY, not both",
    );
  }
  const labelboxIssue = e.LABELBOX_API_KEY ? keyProblem(e.LABELBOX_API_KEY) : undefined;
  if (labelboxIssue) throw new ConfigError(`invalid configuration: LABELBOX_API_KEY ${labelboxIssue}`);
  const labelboxOrigin = new URL(e.LABELBOX_API_ORIGIN);
  if (labelboxOrigin.protocol === "http:" && !isLoopbackHost(labelboxOrigin.hostname)) {
    throw new ConfigError(
      "invalid configuration: LABELBOX_API_ORIGIN may use http:// only for a loopback host (a local stand-in); use https://",
    );
  }
  if (e.BACKOFF_CAP_SECONDS < e.BACKOFF_BASE_SECONDS) {
    throw new ConfigError("invalid configuration: BACKOFF_CAP_SECONDS must be at least BACKOFF_BASE_SECONDS");
  }
  return Object.freeze({
    upstream: await parseMapping(e.BRIDGE_MAPPING),
    apiBase: e.CLARIFAI_API_BASE.replace(/\/+$/, ""),
    defaultApp:
      e.CLARIFAI_USER_ID && e.CLARIFAI_APP_ID
        ? { userId: e.CLARIFAI_USER_ID, appId: e.CLARIFAI_APP_ID }
        : null,
    key,
    secretCacheSeconds: e.CLARIFAI_SECRET_CACHE_SECONDS,
    deadLetterQueueUrl: e.DEAD_LETTER_QUEUE_URL,
    ...(e.AWS_ENDPOINT_URL_SQS ? { sqsEndpoint: e.AWS_ENDPOINT_URL_SQS } : {}),
    ...(e.AWS_ENDPOINT_URL_S3 ? { s3Endpoint: e.AWS_ENDPOINT_URL_S3 } : {}),
    ...(e.LABELBOX_API_KEY_SECRET_ARN
      ? { labelboxKey: { source: "secret", secretId: e.LABELBOX_API_KEY_SECRET_ARN } as const }
      : e.LABELBOX_API_KEY
        ? { labelboxKey: { source: "env", value: e.LABELBOX_API_KEY } as const }
        : {}),
    labelboxApiOrigin: labelboxOrigin.origin,
    taskLink: e.CLARIFAI_TASK_LINK,
    maxAnnotationsPerRequest: e.MAX_ANNOTATIONS_PER_REQUEST,
    maxConcurrentRequests: e.MAX_CONCURRENT_REQUESTS,
    requestsPerSecond: e.CLARIFAI_REQUESTS_PER_SECOND,
    requestTimeoutMs: e.REQUEST_TIMEOUT_MS,
    backoff: { baseSeconds: e.BACKOFF_BASE_SECONDS, capSeconds: e.BACKOFF_CAP_SECONDS },
    ...(e.MAX_RECEIVE_COUNT !== undefined ? { maxReceiveCount: e.MAX_RECEIVE_COUNT } : {}),
    taskLookup: e.CLARIFAI_TASK_LOOKUP === "on",
    taskCacheSeconds: e.CLARIFAI_TASK_CACHE_SECONDS,
    memoryMb: e.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
  });
}

/**
 * BRIDGE_MAPPING: JSON, checked by the validator generated from the mapping's schema; errors name the variable, the
 * field and the rule, in zod's words (loaded only for a refusal).
 */
export async function parseMapping(text: string | undefined): Promise<MappingConfig> {
  if (!text) return EMPTY_MAPPING;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`invalid configuration: BRIDGE_MAPPING is not JSON: ${(error as Error).message}`);
  }
  // Its validator loads only here: a deployment without a mapping (canonical events only) never reads it.
  const { mappingConfigProblem } = await import("./events/generated/validate-mapping.js");
  if (mappingConfigProblem(json) === undefined) return withMappingDefaults(json as Record<string, unknown>);
  // zod's acceptance wins, as for records (parse-record.ts); its refusal gives the words.
  const verdict = (await loadWords()).check("mapping", json);
  if (verdict.ok) return verdict.value as MappingConfig;
  throw new ConfigError(`invalid configuration: BRIDGE_MAPPING ${verdict.reason}`);
}

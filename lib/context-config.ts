// Over 300 lines: every cdk.json context key, parsed and checked with its message, one table.
import { readFileSync } from "node:fs";
import { parsePullerConfig } from "../lambda/pull/puller-config.js";

/** The app's settings, read from CDK context (cdk.json, or `-c key=value` on the command line). */
export interface ContextConfig {
  /** The CloudFormation stack's name. @default `ClarifaiAnnotationBridge` */
  readonly stackName: string;
  /** The Secrets Manager secret holding the Clarifai key: its name or complete ARN (the stack only references it). @default required */
  readonly clarifaiSecret: string;
  /** The Secrets Manager secret holding a Labelbox API key (name or complete ARN), for Labelbox's mask URLs. @default none */
  readonly labelboxApiKeySecret?: string;
  /** With a personal access token, the Clarifai user owning the app (with `clarifaiAppId`); leave both out for an app-scoped key. */
  readonly clarifaiUserId?: string;
  /** With a personal access token, the Clarifai app (with `clarifaiUserId`). */
  readonly clarifaiAppId?: string;
  /** Where alarms go: an SNS topic (encrypted with its own KMS key) with this email subscribed. @default no topic */
  readonly alarmEmail?: string;
  /** Records per handler invocation, 1 to 10,000 (a multiple of 128 fills Clarifai's requests). @default 128 */
  readonly batchSize?: number;
  /** Handler instances at most, 2 to 1,000; Clarifai's 15 requests a second are shared among them. @default 2 */
  readonly maxConcurrency?: number;
  /** Receives before a record is dead-lettered (invalid records go at once). @default 10 */
  readonly maxReceiveCount?: number;
  /** The handler's timeout, 1 to 900 (the queue's visibility timeout follows: 6x plus the batching window). @default 60 */
  readonly functionTimeoutSeconds?: number;
  /** The handler's memory, 128 to 10,240 MB. @default 256 */
  readonly memorySize?: number;
  /** FIFO queues (per-annotation ordering, exactly-once sends). @default false */
  readonly fifo?: boolean;
  /** Deploy the webhook ingress (context `webhook=true`). */
  readonly webhook?: boolean;
  /** Lambda active tracing (X-Ray) for the functions (context `tracing=true`). */
  readonly tracing?: boolean;
  /** What `cdk destroy` does to the queues and log groups: `destroy` (default) or `retain`. */
  readonly removalPolicy?: "destroy" | "retain";
  /** The upstream mapping (context `mapping`: an object in cdk.json, or JSON text; or `mappingFile`: a path). */
  readonly mapping?: unknown;
  /**
   * The puller (context `puller`: an object in cdk.json, or JSON text; or `pullerFile`: a path): `labelStudio`,
   * `cvat` and `requestsPerSecond` as in PULLER_CONFIG, plus `scheduleMinutes` (15) and `audit` (`true`, or
   * `{"scheduleHours": 24, "maxPages": 250, "clarifaiRequestsPerSecond": 2}`; off by default).
   */
  readonly puller?: PullerContext;
}

/** The puller's settings from context. */
export interface PullerContext {
  readonly labelStudio?: {
    readonly url: string;
    readonly projects: number[];
    readonly pageSize?: number;
    readonly maxPagesPerRun?: number;
    readonly overlapSeconds?: number;
    readonly initialLookbackSeconds?: number;
  };
  readonly cvat?: { readonly url: string };
  readonly requestsPerSecond?: number;
  readonly scheduleMinutes?: number;
  /** The scheduled audit: `true`, or `{scheduleHours, maxPages, clarifaiRequestsPerSecond}`. @default off */
  readonly audit?:
    | boolean
    | { scheduleHours?: number; maxPages?: number; clarifaiRequestsPerSecond?: number };
}

/** Every problem with the context, one per line; thrown by `contextConfig`, printed without a stack by bin/app.ts. */
export class ContextError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join("\n"));
    this.name = "ContextError";
  }
}

/** The context keys this app reads. */
export const CONTEXT_KEYS = [
  "stackName",
  "clarifaiSecret",
  "labelboxApiKeySecret",
  "clarifaiUserId",
  "clarifaiAppId",
  "alarmEmail",
  "batchSize",
  "maxConcurrency",
  "maxReceiveCount",
  "functionTimeoutSeconds",
  "memorySize",
  "fifo",
  "webhook",
  "tracing",
  "removalPolicy",
  "mapping",
  "mappingFile",
  "puller",
  "pullerFile",
] as const;

/** Keys CDK itself sets or reads: feature flags (`@aws-cdk/…`), lookups (`availability-zones:…`), `aws:cdk:…`. */
const isCdkKey = (key: string) => key.startsWith("@") || key.includes(":") || key.startsWith("aws-cdk");

/**
 * Reads and checks the context. `all` is every context key with its value (`app.node.getAllContext()`): a key
 * this app does not know fails naming the nearest known one, since a typo (`webhooks=true`) would otherwise be
 * ignored without a word. Every problem is collected; a ContextError lists them all.
 */
export function contextConfig(all: Readonly<Record<string, unknown>>, readFile = readText): ContextConfig {
  const problems: string[] = [];
  for (const key of Object.keys(all)) {
    if (isCdkKey(key) || (CONTEXT_KEYS as readonly string[]).includes(key)) continue;
    const near = nearest(key, CONTEXT_KEYS);
    problems.push(`context ${key} is not a setting of this app${near ? `: did you mean ${near}?` : ""}`);
  }
  const get = (key: string) => {
    const value = all[key];
    return value === undefined || value === null || value === "" ? undefined : value;
  };
  const text = (key: string): string | undefined => {
    const value = get(key);
    if (value === undefined) return undefined;
    if (typeof value !== "string") {
      problems.push(`context ${key} must be text, got ${JSON.stringify(value)} (-c ${key}=…)`);
      return undefined;
    }
    return value;
  };
  const int = (key: string, min: number, max: number, why: string): number | undefined => {
    const value = get(key);
    if (value === undefined) return undefined;
    const n = typeof value === "number" || typeof value === "string" ? Number(value) : Number.NaN;
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(
        `context ${key} must be a whole number from ${min} to ${max} (${why}), got ${JSON.stringify(value)}`,
      );
      return undefined;
    }
    return n;
  };
  const bool = (key: string): boolean | undefined => {
    const value = get(key);
    if (value === undefined || value === false || value === "false")
      return value === undefined ? undefined : false;
    if (value === true || value === "true") return true;
    problems.push(`context ${key} must be true or false, got ${JSON.stringify(value)} (-c ${key}=true)`);
    return undefined;
  };

  const clarifaiSecret = text("clarifaiSecret");
  if (!clarifaiSecret && !problems.some((p) => p.startsWith("context clarifaiSecret")))
    problems.push(
      "context clarifaiSecret is required: the name or ARN of the Secrets Manager secret holding the Clarifai key; " +
        "set it in cdk.json or with -c clarifaiSecret=clarifai-annotation-bridge/clarifai-pat",
    );
  const labelboxApiKeySecret = text("labelboxApiKeySecret");
  const clarifaiUserId = text("clarifaiUserId");
  const clarifaiAppId = text("clarifaiAppId");
  if (Boolean(clarifaiUserId) !== Boolean(clarifaiAppId)) {
    const missing = clarifaiUserId ? "clarifaiAppId" : "clarifaiUserId";
    problems.push(
      `context ${missing} is required with a personal access token (set both clarifaiUserId and clarifaiAppId, or neither for an app-scoped key): -c ${missing}=…`,
    );
  }
  for (const key of ["clarifaiUserId", "clarifaiAppId"] as const) {
    const id = key === "clarifaiUserId" ? clarifaiUserId : clarifaiAppId;
    if (id && !/^[A-Za-z0-9_-]{1,255}$/.test(id))
      problems.push(
        `context ${key} must be letters, digits, '_' or '-' (a Clarifai id), got ${JSON.stringify(id)}`,
      );
  }
  const alarmEmail = text("alarmEmail");
  if (alarmEmail && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(alarmEmail))
    problems.push(`context alarmEmail must be an email address, got ${JSON.stringify(alarmEmail)}`);
  const stackName = text("stackName");
  if (stackName && !/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(stackName))
    problems.push(
      `context stackName must start with a letter and hold only letters, digits and '-' (CloudFormation), got ${JSON.stringify(stackName)}`,
    );
  const removal = text("removalPolicy");
  if (removal && removal !== "destroy" && removal !== "retain")
    problems.push(`context removalPolicy must be destroy or retain, got ${JSON.stringify(removal)}`);

  const mappingText = get("mapping");
  const mappingFile = text("mappingFile");
  let mapping: unknown;
  if (mappingText !== undefined && mappingFile)
    problems.push("context mapping and mappingFile are both set: keep one");
  else if (mappingFile) {
    try {
      mapping = parseJson(readFile(mappingFile), `the file ${mappingFile} (mappingFile)`, "mapping");
    } catch (error) {
      problems.push(`context mappingFile: ${(error as Error).message}`);
    }
  } else if (mappingText !== undefined) {
    try {
      mapping =
        typeof mappingText === "string" ? parseJson(mappingText, "context mapping", "mapping") : mappingText;
    } catch (error) {
      problems.push((error as Error).message);
    }
  }

  const pullerText = get("puller");
  const pullerFile = text("pullerFile");
  let puller: PullerContext | undefined;
  if (pullerText !== undefined && pullerFile)
    problems.push("context puller and pullerFile are both set: keep one");
  else if (pullerText !== undefined || pullerFile) {
    try {
      const raw = pullerFile
        ? parseJson(readFile(pullerFile), `the file ${pullerFile} (pullerFile)`, "puller")
        : typeof pullerText === "string"
          ? parseJson(pullerText, "context puller", "puller")
          : pullerText;
      puller = checkedPuller(raw);
    } catch (error) {
      problems.push((error as Error).message);
    }
  }

  const config: ContextConfig = {
    stackName: stackName ?? "ClarifaiAnnotationBridge",
    clarifaiSecret: clarifaiSecret ?? "",
    ...(labelboxApiKeySecret ? { labelboxApiKeySecret } : {}),
    ...(clarifaiUserId ? { clarifaiUserId } : {}),
    ...(clarifaiAppId ? { clarifaiAppId } : {}),
    ...(alarmEmail ? { alarmEmail } : {}),
    ...optional("batchSize", int("batchSize", 1, 10_000, "the SQS event source's limit")),
    ...optional("maxConcurrency", int("maxConcurrency", 2, 1000, "the SQS event source's limits")),
    ...optional("maxReceiveCount", int("maxReceiveCount", 1, 1000, "SQS's redrive limit")),
    ...optional("functionTimeoutSeconds", int("functionTimeoutSeconds", 1, 900, "Lambda's limit")),
    ...optional("memorySize", int("memorySize", 128, 10_240, "Lambda's limits, in MB")),
    ...optional("fifo", bool("fifo")),
    ...optional("webhook", bool("webhook")),
    ...optional("tracing", bool("tracing")),
    ...(removal === "destroy" || removal === "retain" ? { removalPolicy: removal } : {}),
    ...(mapping !== undefined ? { mapping } : {}),
    ...(puller ? { puller } : {}),
  };
  if (problems.length > 0) throw new ContextError(problems);
  return config;
}

const optional = <K extends string, V>(key: K, value: V | undefined) =>
  (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };

function readText(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    throw new Error(
      `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
}

/** The puller's context, checked with the puller's own schema (`scheduleMinutes` beside it). */
function checkedPuller(raw: unknown): PullerContext {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw))
    throw new Error("context puller must be a JSON object with labelStudio and/or cvat");
  const { scheduleMinutes, audit, ...rest } = raw as Record<string, unknown>;
  const auditContext = checkedAudit(audit);
  if (
    scheduleMinutes !== undefined &&
    (!Number.isInteger(scheduleMinutes) || (scheduleMinutes as number) < 5)
  )
    throw new Error(
      `context puller.scheduleMinutes must be a whole number of at least 5, got ${JSON.stringify(scheduleMinutes)}`,
    );
  if (!("labelStudio" in rest) && !("cvat" in rest))
    throw new Error("context puller must set labelStudio and/or cvat");
  try {
    parsePullerConfig(
      JSON.stringify({
        ...rest,
        ...(auditContext === undefined
          ? {}
          : {
              audit: auditContext === true ? {} : { ...auditContext, scheduleHours: undefined },
            }),
      }),
    );
  } catch (error) {
    throw new Error(
      `context puller: ${(error as Error).message.replace(/^invalid configuration: PULLER_CONFIG: /, "")}`,
    );
  }
  return {
    ...(rest as PullerContext),
    ...(scheduleMinutes !== undefined ? { scheduleMinutes: scheduleMinutes as number } : {}),
    ...(auditContext !== undefined ? { audit: auditContext } : {}),
  };
}

/** `puller.audit`: `true`/`false`, or an object whose `scheduleHours` is between 0.25 and 24. */
function checkedAudit(audit: unknown): PullerContext["audit"] | undefined {
  if (audit === undefined || audit === false) return undefined;
  if (audit === true) return true;
  if (audit === null || typeof audit !== "object" || Array.isArray(audit))
    throw new Error(
      "context puller.audit must be true, or an object with scheduleHours, maxPages, clarifaiRequestsPerSecond",
    );
  const { scheduleHours } = audit as { scheduleHours?: unknown };
  if (
    scheduleHours !== undefined &&
    (typeof scheduleHours !== "number" || !(scheduleHours >= 0.25 && scheduleHours <= 24))
  )
    throw new Error(
      `context puller.audit.scheduleHours must be a number from 0.25 to 24, got ${JSON.stringify(scheduleHours)}`,
    );
  return audit as Exclude<PullerContext["audit"], boolean | undefined>;
}

/**
 * A JSON setting (`mapping` or `puller`) read from `where`; its error names the setting's file form, since the CDK
 * CLI cuts `-c` values at the first line break.
 */
function parseJson(text: string, where: string, setting: "mapping" | "puller"): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const oneLine = !text.includes("\n") && text.trim().startsWith("{") && !text.trim().endsWith("}");
    const example = setting === "mapping" ? " (see examples/mapping.json)" : "";
    throw new Error(
      `${where} must be JSON${example}: ${(error as Error).message}${
        oneLine
          ? `. The CDK CLI cuts -c values at the first line break: use -c ${setting}File=path/to/${setting}.json`
          : ""
      }`,
    );
  }
}

/** The known key closest to `key` (edit distance at most a third of its length, or a case-only difference). */
export function nearest(key: string, known: readonly string[]): string | undefined {
  let best: { key: string; d: number } | undefined;
  for (const candidate of known) {
    const d = distance(key.toLowerCase(), candidate.toLowerCase());
    if (!best || d < best.d) best = { key: candidate, d };
  }
  return best && best.d <= Math.max(2, Math.floor(key.length / 3)) ? best.key : undefined;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j] as number;
      row[j] = Math.min(
        (row[j] as number) + 1,
        (row[j - 1] as number) + 1,
        previous + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      previous = current;
    }
  }
  return row[b.length] as number;
}

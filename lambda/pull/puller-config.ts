import * as z from "zod/mini";
import { describeIssues } from "../events/event-schema.js";
import { secureOrLoopback } from "../loopback.js";

/**
 * The puller's settings (`PULLER_CONFIG`, JSON): which tools it reads and how hard. Its credentials are not here:
 * they are in the secret named by `PULLER_SECRET_ARN` (`{"labelStudio": "<token>", "cvat": "<token>"}`), or, for
 * local runs only, `PULLER_TOKENS` in the same form.
 */
const httpsUrl = z.url({ protocol: /^https?$/ });

export const pullerConfigSchema = z.strictObject({
  /**
   * Label Studio reconciliation: `url`, `projects` (each needs `projects["label-studio:<id>"]` in the mapping),
   * `pageSize` (100), `maxPagesPerRun` (20), `overlapSeconds` (600), `initialLookbackSeconds` (86400).
   */
  labelStudio: z.optional(
    z.strictObject({
      /** The Label Studio server, e.g. `https://label-studio.example.com`. */
      url: httpsUrl,
      /** The projects to reconcile (each needs `projects["label-studio:<id>"]` in BRIDGE_MAPPING). */
      projects: z.array(z.number().check(z.int(), z.positive())).check(z.minLength(1), z.maxLength(100)),
      /** Tasks per request. @default 100 */
      pageSize: z._default(z.number().check(z.int(), z.minimum(1), z.maximum(1000)), 100),
      /** Pages of changed tasks per project per run (the rest waits for the next run). @default 20 */
      maxPagesPerRun: z._default(z.number().check(z.int(), z.minimum(1), z.maximum(1000)), 20),
      /** Each run starts this long before the watermark, so a late commit is still seen. @default 600 */
      overlapSeconds: z._default(z.number().check(z.int(), z.minimum(0), z.maximum(86_400)), 600),
      /** The first run (no watermark yet) starts this long ago. @default 86400 (a day) */
      initialLookbackSeconds: z._default(z.number().check(z.int(), z.minimum(0)), 86_400),
    }),
  ),
  /** CVAT: `url`, the server completed jobs are pulled from (their webhooks reach the ingress's `/cvat`). */
  cvat: z.optional(
    z.strictObject({
      /** The CVAT server, e.g. `https://app.cvat.ai`. */
      url: httpsUrl,
    }),
  ),
  /**
   * The scheduled audit of the Label Studio projects against their Clarifai tasks (metrics AuditMissing, AuditStale,
   * AuditExtra per task). Needs the Clarifai settings beside it: CLARIFAI_PAT_SECRET_ARN (or, locally,
   * CLARIFAI_PAT), CLARIFAI_API_BASE, CLARIFAI_USER_ID/CLARIFAI_APP_ID, BRIDGE_MAPPING.
   */
  audit: z.optional(
    z.strictObject({
      /** Pages read per project from Label Studio and from Clarifai (128 annotations a page). @default 250 */
      maxPages: z._default(z.number().check(z.int(), z.minimum(1), z.maximum(10_000)), 250),
      /** ListAnnotations requests per second (Clarifai allows 15 per user, shared with the bridge). @default 2 */
      clarifaiRequestsPerSecond: z._default(z.number().check(z.positive(), z.maximum(15)), 2),
    }),
  ),
  /** Requests per second to each tool's API, per puller instance. @default 5 */
  requestsPerSecond: z._default(z.number().check(z.positive(), z.maximum(100)), 5),
  /** Milliseconds one API request may take. @default 10000 */
  requestTimeoutMs: z._default(z.number().check(z.int(), z.minimum(100), z.maximum(60_000)), 10_000),
});
export type PullerConfig = z.infer<typeof pullerConfigSchema>;

/**
 * The environment the puller reads (lambda/puller.ts), documented here since it reads `process.env` directly:
 * each entry's TSDoc is its type and default, its value its meaning (docs/configuration.md is generated from it).
 */
export const PULLER_ENVIRONMENT = {
  /** JSON @default required */
  PULLER_CONFIG: "The puller's settings: the PULLER_CONFIG fields below.",
  /** URL @default required */
  QUEUE_URL: "The bridge's queue, where pulled annotations go.",
  /** text @default required with labelStudio */
  PULLER_STATE_BUCKET: "The S3 bucket holding each Label Studio project's watermark and annotation ids.",
  /** ARN @default required when deployed */
  PULLER_SECRET_ARN:
    'The secret holding the tools\' API tokens: JSON `{"labelStudio": "<token>", "cvat": "<token>"}`.',
  /** JSON @default unset */
  PULLER_TOKENS: "The tokens themselves, in the same form, for local runs only.",
  /** URL @default unset */
  AWS_ENDPOINT_URL_S3: "The AWS SDK's endpoint override for S3 (local runs).",
  /** URL @default unset */
  AWS_ENDPOINT_URL_SQS: "The AWS SDK's endpoint override for SQS (local runs).",
  /** ARN @default required with audit */
  CLARIFAI_PAT_SECRET_ARN: "The audit only: the bridge's Clarifai key secret (read for ListAnnotations).",
  /** text @default unset */
  CLARIFAI_PAT: "The audit only: the key itself, for local runs only.",
  /** URL @default `https://api.clarifai.com` */
  CLARIFAI_API_BASE: "The audit only: Clarifai's API.",
  /** id @default unset */
  CLARIFAI_USER_ID: "The audit only: the app's user, with a personal access token.",
  /** id @default unset */
  CLARIFAI_APP_ID: "The audit only: the app, with a personal access token.",
  /** one of `both`, `task_id`, `annotation_info` @default `both` */
  CLARIFAI_TASK_LINK: "The audit only: the bridge's task link, so the audit derives the same annotations.",
  /** JSON @default no projects */
  BRIDGE_MAPPING: "The audit only: the bridge's mapping, which names each project's Clarifai task.",
} as const;

/** The settings from `PULLER_CONFIG`, or an error naming the field and the rule. */
export function parsePullerConfig(text: string | undefined): PullerConfig {
  let json: unknown;
  try {
    json = JSON.parse(text ?? "{}");
  } catch {
    throw new Error("invalid configuration: PULLER_CONFIG must be JSON");
  }
  const parsed = z.safeParse(pullerConfigSchema, json);
  if (!parsed.success)
    throw new Error(`invalid configuration: PULLER_CONFIG: ${describeIssues(parsed.error)}`);
  for (const [name, tool] of [
    ["labelStudio", parsed.data.labelStudio],
    ["cvat", parsed.data.cvat],
  ] as const) {
    if (!tool) continue;
    if (!secureOrLoopback(new URL(tool.url)))
      throw new Error(
        `invalid configuration: PULLER_CONFIG: ${name}.url may use http:// only for a loopback host; use https:// (the token travels with every request)`,
      );
  }
  if (parsed.data.audit && !parsed.data.labelStudio)
    throw new Error("invalid configuration: PULLER_CONFIG: audit needs labelStudio (it audits its projects)");
  return parsed.data;
}

/** The tools' API tokens: `{"labelStudio": "...", "cvat": "..."}`. */
export function parsePullerTokens(text: string): { labelStudio?: string; cvat?: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // Quote nothing of it: it is a secret.
    throw new Error('the puller secret must be JSON: {"labelStudio": "<token>", "cvat": "<token>"}');
  }
  if (json === null || typeof json !== "object" || Array.isArray(json))
    throw new Error('the puller secret must be a JSON object: {"labelStudio": "<token>", "cvat": "<token>"}');
  const out: { labelStudio?: string; cvat?: string } = {};
  for (const name of ["labelStudio", "cvat"] as const) {
    const v = (json as Record<string, unknown>)[name];
    if (v === undefined) continue;
    if (typeof v !== "string" || v.trim() === "")
      throw new Error(`the puller secret's "${name}" must be a non-empty string`);
    out[name] = v.trim();
  }
  return out;
}

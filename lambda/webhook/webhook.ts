// Over 300 lines: the ingress's pure decisions for four tools' authentication schemes, one function of the request each.
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { jobToPull } from "../pull/cvat-job.js";
import { parseSecretJson, SecretError } from "../secret-text.js";

/**
 * The webhook ingress's decisions, as plain functions of the request: which system is calling, whether it proved
 * who it is, whether the body fits, and what goes on the queue. No I/O; `ingress.ts` is the thin edge around it.
 */
export const WEBHOOK_SYSTEMS = {
  "/label-studio": "label-studio",
  "/labelbox": "labelbox",
  "/scale": "scale",
  "/cvat": "cvat",
} as const;
export type WebhookSystem = (typeof WEBHOOK_SYSTEMS)[keyof typeof WEBHOOK_SYSTEMS];

export interface WebhookRequest {
  readonly method: string;
  readonly path: string;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** The raw body bytes, exactly as sent (Labelbox signs these). */
  readonly body: Buffer;
}

/** Per-system secrets; a system without one is switched off (its path answers the same 401 as a wrong secret). */
export interface WebhookSecrets {
  /** The value Label Studio sends in the configured header. */
  readonly labelStudio?: string;
  /** The secret Labelbox signs bodies with (HMAC). */
  readonly labelbox?: string;
  /** Scale's callback auth key, sent back in the `scale-callback-auth` header (only in the JSON form). */
  readonly scale?: string;
  /** The secret CVAT signs bodies with (`X-Signature-256`; only in the JSON form, and only with the puller on). */
  readonly cvat?: string;
}

export interface WebhookOptions {
  /** The header Label Studio sends the shared secret in (configured on its webhook). @default "authorization" */
  readonly labelStudioHeader: string;
  /** Bodies above this are refused (413), after trimming a Label Studio `project` to `{id, title}`. */
  readonly maxBodyBytes: number;
  /** CVAT webhooks ask the puller to pull a job: without a puller (no pull queue) `/cvat` is switched off. */
  readonly pullerEnabled?: boolean;
}

export type WebhookDecision =
  | {
      readonly kind: "enqueue";
      readonly system: WebhookSystem;
      readonly body: string;
      /** String message attributes: `format`, and for Labelbox its topic and delivery id. */
      readonly attributes: Readonly<Record<string, string>>;
      /** The FIFO message group: one upstream annotation (or label), so its events stay in order. */
      readonly groupId: string;
      /** The Label Studio `project` was cut down to `{id, title}` to fit the queue. */
      readonly trimmed: boolean;
      /** Which queue: the bridge's (`bridge`), or the puller's (`pull`: a CVAT job to pull). */
      readonly queue: "bridge" | "pull";
    }
  | {
      /** Authenticated, and nothing to do (a CVAT ping, or a job that is not completed): 200. */
      readonly kind: "ignore";
      readonly system: WebhookSystem;
      readonly reason: string;
    }
  | {
      readonly kind: "reject";
      readonly status: 400 | 401 | 405 | 413;
      /** Why, as a metric dimension: `WebhookRejected` by `reason`. */
      readonly code: RejectCode;
      /** What the caller is told. */
      readonly message: string;
      /** What the log says (more than an unauthenticated caller may learn). */
      readonly reason: string;
    };

/**
 * The one answer to every unauthenticated request, whatever the path: an unknown path, a switched-off system, a
 * wrong secret and a wrong signature look the same, so a caller without credentials learns nothing of which
 * tools are enabled.
 */
export const UNAUTHENTICATED = "missing or wrong webhook credentials";

export type RejectCode = "unauthenticated" | "method" | "bad-body" | "too-large" | "header-mismatch";

const CODES = { 401: "unauthenticated", 405: "method", 400: "bad-body", 413: "too-large" } as const;

const reject = (
  status: 400 | 401 | 405 | 413,
  message: string,
  reason: string = message,
  code: RejectCode = CODES[status],
): WebhookDecision => ({ kind: "reject", status, code, message, reason });

/** The shortest secret accepted from an operator: the construct generates 48 characters. */
export const MIN_WEBHOOK_SECRET_LENGTH = 24;

/**
 * The webhook secret's text, as documented: one string for every system, or a JSON object with `labelStudio`
 * and/or `labelbox` (a system left out is switched off). Each secret has at least 24 characters and no control
 * characters; Label Studio's travels in a header, so it is printable ASCII. Anything else throws a `SecretError`
 * that names `where` and the rule, and quotes nothing of the text.
 */
export function parseWebhookSecrets(value: string, where = "the webhook secret"): WebhookSecrets {
  const text = value.trim();
  if (!text.startsWith("{")) {
    checkSecret(text, where, "label-studio");
    return { labelStudio: text, labelbox: text };
  }
  const json = parseSecretJson(text, where);
  if (json === null || typeof json !== "object" || Array.isArray(json))
    throw new SecretError(`${where} is not a JSON object`);
  const fields = json as Record<string, unknown>;
  const unknown = Object.keys(fields).filter(
    (k) => k !== "labelStudio" && k !== "labelbox" && k !== "scale" && k !== "cvat",
  ).length;
  if (unknown > 0)
    throw new SecretError(
      `${where} has ${unknown} field(s) other than "labelStudio", "labelbox", "scale" and "cvat" (field names are case-sensitive)`,
    );
  const secrets: { labelStudio?: string; labelbox?: string; scale?: string; cvat?: string } = {};
  for (const [field, system] of [
    ["labelStudio", "label-studio"],
    ["labelbox", "labelbox"],
    ["scale", "scale"],
    ["cvat", "cvat"],
  ] as const) {
    if (!(field in fields)) continue;
    const secret = fields[field];
    if (typeof secret !== "string") throw new SecretError(`${where}: "${field}" is not text`);
    checkSecret(secret, `${where}: "${field}"`, system);
    secrets[field] = secret;
  }
  if (!secrets.labelStudio && !secrets.labelbox && !secrets.scale && !secrets.cvat)
    throw new SecretError(`${where} names no system: set "labelStudio", "labelbox", "scale" and/or "cvat"`);
  return secrets;
}

/** Scale issues its callback auth key itself (the operator cannot choose its length): a lower floor for it. */
export const MIN_SCALE_KEY_LENGTH = 16;

function checkSecret(secret: string, where: string, system: WebhookSystem): void {
  const min = system === "scale" ? MIN_SCALE_KEY_LENGTH : MIN_WEBHOOK_SECRET_LENGTH;
  if (secret.length < min)
    throw new SecretError(
      system === "scale"
        ? `${where} is shorter than ${min} characters: copy Scale's whole callback auth key`
        : `${where} is shorter than ${min} characters; use a long random value`,
    );
  if (/\p{Cc}/u.test(secret))
    throw new SecretError(`${where} holds control characters (is it on several lines?)`);
  if (system !== "labelbox" && system !== "cvat" && !/^[\x20-\x7e]+$/.test(secret))
    throw new SecretError(`${where} must be printable ASCII: it travels in an HTTP header`);
}

export function decideWebhook(
  request: WebhookRequest,
  secrets: WebhookSecrets,
  options: WebhookOptions,
): WebhookDecision {
  const path = request.path.replace(/\/+$/, "") as keyof typeof WEBHOOK_SYSTEMS;
  const system = WEBHOOK_SYSTEMS[path];
  const secret =
    system === "label-studio"
      ? secrets.labelStudio
      : system === "labelbox"
        ? secrets.labelbox
        : system === "scale"
          ? secrets.scale
          : system === "cvat" && options.pullerEnabled
            ? secrets.cvat
            : undefined;
  if (!system || !secret)
    return reject(
      401,
      UNAUTHENTICATED,
      `no webhook at ${request.path.slice(0, 64)} (unknown or switched off)`,
    );
  // The sender proves who it is before anything else is said, the method included.
  const verified =
    system === "label-studio"
      ? sharedSecretMatches(request.headers[options.labelStudioHeader.toLowerCase()], secret)
      : system === "scale"
        ? exactSecretMatches(request.headers["scale-callback-auth"], secret)
        : system === "cvat"
          ? hmacMatches("sha256", request.headers["x-signature-256"], request.body, secret)
          : signatureMatches(request.headers, request.body, secret);
  if (!verified)
    return reject(
      401,
      UNAUTHENTICATED,
      system === "label-studio"
        ? `missing or wrong ${options.labelStudioHeader} header`
        : system === "scale"
          ? "missing or wrong scale-callback-auth header"
          : system === "cvat"
            ? "missing or wrong X-Signature-256 header"
            : "missing or wrong X-Hub-Signature-256 (or X-Hub-Signature) header",
    );
  if (request.method !== "POST") return reject(405, "webhooks are POST requests");

  let json: unknown;
  try {
    json = JSON.parse(request.body.toString("utf8"));
  } catch {
    return reject(400, "the body is not JSON");
  }
  if (json === null || typeof json !== "object" || Array.isArray(json))
    return reject(400, "the body is not a JSON object");
  const payload = json as Record<string, unknown>;

  if (system === "cvat") {
    // CVAT's webhooks carry no annotations: a completed job is a request to pull it; anything else is acknowledged.
    const pull = jobToPull(payload);
    if (!pull)
      return { kind: "ignore", system, reason: `nothing to pull for ${String(payload.event).slice(0, 64)}` };
    const body = JSON.stringify({ cvat: "pull-job", jobId: pull.jobId });
    return {
      kind: "enqueue",
      system,
      body,
      attributes: { format: "cvat-pull" },
      groupId: `cvat:${pull.jobId}`,
      trimmed: false,
      queue: "pull",
    };
  }

  let body = request.body.toString("utf8");
  let trimmed = false;
  if (
    Buffer.byteLength(body) > options.maxBodyBytes &&
    system === "label-studio" &&
    isObject(payload.project)
  ) {
    // The project carries its whole label config and counters; the bridge reads only its id.
    const { id, title } = payload.project;
    try {
      body = JSON.stringify({ ...payload, project: { id, title } });
      trimmed = true;
    } catch {
      // Nested too deep to serialise again: it cannot be trimmed, so it stays too large.
    }
  }
  if (Buffer.byteLength(body) > options.maxBodyBytes)
    return reject(413, `the body is larger than ${options.maxBodyBytes} bytes`);

  const attributes: Record<string, string> = { format: system };
  if (system === "labelbox") {
    const topic = request.headers["x-labelbox-event"];
    // X-Labelbox-Event is not signed: where the signed body says what it is, the body wins. A body that carries
    // label content is never a delete, so a replayed create cannot be turned into one by changing the header.
    if (topic?.trim().toUpperCase() === "LABEL_DELETED" && carriesLabelContent(payload))
      return reject(
        400,
        "X-Labelbox-Event LABEL_DELETED does not match a body that carries label content",
        "a LABEL_DELETED header on a signed body with label content (a tampered replay?)",
        "header-mismatch",
      );
    const delivery = request.headers["x-labelbox-id"];
    if (topic) attributes["labelbox-event"] = topic.slice(0, 256);
    if (delivery) attributes["labelbox-id"] = delivery.slice(0, 256);
  }
  return {
    kind: "enqueue",
    system,
    body,
    attributes,
    groupId: groupIdOf(system, payload, body),
    trimmed,
    queue: "bridge",
  };
}

/** Label Studio: the configured header equals the secret, optionally after a scheme word (`Bearer`, `Token`). */
export function sharedSecretMatches(header: string | undefined, secret: string): boolean {
  if (!header) return false;
  const value = header.replace(/^(Bearer|Token|Basic)\s+/i, "").trim();
  // Digests have equal length, so the comparison takes the same time whatever the guess.
  return timingSafeEqual(sha256(value), sha256(secret));
}

/** Scale: the `scale-callback-auth` header is the callback auth key itself, compared in constant time. */
export function exactSecretMatches(header: string | undefined, secret: string): boolean {
  if (!header) return false;
  return timingSafeEqual(sha256(header.trim()), sha256(secret));
}

/** Labelbox: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256>`, or the older `X-Hub-Signature: sha1=<hex HMAC-SHA1>`. */
export function signatureMatches(
  headers: Readonly<Record<string, string | undefined>>,
  body: Buffer,
  secret: string,
): boolean {
  const [algorithm, header] = headers["x-hub-signature-256"]
    ? (["sha256", headers["x-hub-signature-256"]] as const)
    : (["sha1", headers["x-hub-signature"]] as const);
  return hmacMatches(algorithm, header, body, secret);
}

/** `<algorithm>=<hex HMAC of the body>` (Labelbox's X-Hub-Signature*, CVAT's X-Signature-256), in constant time. */
export function hmacMatches(
  algorithm: "sha256" | "sha1",
  header: string | undefined,
  body: Buffer,
  secret: string,
): boolean {
  // Exactly the digest's length in hex: Buffer.from(hex) would drop an odd extra digit and still match.
  const digits = algorithm === "sha256" ? 64 : 40;
  const match = header ? new RegExp(`^${algorithm}=([0-9a-fA-F]{${digits}})$`).exec(header.trim()) : null;
  if (!match) return false;
  const given = Buffer.from(match[1] as string, "hex");
  const expected = createHmac(algorithm, secret).update(body).digest();
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Whether a Labelbox body carries label content: a v1 `label` with objects or classifications, a v2 label's annotations. */
function carriesLabelContent(payload: Record<string, unknown>): boolean {
  const nonEmpty = (v: unknown) => Array.isArray(v) && v.length > 0;
  const hasContent = (v: unknown) => isObject(v) && (nonEmpty(v.objects) || nonEmpty(v.classifications));
  if (typeof payload.label === "string") {
    try {
      return hasContent(JSON.parse(payload.label));
    } catch {
      return payload.label.trim() !== "";
    }
  }
  if (isObject(payload.projects))
    return Object.values(payload.projects).some(
      (project) =>
        isObject(project) &&
        Array.isArray(project.labels) &&
        project.labels.some((l) => isObject(l) && hasContent(l.annotations)),
    );
  return false;
}

/** One upstream annotation per FIFO group (deletes name no input, so the input id cannot be the group here). */
function groupIdOf(system: WebhookSystem, payload: Record<string, unknown>, body: string): string {
  const first = (v: unknown) => (Array.isArray(v) ? v[0] : v);
  let key: unknown;
  if (system === "label-studio") {
    const annotation = first(payload.annotation) ?? first(payload.annotations);
    const project = isObject(payload.project) ? payload.project.id : undefined;
    key =
      isObject(annotation) && annotation.id !== undefined ? `${project ?? ""}:${annotation.id}` : undefined;
  } else if (system === "scale") {
    key = isObject(payload.task) ? (payload.task.task_id ?? payload.task_id) : payload.task_id;
  } else {
    const projects = isObject(payload.projects) ? Object.values(payload.projects) : [];
    const label = isObject(projects[0]) ? first(projects[0].labels) : undefined;
    key = payload.id ?? (isObject(label) ? label.id : undefined);
  }
  const text =
    typeof key === "string" || typeof key === "number" ? String(key) : sha256(body).toString("hex");
  return `${system}:${text}`.replace(/[^\w!"#$%&'()*+,\-./:;<=>?@[\\\]^`{|}~]/g, "_").slice(0, 128);
}

const sha256 = (text: string) => createHash("sha256").update(text).digest();
const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);

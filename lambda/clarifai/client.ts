import { scrubberFor } from "../redact.js";
import type { HttpResult } from "./classify.js";
import type { AppRef, ClarifaiAnnotation } from "./to-annotation.js";

/** The Clarifai calls the bridge makes. Answers are returned raw; `classify.ts` interprets them. */
export interface ClarifaiClient {
  postAnnotations(
    app: AppRef | null,
    annotations: readonly ClarifaiAnnotation[],
    timeoutMs: number,
  ): Promise<HttpResult>;
  /** PatchAnnotations with `action: "overwrite"`: each annotation's data and info replace what Clarifai holds. */
  patchAnnotations(
    app: AppRef | null,
    annotations: readonly ClarifaiAnnotation[],
    timeoutMs: number,
  ): Promise<HttpResult>;
  /** DeleteAnnotations, the batch form: annotation ids and their input ids, in the same order. */
  deleteAnnotations(
    app: AppRef | null,
    ids: readonly string[],
    inputIds: readonly string[],
    timeoutMs: number,
  ): Promise<HttpResult>;
  /**
   * ListAnnotations, all workers' annotations included. `ids` with their `inputIds` (same order) ask "which of
   * these exist?"; `inputIds` alone list those inputs' annotations; `taskId` lists a task's annotations.
   */
  listAnnotations(app: AppRef | null, query: ListQuery, timeoutMs: number): Promise<HttpResult>;
  /** GetTask: the task, its review strategy and workers. */
  getTask(app: AppRef | null, taskId: string, timeoutMs: number): Promise<HttpResult>;
}

export interface ListQuery {
  readonly ids?: readonly string[];
  readonly inputIds?: readonly string[];
  readonly taskId?: string;
  /** @default 1 */
  readonly page?: number;
  /** @default the number of ids, else 128 (Clarifai's own default) */
  readonly perPage?: number;
}

const enc = encodeURIComponent;

/** `/v2/users/{user}/apps/{app}` for a personal access token, `/v2` for an app-scoped key. */
export function appPrefix(app: AppRef | null): string {
  return app ? `/v2/users/${enc(app.userId)}/apps/${enc(app.appId)}` : "/v2";
}

/** One HTTP exchange with Clarifai: method, path (with its query), optional JSON body; never throws. */
export type ClarifaiCall = (
  method: string,
  path: string,
  body: unknown,
  timeoutMs: number,
) => Promise<HttpResult>;

/**
 * The HTTP exchange under every call: Node's built-in fetch, whose global agent keeps connections alive between
 * calls and across warm invocations. The key goes only into the Authorization header; errors never quote it.
 */
export function clarifaiCall(apiBase: string, key: string): ClarifaiCall {
  // A transport error's text may quote a header (fetch does, for an invalid header value): never the key.
  const scrub = scrubberFor([key]);
  const headers = {
    Authorization: `Key ${key}`,
    "Content-Type": "application/json",
    Accept: "application/json",
  };
  return async (method, path, body, timeoutMs) => {
    try {
      const response = await fetch(apiBase + path, {
        method,
        headers,
        signal: AbortSignal.timeout(Math.max(1, Math.floor(timeoutMs))),
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      const retryAfterSeconds = parseRetryAfter(response.headers.get("retry-after"));
      return {
        kind: "response",
        httpStatus: response.status,
        body: parseJson(text),
        ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
      };
    } catch (error) {
      const err = error as Error & { cause?: { code?: string; message?: string } };
      const timedOut = err.name === "TimeoutError" || err.name === "AbortError";
      const cause = err.cause?.code ?? err.cause?.message;
      return {
        kind: "transport",
        timedOut,
        message: scrub(`${err.name}: ${err.message}${cause ? ` (${cause})` : ""}`),
      };
    }
  };
}

/** The annotation calls over `clarifaiCall`. */
export function createClarifaiClient(apiBase: string, key: string): ClarifaiClient {
  const call = clarifaiCall(apiBase, key);
  return {
    postAnnotations: (app, annotations, timeoutMs) =>
      call("POST", `${appPrefix(app)}/annotations`, { annotations }, timeoutMs),
    patchAnnotations: (app, annotations, timeoutMs) =>
      call("PATCH", `${appPrefix(app)}/annotations`, { annotations, action: "overwrite" }, timeoutMs),
    deleteAnnotations: (app, ids, inputIds, timeoutMs) =>
      call("DELETE", `${appPrefix(app)}/annotations`, { ids, input_ids: inputIds }, timeoutMs),
    getTask: (app, taskId, timeoutMs) =>
      call("GET", `${appPrefix(app)}/tasks/${enc(taskId)}`, undefined, timeoutMs),
    listAnnotations: (app, { ids = [], inputIds = [], taskId, page, perPage }, timeoutMs) => {
      const query = new URLSearchParams();
      for (const id of ids) query.append("ids", id);
      for (const id of inputIds) query.append("input_ids", id);
      if (taskId) query.set("task_id", taskId);
      query.set("list_all_annotations", "true");
      if (page !== undefined && page > 1) query.set("page", String(page));
      query.set("per_page", String(perPage ?? (ids.length > 0 ? ids.length : 128)));
      return call("GET", `${appPrefix(app)}/annotations?${query}`, undefined, timeoutMs);
    },
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Retry-After as seconds (RFC 9110: delay-seconds or an HTTP date). */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}

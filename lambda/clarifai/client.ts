import { Agent as HttpAgent, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
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
export type ClarifaiCall = ((
  method: string,
  path: string,
  body: unknown,
  timeoutMs: number,
) => Promise<HttpResult>) & {
  /** Closes the pooled connections; calls after it open new ones. */
  readonly close: () => void;
};

/**
 * A pool idle for longer than this is closed before the next request, which then opens a new connection. Lambda
 * freezes an instance between invocations, so Node cannot notice a connection Clarifai (or a NAT, or a load
 * balancer) closed meanwhile; a request written on it fails, and its whole batch is retried through SQS. Servers
 * commonly close idle connections after 5 to 60 s (Node's default is 5 s; Clarifai's is not documented): 4 s stays
 * under all of them, and a busy instance, whose invocations follow each other closely, keeps its connection.
 */
export const IDLE_POOL_MS = 4_000;

export interface ClientOptions {
  /** @default IDLE_POOL_MS */
  readonly idlePoolMs?: number;
}

/** A client that holds a connection pool: make one per instance (and key), close it when the key changes. */
export interface ClosableClarifaiClient extends ClarifaiClient {
  readonly close: () => void;
}

/**
 * The HTTP exchange under every call, on node:http(s) with a keep-alive agent per instance, so connections are
 * reused between calls and across warm invocations. (Node's fetch did the same at 620-860 µs of CPU
 * per 100-annotation request against 230-275 µs here, client and a local server in one process, `npx tsx
 * bench/http-client.ts`: 4-6 µs per annotation at 100 a request, 40-60 µs at 10.) The
 * timeout covers the whole exchange, answer body included. The key goes only into the Authorization header;
 * errors never quote it.
 */
export function clarifaiCall(
  apiBase: string,
  key: string,
  { idlePoolMs = IDLE_POOL_MS }: ClientOptions = {},
): ClarifaiCall {
  // A transport error's text may quote a header: never the key.
  const scrub = scrubberFor([key]);
  const base = new URL(apiBase);
  const secure = base.protocol === "https:";
  const send = secure ? httpsRequest : httpRequest;
  const agent = secure
    ? new HttpsAgent({ keepAlive: true, maxSockets: 32 })
    : new HttpAgent({ keepAlive: true, maxSockets: 32 });
  const prefix = base.pathname.replace(/\/+$/, "");
  const headers = {
    Authorization: `Key ${key}`,
    "Content-Type": "application/json",
    Accept: "application/json",
  };
  const failed = (error: unknown, timedOut: boolean): HttpResult => {
    const err = error as Error & { code?: string };
    return {
      kind: "transport",
      timedOut,
      message: scrub(
        `${err.name ?? "Error"}: ${err.message ?? String(error)}${err.code ? ` (${err.code})` : ""}`,
      ),
    };
  };
  let inFlight = 0;
  let lastActive = Date.now();
  const call = (method: string, path: string, body: unknown, timeoutMs: number) =>
    new Promise<HttpResult>((resolve) => {
      // Wall-clock time, which runs on while Lambda keeps the instance frozen between invocations.
      if (inFlight === 0 && Date.now() - lastActive > idlePoolMs) agent.destroy();
      inFlight += 1;
      let settled = false;
      const finish = (result: HttpResult) => {
        if (settled) return;
        settled = true;
        inFlight -= 1;
        lastActive = Date.now();
        clearTimeout(timer);
        resolve(result);
      };
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      let request: ReturnType<typeof httpRequest>;
      const timer = setTimeout(
        () => {
          const error = new Error(`no complete answer within ${Math.floor(timeoutMs)} ms`);
          error.name = "TimeoutError";
          finish(failed(error, true));
          request?.destroy();
        },
        Math.max(1, Math.floor(timeoutMs)),
      );
      try {
        request = send(
          {
            protocol: base.protocol,
            hostname: base.hostname,
            port: base.port || undefined,
            path: prefix + path,
            method,
            agent,
            headers: payload ? { ...headers, "Content-Length": payload.length } : headers,
          },
          (response) => {
            const chunks: Buffer[] = [];
            response.on("data", (chunk: Buffer) => chunks.push(chunk));
            response.on("error", (error) => finish(failed(error, false)));
            response.on("aborted", () => finish(failed(new Error("the answer was cut off"), false)));
            response.on("end", () => {
              const retryAfter = response.headers["retry-after"];
              const retryAfterSeconds = parseRetryAfter(
                Array.isArray(retryAfter) ? (retryAfter[0] ?? null) : (retryAfter ?? null),
              );
              finish({
                kind: "response",
                httpStatus: response.statusCode ?? 0,
                body: parseJson(Buffer.concat(chunks).toString("utf8")),
                ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
              });
            });
          },
        );
      } catch (error) {
        finish(failed(error, false)); // e.g. a header Node refuses: its message names the header, not the value
        return;
      }
      request.on("error", (error) => finish(failed(error, false)));
      request.end(payload);
    });
  return Object.assign(call, { close: () => agent.destroy() });
}

/** The annotation calls over `clarifaiCall`. */
export function createClarifaiClient(
  apiBase: string,
  key: string,
  options: ClientOptions = {},
): ClosableClarifaiClient {
  const call = clarifaiCall(apiBase, key, options);
  return {
    close: call.close,
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

import type { HttpResult } from "./classify.js";
import type { AppRef, ClarifaiAnnotation } from "./to-annotation.js";

/** The two Clarifai calls the bridge makes. Answers are returned raw; `classify.ts` interprets them. */
export interface ClarifaiClient {
  postAnnotations(
    app: AppRef | null,
    annotations: readonly ClarifaiAnnotation[],
    timeoutMs: number,
  ): Promise<HttpResult>;
  getAnnotation(
    app: AppRef | null,
    inputId: string,
    annotationId: string,
    timeoutMs: number,
  ): Promise<HttpResult>;
}

const enc = encodeURIComponent;

/** `/v2/users/{user}/apps/{app}` for a personal access token, `/v2` for an app-scoped key. */
export function appPrefix(app: AppRef | null): string {
  return app ? `/v2/users/${enc(app.userId)}/apps/${enc(app.appId)}` : "/v2";
}

/**
 * HTTP over Node's built-in fetch, whose global agent keeps connections alive between calls and across warm
 * invocations. The key goes only into the Authorization header; errors never quote headers.
 */
export function createClarifaiClient(apiBase: string, key: string): ClarifaiClient {
  const headers = {
    Authorization: `Key ${key}`,
    "Content-Type": "application/json",
    Accept: "application/json",
  };
  const call = async (
    method: string,
    path: string,
    body: unknown,
    timeoutMs: number,
  ): Promise<HttpResult> => {
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
        message: `${err.name}: ${err.message}${cause ? ` (${cause})` : ""}`,
      };
    }
  };
  return {
    postAnnotations: (app, annotations, timeoutMs) =>
      call("POST", `${appPrefix(app)}/annotations`, { annotations }, timeoutMs),
    getAnnotation: (app, inputId, annotationId, timeoutMs) =>
      call(
        "GET",
        `${appPrefix(app)}/inputs/${enc(inputId)}/annotations/${enc(annotationId)}`,
        undefined,
        timeoutMs,
      ),
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

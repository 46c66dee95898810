import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type protobuf from "protobufjs";
import { checkMessage, deprecatedFieldsOf, loadClarifaiProtos } from "./proto-contract.js";
import { defaultFaults, matchRoute, readBody } from "./stand-in-http.js";
import { checkAnnotation, type StoredAnnotation } from "./stand-in-rules.js";

/**
 * A local Clarifai for tests, the local run and the benchmark: the annotation routes of ../shared/clarifai-api.md
 * over real HTTP on loopback, bodies checked against Clarifai's own .proto files, plus switches for the faults a
 * real deployment meets. It keeps every annotation and request it received so callers can check them.
 */
export interface StandInOptions {
  /** @default 0 (a free port) */
  readonly port?: number;
  /** Personal access tokens and the user each belongs to. @default { "local-pat": "local-user" } */
  readonly personalAccessTokens?: Readonly<Record<string, string>>;
  /** App-scoped keys and the app each names. @default {} */
  readonly appKeys?: Readonly<Record<string, { userId: string; appId: string }>>;
  /** Clarifai's per-request limit for PostAnnotations. @default 128 */
  readonly maxAnnotationsPerRequest?: number;
  /** Whether an input exists in the app; unknown inputs answer INPUT_DOES_NOT_EXIST. @default every input exists */
  readonly inputExists?: (inputId: string) => boolean;
  /** Whether a task exists; unknown tasks answer TASK_MISSING. @default every task exists */
  readonly taskExists?: (taskId: string) => boolean;
  readonly faults?: Partial<Faults>;
}

/** Fault switches; change them at any time through `standIn.faults`. */
export interface Faults {
  /** Added to every answer, plus up to `jitterMs` more. */
  latencyMs: number;
  jitterMs: number;
  /** Answer CONN_THROTTLED (HTTP 429) above this many requests per second per key. */
  throttleAboveRps: number | undefined;
  /** Sent with throttled answers when set. */
  retryAfterSeconds: number | undefined;
  /** Shares (0..1) of requests answered 503, cut off without an answer, or with some annotations ANNOTATION_FAILED. */
  serverErrorRate: number;
  dropConnectionRate: number;
  /** Share (0..1) of requests answered only after `slowMs` more (past a client's timeout, say). */
  slowRate: number;
  slowMs: number;
  mixedTransientRate: number;
  /**
   * Answers for the next requests, used before anything else: a status to send, "drop" (cut the connection
   * unanswered), "throttle", or "lose-answer" (store the annotations, then cut the connection: a lost success).
   */
  script: Array<{ httpStatus: number; body?: unknown } | "drop" | "throttle" | "lose-answer">;
  /** Send status codes as enum names ("CONN_THROTTLED") instead of numbers, as proto3 JSON allows. */
  codesAsNames: boolean;
}

export interface RequestRecord {
  readonly method: string;
  readonly path: string;
  readonly annotations: number;
  readonly httpStatus: number;
  readonly code: number | undefined;
  readonly at: number;
  /** Milliseconds from the request's arrival to its answer (what a real Clarifai's latency would be). */
  readonly ms: number;
}

export interface ClarifaiStandIn {
  readonly url: string;
  readonly faults: Faults;
  readonly requests: RequestRecord[];
  /** Every stored annotation, with the app (`user/app`) it belongs to. */
  annotations(): StoredAnnotation[];
  /** Forget stored annotations and requests, and reset the faults. */
  reset(): void;
  close(): Promise<void>;
}

export async function startClarifaiStandIn(options: StandInOptions = {}): Promise<ClarifaiStandIn> {
  const root = await loadClarifaiProtos();
  const deprecated = deprecatedFieldsOf(root, "clarifai.api.Annotation");
  // Enum names straight from Clarifai's proto, for the codesAsNames switch.
  const codeNames = root.lookupEnum("clarifai.api.status.StatusCode").valuesById;
  const pats = options.personalAccessTokens ?? { "local-pat": "local-user" };
  const appKeys = options.appKeys ?? {};
  const maxPerRequest = options.maxAnnotationsPerRequest ?? 128;
  const inputExists = options.inputExists ?? (() => true);
  const taskExists = options.taskExists ?? (() => true);
  const store = new Map<string, Map<string, StoredAnnotation>>(); // app key -> id -> annotation
  const requests: RequestRecord[] = [];
  const recent = new Map<string, number[]>(); // key -> request times, for throttling
  const faults: Faults = { ...defaultFaults(), ...options.faults };

  const status = (code: number, description: string, details?: string) => ({
    code: faults.codesAsNames ? (codeNames[code] ?? code) : code,
    description,
    ...(details ? { details } : {}),
    req_id: randomUUID().replaceAll("-", ""),
  });

  const server: Server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, { status: status(98004, "Internal error", String(error)) });
    });
  });
  server.keepAliveTimeout = 65_000;

  function send(
    res: ServerResponse | undefined,
    httpStatus: number,
    body: unknown,
    headers: Record<string, string> = {},
    record?: Omit<RequestRecord, "httpStatus" | "code" | "at" | "ms"> & { startedAt: number },
  ) {
    const code = (body as { status?: { code?: unknown } })?.status?.code;
    if (record) {
      const { startedAt, ...fields } = record;
      requests.push({
        ...fields,
        httpStatus: res ? httpStatus : 0,
        code: typeof code === "number" ? code : undefined,
        at: Date.now(),
        ms: performance.now() - startedAt,
      });
    }
    if (!res) return;
    res.writeHead(httpStatus, { "Content-Type": "application/json", ...headers });
    res.end(JSON.stringify(body));
  }

  /** An error answer: HTTP status plus a Clarifai status with its details. */
  function refuse(
    res: ServerResponse | undefined,
    httpStatus: number,
    code: number,
    description: string,
    details: string,
    record: Omit<RequestRecord, "httpStatus" | "code" | "at" | "ms"> & { startedAt: number },
  ) {
    return send(res, httpStatus, { status: status(code, description, details) }, {}, record);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://stand-in");
    const method = req.method ?? "GET";
    const raw = await readBody(req);
    const record = { method, path: url.pathname, annotations: 0, startedAt: performance.now() };

    const latency =
      faults.latencyMs +
      Math.random() * faults.jitterMs +
      (Math.random() < faults.slowRate ? faults.slowMs : 0);
    if (latency > 0) await new Promise((r) => setTimeout(r, latency));

    const route = matchRoute(method, url.pathname);
    if (!route) return send(res, 404, { status: status(11101, "Resource does not exist") }, {}, record);
    if (route === "method")
      return send(res, 405, { status: status(11103, "Method not allowed") }, {}, record);

    const token = /^Key (\S+)$/.exec(req.headers.authorization ?? "")?.[1];
    const patUser = token ? pats[token] : undefined;
    const appKey = token ? appKeys[token] : undefined;
    if (!patUser && !appKey)
      return send(res, 401, { status: status(11009, "API key not found") }, {}, record);

    // Scripted answers and random faults come after authentication, as a gateway's would.
    const scripted = faults.script.shift();
    if (scripted === "drop" || (!scripted && Math.random() < faults.dropConnectionRate)) {
      const { startedAt, ...fields } = record;
      requests.push({
        ...fields,
        httpStatus: 0,
        code: undefined,
        at: Date.now(),
        ms: performance.now() - startedAt,
      });
      req.socket.destroy();
      return;
    }
    if (scripted === "throttle" || (!scripted && isThrottled(token as string))) {
      const headers: Record<string, string> = faults.retryAfterSeconds
        ? { "Retry-After": String(faults.retryAfterSeconds) }
        : {};
      return send(
        res,
        429,
        {
          status: status(
            11005,
            "Making too many requests",
            `exceeded limit of ${faults.throttleAboveRps ?? 15} requests per second`,
          ),
        },
        headers,
        record,
      );
    }
    const loseAnswer = scripted === "lose-answer";
    if (scripted && !loseAnswer)
      return send(
        res,
        scripted.httpStatus,
        scripted.body ?? { status: status(98004, "Internal error") },
        {},
        record,
      );
    if (!loseAnswer && Math.random() < faults.serverErrorRate)
      return send(res, 503, "Service Unavailable", {}, record);

    // Which app: the path names it (PAT), or the app-scoped key does, or the body's user_app_id (PAT).
    let body: Record<string, unknown> = {};
    if (method !== "GET" && (method !== "DELETE" || raw.trim() !== "")) {
      try {
        body = JSON.parse(raw || "{}");
      } catch {
        return send(
          res,
          400,
          { status: status(11100, "Bad request format", "body is not JSON") },
          {},
          record,
        );
      }
    }
    const bodyApp = (body.user_app_id ?? undefined) as { user_id?: string; app_id?: string } | undefined;
    const app =
      route.app ??
      (appKey
        ? appKey
        : bodyApp?.user_id && bodyApp.app_id
          ? { userId: bodyApp.user_id, appId: bodyApp.app_id }
          : undefined);
    if (!app)
      return refuse(
        res,
        400,
        11102,
        "Invalid request",
        "user_id and app_id are required with a personal access token",
        record,
      );
    if (patUser && patUser !== app.userId)
      return send(
        res,
        401,
        { status: status(11007, "Insufficient scopes", "this key cannot act for that user") },
        {},
        record,
      );
    if (appKey && (appKey.userId !== app.userId || appKey.appId !== app.appId))
      return send(
        res,
        401,
        { status: status(11007, "Insufficient scopes", "this key is scoped to another app") },
        {},
        record,
      );
    const appId = `${app.userId}/${app.appId}`;
    const annotations = store.get(appId) ?? new Map<string, StoredAnnotation>();
    store.set(appId, annotations);

    if (route.op === "list") return listAnnotations(res, url.searchParams, root, annotations, record);
    if (route.op === "get") {
      const found = annotations.get(route.annotationId);
      if (!found || found.input_id !== route.inputId)
        return refuse(res, 404, 10020, "Failure", "annotation not found", record);
      return send(res, 200, { status: status(10000, "Ok"), annotation: found.annotation }, {}, record);
    }
    // A lost answer: the change is made, then the connection is cut before the client hears of it.
    const answerTo = loseAnswer ? undefined : res;
    if (route.op === "delete-one") {
      const found = annotations.get(route.annotationId);
      if (!found || found.input_id !== route.inputId)
        refuse(answerTo, 404, 10020, "Failure", "annotation not found", record);
      else {
        annotations.delete(route.annotationId);
        send(answerTo, 200, { status: status(10000, "Ok") }, {}, record);
      }
    } else if (route.op === "delete-many") deleteAnnotations(answerTo, body, annotations, record);
    else if (route.op === "patch") patchAnnotations(answerTo, body, annotations, appId, record);
    else postAnnotations(answerTo, body, annotations, appId, record);
    if (loseAnswer) req.socket.destroy();
  }

  type Record_ = { method: string; path: string; annotations: number; startedAt: number };

  /**
   * The checks PostAnnotations and PatchAnnotations share: the body against the request's proto type, no
   * deprecated fields, 1 to 128 annotations. Returns the annotations, or undefined once it has refused.
   */
  function checkedList(
    res: ServerResponse | undefined,
    type: string,
    body: Record<string, unknown>,
    record: Record_,
  ): Record<string, unknown>[] | undefined {
    const problems = checkMessage(root, type, body);
    const list = Array.isArray(body.annotations) ? (body.annotations as Record<string, unknown>[]) : [];
    record.annotations = list.length;
    if (problems.length > 0) {
      send(
        res,
        400,
        { status: status(11100, "Bad request format", problems.slice(0, 5).join("; ")) },
        {},
        record,
      );
      return undefined;
    }
    const used = list.flatMap((a) => Object.keys(a).filter((k) => deprecated.has(k)));
    if (used.length > 0) {
      refuse(
        res,
        400,
        11102,
        "Invalid request",
        `deprecated fields must not be sent: ${[...new Set(used)].join(", ")}`,
        record,
      );
      return undefined;
    }
    if (list.length < 1 || list.length > maxPerRequest) {
      refuse(
        res,
        400,
        11102,
        "Invalid request",
        `between 1 and ${maxPerRequest} annotations per request, got ${list.length}`,
        record,
      );
      return undefined;
    }
    return list;
  }

  /** Per-annotation results as one answer: SUCCESS (200), FAILURE (400) or MIXED_STATUS (207). */
  function answerItems(
    res: ServerResponse | undefined,
    results: { status: { code: number | string } }[],
    succeeded: (r: { status: { code: number | string } }) => boolean,
    record: Record_,
  ) {
    const ok = results.filter(succeeded).length;
    if (ok === results.length)
      return send(res, 200, { status: status(10000, "Ok"), annotations: results }, {}, record);
    if (ok === 0)
      return send(res, 400, { status: status(10020, "Failure"), annotations: results }, {}, record);
    return send(res, 207, { status: status(10010, "Mixed Success"), annotations: results }, {}, record);
  }

  const isCode = (code: number) => (r: { status: { code: number | string } }) =>
    r.status.code === code || r.status.code === codeNames[code];

  /**
   * PatchAnnotations with `action: "overwrite"` (the only action the bridge sends; merge and remove are refused
   * here rather than imitated). Each annotation must exist on the input it names. What Clarifai answers for a
   * patch of a missing annotation is unconfirmed; the stand-in says ANNOTATION_MODIFY_FAILED, which the bridge
   * retries (its next attempt looks the set up again and creates what is missing).
   */
  function patchAnnotations(
    res: ServerResponse | undefined,
    body: Record<string, unknown>,
    annotations: Map<string, StoredAnnotation>,
    appId: string,
    record: Record_,
  ) {
    const list = checkedList(res, "clarifai.api.PatchAnnotationsRequest", body, record);
    if (!list) return;
    if (body.action !== "overwrite")
      return refuse(
        res,
        400,
        11102,
        "Invalid request",
        `action ${JSON.stringify(body.action)}: the stand-in implements "overwrite" only`,
        record,
      );
    const now = new Date().toISOString();
    const results = list.map((input) => {
      const id = String(input.id ?? "");
      const held = id ? annotations.get(id) : undefined;
      if (!held || held.input_id !== input.input_id)
        return { ...input, status: status(24252, "Annotation modify failed", `annotation ${id} not found`) };
      const problem = checkAnnotation(input, { inputExists, taskExists });
      if (problem) return { ...input, status: status(problem.code, problem.description, problem.details) };
      const annotation = { ...input, created_at: held.annotation.created_at, modified_at: now };
      annotations.set(id, { app: appId, id, input_id: held.input_id, annotation });
      return { ...annotation, status: status(24250, "Annotation modify success") };
    });
    answerItems(res, results, isCode(24250), record);
  }

  /**
   * DeleteAnnotations, batch form: `ids` and `input_ids` pair up; `input_ids` alone deletes those inputs'
   * annotations. Ids that are not there are passed over (what Clarifai does with them is unconfirmed; the bridge
   * deletes only what it has just listed, and treats "already gone" as done).
   */
  function deleteAnnotations(
    res: ServerResponse | undefined,
    body: Record<string, unknown>,
    annotations: Map<string, StoredAnnotation>,
    record: Record_,
  ) {
    const problems = checkMessage(root, "clarifai.api.DeleteAnnotationsRequest", body);
    if (problems.length > 0)
      return send(
        res,
        400,
        { status: status(11100, "Bad request format", problems.slice(0, 5).join("; ")) },
        {},
        record,
      );
    const ids = (body.ids ?? []) as string[];
    const inputIds = (body.input_ids ?? []) as string[];
    record.annotations = ids.length || inputIds.length;
    if (inputIds.length === 0)
      return refuse(res, 400, 11102, "Invalid request", "input_ids are required", record);
    if (ids.length > 0 && ids.length !== inputIds.length)
      return refuse(res, 400, 11102, "Invalid request", "ids and input_ids must pair up", record);
    if (ids.length === 0) {
      const inputs = new Set(inputIds);
      for (const [id, a] of annotations) if (inputs.has(a.input_id)) annotations.delete(id);
    } else {
      ids.forEach((id, i) => {
        if (annotations.get(id)?.input_id === inputIds[i]) annotations.delete(id);
      });
    }
    return send(res, 200, { status: status(10000, "Ok") }, {}, record);
  }

  function postAnnotations(
    res: ServerResponse | undefined,
    body: Record<string, unknown>,
    annotations: Map<string, StoredAnnotation>,
    appId: string,
    record: Record_,
  ) {
    const list = checkedList(res, "clarifai.api.PostAnnotationsRequest", body, record);
    if (!list) return;
    const now = new Date().toISOString();
    const seenInRequest = new Set<string>();
    const results = list.map((input) => {
      const id = typeof input.id === "string" && input.id ? input.id : randomUUID().replaceAll("-", "");
      const problem = checkAnnotation(input, { inputExists, taskExists });
      const echo = { ...input, id, created_at: now, modified_at: now };
      if (problem) return { ...echo, status: status(problem.code, problem.description, problem.details) };
      if (annotations.has(id) || seenInRequest.has(id))
        return {
          ...echo,
          status: status(40010, "Object has a duplicate ID", `annotation ${id} already exists`),
        };
      if (Math.random() < faults.mixedTransientRate)
        return { ...echo, status: status(24152, "Annotation failed", "transient failure (stand-in fault)") };
      seenInRequest.add(id);
      return { ...echo, status: status(24150, "Annotation success") };
    });
    for (const result of results) {
      if (result.status.code === 24150 || result.status.code === "ANNOTATION_SUCCESS") {
        const { status: _s, ...annotation } = result as Record<string, unknown> & { id: string };
        annotations.set(result.id, {
          app: appId,
          id: result.id,
          input_id: String(annotation.input_id),
          annotation,
        });
      }
    }
    return answerItems(res, results, isCode(24150), record);
  }

  /**
   * ListAnnotations: query parameters are the request's fields (checked against ListAnnotationsRequest); `ids` and
   * `input_ids` pair up in order, `input_ids` alone lists those inputs' annotations, `task_id` keeps a task's,
   * `per_page` and `page` page.
   */
  function listAnnotations(
    res: ServerResponse,
    query: URLSearchParams,
    root: protobuf.Root,
    annotations: Map<string, StoredAnnotation>,
    record: { method: string; path: string; annotations: number; startedAt: number },
  ) {
    const fields = root.lookupType("clarifai.api.ListAnnotationsRequest").fields;
    const unknown = [...new Set(query.keys())].filter((k) => !(k in fields));
    if (unknown.length > 0) {
      return send(
        res,
        400,
        { status: status(11102, "Invalid request", `unknown query parameters: ${unknown.join(", ")}`) },
        {},
        record,
      );
    }
    const ids = query.getAll("ids");
    const inputIds = query.getAll("input_ids");
    if (ids.length > 0 && inputIds.length > 0 && ids.length !== inputIds.length) {
      return send(
        res,
        400,
        { status: status(11102, "Invalid request", "ids and input_ids must pair up") },
        {},
        record,
      );
    }
    const perPage = Number(query.get("per_page") ?? 128);
    const page = Number(query.get("page") ?? 1);
    let found: StoredAnnotation[];
    if (ids.length > 0) {
      found = ids.flatMap((id, i) => {
        const a = annotations.get(id);
        return a && (inputIds.length === 0 || a.input_id === inputIds[i]) ? [a] : [];
      });
    } else if (inputIds.length > 0) {
      const wanted = new Set(inputIds);
      found = [...annotations.values()].filter((a) => wanted.has(a.input_id));
    } else {
      found = [...annotations.values()];
    }
    const taskId = query.get("task_id");
    if (taskId) found = found.filter((a) => taskOf(a.annotation) === taskId);
    record.annotations = ids.length;
    const pageOf = found.slice((page - 1) * perPage, page * perPage).map((a) => a.annotation);
    return send(res, 200, { status: status(10000, "Ok"), annotations: pageOf }, {}, record);
  }

  const taskOf = (a: Record<string, unknown>) =>
    (a.task_id as string | undefined) || ((a.annotation_info ?? {}) as Record<string, unknown>).task_id;

  function isThrottled(token: string): boolean {
    if (faults.throttleAboveRps === undefined) return false;
    const now = Date.now();
    const times = (recent.get(token) ?? []).filter((t) => now - t < 1000);
    const over = times.length >= faults.throttleAboveRps;
    if (!over) times.push(now);
    recent.set(token, times);
    return over;
  }

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    faults,
    requests,
    annotations: () => [...store.values()].flatMap((m) => [...m.values()]),
    reset() {
      store.clear();
      requests.length = 0;
      recent.clear();
      Object.assign(faults, defaultFaults(), options.faults);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

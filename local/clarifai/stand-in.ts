// Over 300 lines: the stand-in's server: routing, proto checks and faults wired together; the operations and faults are files of their own.
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createFaultGate } from "./faults.js";
import { defaultFaults, matchRoute, readBody } from "./http.js";
import { workRows } from "./kinds.js";
import { createOperations, type PendingRecord } from "./operations.js";
import { type Behaviour, PROFILE_ENV, profile } from "./profiles.js";
import { loadClarifaiProtos } from "./proto-contract.js";
import { DEFAULT_RULES, type Rules } from "./rules.js";
import type { Faults, RequestRecord, StoredAnnotation, TaskSpec, WorkRow } from "./types.js";

export type { Faults, RequestRecord, StoredAnnotation, TaskSpec, WorkRow } from "./types.js";

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
  /**
   * The app's tasks (review strategy, workers, concepts), answered by GetTask. Given, only these exist (change
   * them through `standIn.tasks`); not given, every task exists, without review or workers.
   */
  readonly tasks?: Readonly<Record<string, TaskSpec>>;
  /** Whether a task exists; unknown tasks answer TASK_MISSING. @default the `tasks` given, else every task */
  readonly taskExists?: (taskId: string) => boolean;
  /**
   * Whether the key belongs to the app's owner (the default) or to a collaborator, who may not post annotations
   * for another user (ANNOTATION_PERMISSION_DENIED, 24156). Change it through `standIn.access`.
   */
  readonly keyIsAppOwner?: boolean;
  readonly faults?: Partial<Faults>;
  /** Checks to relax, to model a laxer Clarifai (rules.ts). Change them through `standIn.rules`. @default all on */
  readonly rules?: Partial<Rules>;
  /**
   * How the stand-in answers where Clarifai's behaviour is unconfirmed: a profile name (profiles.ts) or the
   * behaviours themselves. @default the CLARIFAI_STAND_IN_PROFILE environment variable, else "default"
   */
  readonly profile?: string | Behaviour;
}

export interface ClarifaiStandIn {
  readonly url: string;
  readonly faults: Faults;
  /** The unconfirmed behaviours' answers (profiles.ts); assign a profile to change them. */
  readonly behaviour: Behaviour;
  readonly requests: RequestRecord[];
  /** TCP connections accepted since start, and how many are open now (a client that pools connections keeps one). */
  connections(): { accepted: number; open: number };
  /** Every stored annotation, with the app (`user/app`) it belongs to. */
  annotations(): StoredAnnotation[];
  /** The app's tasks by id (when `tasks` was given, only these exist). */
  readonly tasks: Map<string, TaskSpec>;
  /** Who the key is: the app's owner, or a collaborator. */
  readonly access: { keyIsAppOwner: boolean };
  /** The annotation checks in force (rules.ts): relax one to model a laxer Clarifai. */
  readonly rules: Rules;
  /** Stored annotations per task, per worker credited and per status. */
  work(): WorkRow[];
  /** Forget stored annotations and requests, and reset the faults (the profile stays). */
  reset(): void;
  /** Answer as this profile from now on (a name from profiles.ts, or the behaviours themselves). */
  setProfile(profile: string | Behaviour): void;
  close(): Promise<void>;
}

export async function startClarifaiStandIn(options: StandInOptions = {}): Promise<ClarifaiStandIn> {
  const root = await loadClarifaiProtos();
  // Enum names straight from Clarifai's proto, for the codesAsNames switch.
  const codeNames = root.lookupEnum("clarifai.api.status.StatusCode").valuesById;
  const pats = options.personalAccessTokens ?? { "local-pat": "local-user" };
  const appKeys = options.appKeys ?? {};
  const maxPerRequest = options.maxAnnotationsPerRequest ?? 128;
  const inputExists = options.inputExists ?? (() => true);
  const tasks = new Map<string, TaskSpec>(Object.entries(options.tasks ?? {}));
  const taskExists = options.taskExists ?? (options.tasks ? (id: string) => tasks.has(id) : () => true);
  const access = { keyIsAppOwner: options.keyIsAppOwner ?? true };
  const rules: Rules = { ...DEFAULT_RULES, ...options.rules };
  const store = new Map<string, Map<string, StoredAnnotation>>(); // app key -> id -> annotation
  const requests: RequestRecord[] = [];
  const faults: Faults = { ...defaultFaults(), ...options.faults };
  const behaviour: Behaviour = {
    ...(typeof options.profile === "object"
      ? options.profile
      : profile(options.profile ?? process.env[PROFILE_ENV])),
  };

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
  const sockets = { accepted: 0, open: 0 };
  server.on("connection", (socket) => {
    sockets.accepted += 1;
    sockets.open += 1;
    socket.once("close", () => {
      sockets.open -= 1;
    });
  });

  function send(
    res: ServerResponse | undefined,
    httpStatus: number,
    body: unknown,
    headers: Record<string, string> = {},
    record?: PendingRecord,
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
    record: PendingRecord,
  ) {
    return send(res, httpStatus, { status: status(code, description, details) }, {}, record);
  }

  const gate = createFaultGate(faults, send, status);

  const { postAnnotations, patchAnnotations, deleteAnnotations, listAnnotations } = createOperations({
    root,
    codeNames,
    behaviour,
    faults,
    maxPerRequest,
    inputExists,
    taskExists,
    rules,
    reviewOf: (taskId) => tasks.get(taskId)?.review ?? "NONE",
    status,
    send,
    refuse,
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const arrivedAt = Date.now();
    const url = new URL(req.url ?? "/", "http://stand-in");
    const method = req.method ?? "GET";
    const raw = await readBody(req);
    const record = { method, path: url.pathname, annotations: 0, startedAt: performance.now() };

    // A URL over the profile's limit is refused by the front end before Clarifai reads it.
    if (behaviour.maxUrlBytes !== undefined && (req.url ?? "").length > behaviour.maxUrlBytes) {
      const { startedAt, ...fields } = record;
      requests.push({
        ...fields,
        httpStatus: 414,
        code: undefined,
        at: Date.now(),
        ms: performance.now() - startedAt,
      });
      res.writeHead(414, { "Content-Type": "text/plain" });
      res.end("URI Too Long");
      return;
    }
    await gate.delay();

    // Not Clarifai's: what the stand-in holds, for a person watching a local run (`npm start -- --watch`).
    if (method === "GET" && url.pathname.startsWith("/_local/")) {
      const view =
        url.pathname === "/_local/annotations"
          ? [...store.values()].flatMap((m) => [...m.values()])
          : url.pathname === "/_local/work"
            ? work()
            : url.pathname === "/_local/tasks"
              ? Object.fromEntries(tasks)
              : undefined;
      res.writeHead(view ? 200 : 404, { "Content-Type": "application/json" });
      res.end(
        JSON.stringify(view ?? { error: "try /_local/annotations, /_local/work or /_local/tasks" }, null, 2),
      );
      return;
    }
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
    const fault = gate.answer(req, res, token as string, record, arrivedAt);
    if (fault === "answered") return;
    const loseAnswer = fault === "lose-answer";

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

    if (route.op === "list") return listAnnotations(res, url.searchParams, annotations, record);
    if (route.op === "get-task") {
      if (!taskExists(route.taskId)) {
        // What Clarifai answers for a task that does not exist is unconfirmed: the profile picks a plausible one.
        const answer = behaviour.unknownTask ?? "task-missing";
        if (answer === "failure-404")
          return refuse(res, 404, 10020, "Failure", "Resource does not exist", record);
        return refuse(
          res,
          answer === "task-missing-400" ? 400 : 404,
          54102,
          "Task missing",
          `task ${route.taskId} not found`,
          record,
        );
      }
      return send(res, 200, { status: status(10000, "Ok"), task: taskJson(route.taskId, app) }, {}, record);
    }
    // Who Clarifai credits: the key's user. Only the app's owner may name another user as the worker.
    const who = {
      user: patUser ?? app.userId,
      mayPostAs: (id: string) => access.keyIsAppOwner || id === (patUser ?? app.userId),
    };
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
    else if (route.op === "patch") patchAnnotations(answerTo, body, annotations, appId, record, who);
    else postAnnotations(answerTo, body, annotations, appId, record, who);
    if (loseAnswer) req.socket.destroy();
  }

  /** A task as GetTask returns it (SingleTaskResponse.task, proto3 JSON). */
  function taskJson(taskId: string, app: { userId: string; appId: string }) {
    const spec = tasks.get(taskId) ?? {};
    return {
      id: taskId,
      type: "CONCEPTS_CLASSIFICATION",
      worker: {
        strategy: "FULL",
        workers: (spec.workers ?? []).map((id) => ({ user: { id } })),
      },
      review: { strategy: spec.review ?? "NONE" },
      concepts: (spec.concepts ?? []).map((id) => ({ concept: { id } })),
      app_id: app.appId,
      user_id: app.userId,
    };
  }

  const work = () =>
    workRows(
      [...store.values()].flatMap((m) => [...m.values()]),
      codeNames,
    );

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    faults,
    behaviour,
    requests,
    connections: () => ({ ...sockets }),
    annotations: () => [...store.values()].flatMap((m) => [...m.values()]),
    tasks,
    access,
    rules,
    work,
    reset() {
      store.clear();
      requests.length = 0;
      gate.reset();
      Object.assign(faults, defaultFaults(), options.faults);
    },
    setProfile(next) {
      const chosen = typeof next === "object" ? next : profile(next);
      for (const key of Object.keys(behaviour)) delete (behaviour as unknown as Record<string, unknown>)[key];
      Object.assign(behaviour, chosen);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

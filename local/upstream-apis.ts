import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * Stand-ins for the tools' APIs the puller reads, as they answer (../shared/upstream-events.md; Label Studio's
 * `data_manager/prepare_params.py` for the task filter; CVAT's REST API): Label Studio's `GET /api/tasks` with the
 * Data Manager `query` (an `updated_at` filter, ordering, pages that end in 404 "Invalid page"), and CVAT's job,
 * labels, frame meta and annotations. Both check `Authorization: Token <token>`, count requests, and fail a
 * scripted request on demand, so the puller's paging, resumption and pacing are tested over real HTTP.
 */
export interface LabelStudioTask {
  id: number;
  updated_at: string;
  data: Record<string, unknown>;
  annotations: Record<string, unknown>[];
}

export interface UpstreamApis {
  readonly url: string;
  /** Label Studio's tasks by project. */
  readonly labelStudio: Map<number, LabelStudioTask[]>;
  /** CVAT's answers by path (`/api/jobs/41`, `/api/labels?job_id=41&page_size=500`, ...). */
  readonly cvat: Map<string, unknown>;
  readonly requests: { path: string; status: number }[];
  /** After `after` more requests whose path starts with `prefix`, the next `n` answer this status. */
  failNext(prefix: string, status: number, n?: number, after?: number): void;
  close(): Promise<void>;
}

export async function startUpstreamApis(token: string): Promise<UpstreamApis> {
  const labelStudio = new Map<number, LabelStudioTask[]>();
  const cvat = new Map<string, unknown>();
  const requests: { path: string; status: number }[] = [];
  const failures: { prefix: string; status: number; left: number; skip: number }[] = [];
  const send = (req: IncomingMessage, res: ServerResponse, status: number, body: unknown) => {
    requests.push({ path: req.url ?? "", status });
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  };
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://local");
    if (req.headers.authorization !== `Token ${token}`)
      return send(req, res, 401, { detail: "Authentication credentials were not provided." });
    const failure = failures.find((f) => f.left > 0 && url.pathname.startsWith(f.prefix));
    if (failure && failure.skip > 0) failure.skip -= 1;
    else if (failure) {
      failure.left -= 1;
      return send(req, res, failure.status, { detail: "scripted failure" });
    }
    if (url.pathname === "/api/tasks" || url.pathname === "/api/tasks/") return listTasks(req, res, url);
    const key = `${url.pathname}${url.search}`;
    if (cvat.has(key)) return send(req, res, 200, cvat.get(key));
    if (cvat.has(url.pathname)) return send(req, res, 200, cvat.get(url.pathname));
    return send(req, res, 404, { detail: "Not found." });
  });

  function listTasks(req: IncomingMessage, res: ServerResponse, url: URL) {
    const project = Number(url.searchParams.get("project"));
    const page = Number(url.searchParams.get("page") ?? "1");
    const size = Number(url.searchParams.get("page_size") ?? "100");
    let query: {
      filters?: { items?: { filter: string; operator: string; value: string }[] };
      ordering?: string[];
    };
    try {
      query = JSON.parse(url.searchParams.get("query") ?? "{}");
    } catch {
      return send(req, res, 400, { detail: "query is not JSON" });
    }
    let tasks = [...(labelStudio.get(project) ?? [])];
    for (const item of query.filters?.items ?? []) {
      if (item.filter !== "filter:tasks:updated_at" || item.operator !== "greater_or_equal")
        return send(req, res, 400, { detail: `filter not modelled here: ${item.filter} ${item.operator}` });
      tasks = tasks.filter((t) => micros(t.updated_at) >= micros(item.value));
    }
    const order = query.ordering ?? [];
    tasks.sort((a, b) =>
      order[0] === "tasks:updated_at"
        ? micros(a.updated_at) - micros(b.updated_at) || a.id - b.id
        : a.id - b.id,
    );
    const slice = tasks.slice((page - 1) * size, page * size);
    if (page > 1 && slice.length === 0) return send(req, res, 404, { detail: "Invalid page." });
    return send(req, res, 200, {
      tasks: slice,
      total: tasks.length,
      total_annotations: 0,
      total_predictions: 0,
    });
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    labelStudio,
    cvat,
    requests,
    failNext: (prefix, status, n = 1, after = 0) => failures.push({ prefix, status, left: n, skip: after }),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** An ISO time in microseconds since the epoch (Label Studio writes six fractional digits). */
function micros(t: string): number {
  const fraction = /\.(\d+)/.exec(t)?.[1] ?? "";
  return Math.floor(Date.parse(t) / 1000) * 1_000_000 + Number(fraction.slice(0, 6).padEnd(6, "0"));
}

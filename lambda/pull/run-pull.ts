import { MAX_QUEUED_BODY_BYTES } from "../delivery/sqs-safe.js";
import { CvatJobError, cvatFrameBodies } from "./cvat-job.js";
import {
  changedTasksQuery,
  planChangedPage,
  planSweepPage,
  type ReconcileOptions,
  readState,
  runStart,
  sweepQuery,
} from "./label-studio-reconcile.js";
import type { PullerConfig } from "./puller-config.js";

/**
 * The puller's runs, over injected edges (the tools' HTTP APIs, the state store, the queue), so the same code runs
 * in the Lambda, locally and in tests. Every outcome is counted: `PullPulled` (annotations or frames read),
 * `PullEnqueued` (bodies queued), `PullUnchanged` (tasks already handled), `PullFailed` (a project or job whose
 * run failed: it is retried, and alarmed), `PullRefused` (an annotation or frame that can never be queued: too
 * large, or not serialisable; logged with its id, passed over so it cannot hold the watermark back; alarmed).
 */
export interface PullDeps {
  readonly config: PullerConfig;
  readonly tokens: { readonly labelStudio?: string; readonly cvat?: string };
  /** GET a tool's JSON answer (paced, with a timeout); throws PullHttpError on anything but a 2xx JSON answer. */
  readonly getJson: (url: string, token: string) => Promise<unknown>;
  readonly state: {
    get(key: string): Promise<string | undefined>;
    put(key: string, text: string): Promise<void>;
  };
  /** Queue bodies in the given format; throws unless every one was accepted. */
  readonly enqueue: (bodies: readonly Queued[]) => Promise<void>;
  readonly count: (metric: PullMetric, n: number) => void;
  readonly log: (level: "info" | "warn" | "error", message: string, extra?: Record<string, unknown>) => void;
  readonly now: () => Date;
  /** Milliseconds the run has left (Lambda's clock); a run stops starting requests near the end. @default no limit */
  readonly remainingMs?: () => number;
}

/** Below this much time left, a run starts no further page: the state is stored after each page, so it resumes. */
export const STOP_BEFORE_END_MS = 30_000;

export type PullMetric = "PullPulled" | "PullEnqueued" | "PullUnchanged" | "PullFailed" | "PullRefused";

/** One body for the bridge's queue, with its `format` attribute and the FIFO group it belongs to. */
export interface Queued {
  readonly body: string;
  readonly format: "label-studio" | "cvat";
  readonly groupId: string;
}

export class PullHttpError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** Where a project's state is kept. */
export const stateKey = (projectId: number) => `label-studio/project-${projectId}.json`;

/**
 * Reconciles every configured Label Studio project (one after another, each on its own: one failing does not stop
 * the others). Throws at the end when any failed, so the run is seen as failed and alarmed.
 */
export async function reconcileLabelStudio(deps: PullDeps): Promise<{ enqueued: number; failed: number[] }> {
  const ls = deps.config.labelStudio;
  if (!ls) return { enqueued: 0, failed: [] };
  const token = deps.tokens.labelStudio;
  if (!token) throw new Error('the puller secret has no "labelStudio" token');
  let enqueued = 0;
  const failed: number[] = [];
  // A different project goes first each minute, so a run that runs out of time never starves the same ones.
  const start = Math.floor(deps.now().getTime() / 60_000) % ls.projects.length;
  const order = [...ls.projects.slice(start), ...ls.projects.slice(0, start)];
  for (const projectId of order) {
    if (timeIsShort(deps)) {
      deps.log("warn", "Label Studio reconciliation deferred to the next run: too little time left", {
        projectId,
      });
      continue;
    }
    try {
      enqueued += await reconcileProject(projectId, token, deps);
    } catch (error) {
      failed.push(projectId);
      deps.count("PullFailed", 1);
      deps.log("error", "Label Studio reconciliation failed; the next run starts where this one stopped", {
        projectId,
        error: describe(error),
      });
    }
  }
  if (failed.length)
    throw new Error(`Label Studio reconciliation failed for project(s) ${failed.join(", ")}`);
  return { enqueued, failed };
}

async function reconcileProject(projectId: number, token: string, deps: PullDeps): Promise<number> {
  const ls = deps.config.labelStudio as NonNullable<PullerConfig["labelStudio"]>;
  const options: ReconcileOptions = {
    projectId,
    pageSize: ls.pageSize,
    overlapSeconds: ls.overlapSeconds,
    initialLookbackSeconds: ls.initialLookbackSeconds,
  };
  const key = stateKey(projectId);
  let state = readState(await deps.state.get(key));
  let request: { since: string; page: number } | undefined = {
    since: runStart(state, deps.now(), options),
    page: 1,
  };
  let enqueued = 0;
  for (let pages = 0; request && pages < ls.maxPagesPerRun && !timeIsShort(deps); pages++) {
    const tasks = await listTasks(
      ls.url,
      token,
      projectId,
      changedTasksQuery(request.since),
      request.page,
      ls.pageSize,
      deps,
    );
    const plan = planChangedPage(tasks, state, request, options);
    deps.count(
      "PullPulled",
      tasks.reduce((n, t) => n + (Array.isArray(t.annotations) ? t.annotations.length : 0), 0),
    );
    deps.count("PullUnchanged", plan.unchanged);
    for (const { taskId, reason } of plan.refused)
      deps.log("error", "Label Studio annotation cannot be queued; passed over", {
        projectId,
        taskId,
        reason,
      });
    deps.count("PullRefused", plan.refused.length);
    // Queue first, then store: a crash in between re-reads this page next run, which changes nothing.
    await deps.enqueue(plan.bodies.map((body) => labelStudioQueued(body, projectId)));
    enqueued += plan.bodies.length;
    deps.count("PullEnqueued", plan.bodies.length);
    state = plan.state;
    await deps.state.put(key, JSON.stringify(state));
    request = plan.next;
  }
  if (timeIsShort(deps)) {
    deps.log(
      "warn",
      "Label Studio reconciliation stopped early: too little time left; the next run resumes",
      {
        projectId,
        enqueued,
        watermark: state.watermark,
      },
    );
    return enqueued;
  }
  // One sweep page per run: deletions that did not change a task's updated_at.
  const swept = await listTasks(ls.url, token, projectId, sweepQuery(), state.sweepPage, ls.pageSize, deps);
  const sweep = planSweepPage(swept, state, options);
  await deps.enqueue(sweep.bodies.map((body) => labelStudioQueued(body, projectId)));
  enqueued += sweep.bodies.length;
  deps.count("PullEnqueued", sweep.bodies.length);
  await deps.state.put(key, JSON.stringify(sweep.state));
  deps.log("info", "Label Studio project reconciled", {
    projectId,
    enqueued,
    watermark: sweep.state.watermark,
    more: request !== undefined,
  });
  return enqueued;
}

/** One page of a project's tasks (`fields=all`, with their annotations); past the last page, none. */
export async function listTasks(
  base: string,
  token: string,
  projectId: number,
  query: string,
  page: number,
  pageSize: number,
  deps: Pick<PullDeps, "getJson">,
): Promise<Record<string, unknown>[]> {
  const url = new URL("/api/tasks", base);
  url.search = new URLSearchParams({
    project: String(projectId),
    page: String(page),
    page_size: String(pageSize),
    fields: "all",
    query,
  }).toString();
  let answer: unknown;
  try {
    answer = await deps.getJson(url.toString(), token);
  } catch (error) {
    // Past the last page Label Studio answers 404 ("Invalid page"): that is the end, not a failure.
    if (error instanceof PullHttpError && error.status === 404 && page > 1) return [];
    throw error;
  }
  const tasks = Array.isArray(answer) ? answer : (answer as { tasks?: unknown } | null)?.tasks;
  if (!Array.isArray(tasks)) throw new PullHttpError("Label Studio's task list has no tasks array");
  return tasks.filter(
    (t): t is Record<string, unknown> => t !== null && typeof t === "object" && !Array.isArray(t),
  );
}

export function labelStudioQueued(body: string, projectId: number): Queued {
  const parsed = JSON.parse(body) as { annotation?: { id?: unknown }; annotations?: { id?: unknown }[] };
  const id = parsed.annotation?.id ?? parsed.annotations?.[0]?.id ?? "";
  return { body, format: "label-studio", groupId: `label-studio:${projectId}:${String(id)}` };
}

/**
 * Pulls one CVAT job and queues one body per frame. A failure throws (the pull request is retried from its queue,
 * and dead-lettered after its receives); a job the bridge cannot read as frames is refused with CvatJobError.
 */
export async function pullCvatJob(jobId: number, deps: PullDeps): Promise<number> {
  const cvat = deps.config.cvat;
  if (!cvat) throw new CvatJobError("CVAT is not configured in PULLER_CONFIG");
  const token = deps.tokens.cvat;
  if (!token) throw new Error('the puller secret has no "cvat" token');
  const frames = await readCvatJob(cvat.url, jobId, token, deps);
  deps.count("PullPulled", frames.length);
  const bodies = frames.filter((body, i) => {
    if (Buffer.byteLength(body) <= MAX_QUEUED_BODY_BYTES) return true;
    deps.log("error", "CVAT frame cannot be queued; passed over", {
      jobId,
      frameIndex: i,
      bytes: Buffer.byteLength(body),
    });
    deps.count("PullRefused", 1);
    return false;
  });
  await deps.enqueue(bodies.map((body, i) => ({ body, format: "cvat", groupId: `cvat:${jobId}:${i}` })));
  deps.count("PullEnqueued", bodies.length);
  deps.log("info", "CVAT job pulled", { jobId, frames: bodies.length });
  return bodies.length;
}

/** A CVAT job as the bodies the bridge queues for it (one per frame, or one for a video job). */
export async function readCvatJob(
  base: string,
  jobId: number,
  token: string,
  deps: Pick<PullDeps, "getJson">,
): Promise<string[]> {
  const at = (path: string) => new URL(path, base).toString();
  const job = (await deps.getJson(at(`/api/jobs/${jobId}`), token)) as Record<string, unknown>;
  const labels: Record<string, unknown>[] = [];
  let next: string | undefined = at(`/api/labels?job_id=${jobId}&page_size=500`);
  for (let pages = 0; next && pages < 20; pages++) {
    const page = (await deps.getJson(next, token)) as { results?: unknown; next?: unknown };
    if (Array.isArray(page?.results)) labels.push(...(page.results as Record<string, unknown>[]));
    // Follow `next` only on the same server: the token must not travel anywhere else.
    next = sameOrigin(page?.next, base) ? (page?.next as string) : undefined;
  }
  const meta = (await deps.getJson(at(`/api/jobs/${jobId}/data/meta`), token)) as Record<string, unknown>;
  const annotations = (await deps.getJson(at(`/api/jobs/${jobId}/annotations`), token)) as Record<
    string,
    unknown
  >;
  return cvatFrameBodies({ job, labels, meta, annotations });
}

/** Whether `link` is a URL on the same origin as `base` (a paging link that would carry the token elsewhere is not). */
export function sameOrigin(link: unknown, base: string): boolean {
  if (typeof link !== "string") return false;
  try {
    return new URL(link).origin === new URL(base).origin;
  } catch {
    return false;
  }
}

const timeIsShort = (deps: PullDeps) =>
  deps.remainingMs !== undefined && deps.remainingMs() < STOP_BEFORE_END_MS;

/** An error's message for the log; the tools' answers never hold the token, and requests are logged without it. */
const describe = (error: unknown) => (error instanceof Error ? error.message : String(error)).slice(0, 500);

import { taskBodies } from "../pull/label-studio-reconcile.js";
import { labelStudioQueued, listTasks, PullHttpError, readCvatJob, sameOrigin } from "../pull/run-pull.js";
import type { SourceBody } from "./expected.js";

/**
 * What a tool holds now, as the bodies the bridge would queue for it: Label Studio's project tasks (every
 * annotation as the `ANNOTATION_UPDATED` body reconciliation queues) and the CVAT jobs of a task (the puller's
 * bodies per frame, or one per video job). The same readers the puller uses, so the audit derives exactly what
 * delivery derives. Bounded by `maxPages`; a source cut short says so (`complete: false`).
 */
export interface SourceRead {
  readonly bodies: SourceBody[];
  /** The upstream project the source is (`label-studio:12`), for Clarifai's annotations the tool no longer has. */
  readonly scope: string;
  readonly complete: boolean;
  /** Upstream annotations read (Label Studio annotations, CVAT jobs). */
  readonly read: number;
  /** What the tool holds that can never be queued (too large, nested too deep, no id): with why. */
  readonly refused: { readonly origin: string; readonly reason: string }[];
}

export type GetJson = (url: string, token: string) => Promise<unknown>;

export interface SourceOptions {
  readonly getJson: GetJson;
  readonly token: string;
  /** @default 100 */
  readonly pageSize?: number;
  /** @default 1000 */
  readonly maxPages?: number;
  readonly onProgress?: (read: number) => void;
}

/** One page of a source: its bodies and what could not be made into one. */
export interface SourcePage {
  readonly bodies: SourceBody[];
  readonly refused: SourceRead["refused"];
  /** Upstream annotations (Label Studio) or jobs (CVAT) read so far. */
  readonly read: number;
}

/**
 * Every task of a Label Studio project, by id, page after page, until a page brings nothing new; a page at a
 * time, so a reader that streams (`clarifai-bridge import`) holds one page. A task that moved a page while
 * reading is read once: the ids of the last two pages are kept, not the project's.
 */
export async function* labelStudioProjectPages(
  base: string,
  projectId: number,
  options: SourceOptions,
  /** Set when the pages ran out before the project did (`maxPages`). */
  cut: { short: boolean } = { short: false },
): AsyncGenerator<SourcePage> {
  const pageSize = options.pageSize ?? 100;
  const maxPages = options.maxPages ?? 1000;
  let read = 0;
  let previous = new Set<string>();
  const query = JSON.stringify({ ordering: ["tasks:id"] });
  for (let page = 1; page <= maxPages; page++) {
    const tasks = await listTasks(base, options.token, projectId, query, page, pageSize, options);
    const current = new Set<string>();
    const bodies: SourceBody[] = [];
    const refused: SourceRead["refused"] = [];
    for (const task of tasks) {
      const id = String(task.id);
      if (previous.has(id) || current.has(id)) continue; // a task that moved pages while reading: read once
      current.add(id);
      const made = taskBodies(task, undefined, projectId);
      for (const reason of made.refused)
        refused.push({ origin: `label-studio task ${id.slice(0, 32)}`, reason });
      for (const body of made.bodies) {
        const queued = labelStudioQueued(body, projectId);
        const annotationId = queued.groupId.split(":").pop();
        bodies.push({
          body,
          format: "label-studio",
          groupId: queued.groupId,
          origin: `label-studio task ${id} annotation ${annotationId}`,
        });
        read += 1;
      }
    }
    options.onProgress?.(read);
    // The end is an empty page (Label Studio answers 404 past the last), not a short one: a server that caps
    // page_size below the one asked would make every page short. A page of nothing new (a server ignoring
    // `page`) ends it too.
    if (current.size === 0) return;
    yield { bodies, refused, read };
    previous = current;
  }
  cut.short = true;
}

/** Every task of a Label Studio project, by id, page after page, until a page brings nothing new. */
export async function readLabelStudioProject(
  base: string,
  projectId: number,
  options: SourceOptions,
): Promise<SourceRead> {
  const bodies: SourceBody[] = [];
  const refused: SourceRead["refused"] = [];
  let read = 0;
  const cut = { short: false };
  for await (const page of labelStudioProjectPages(base, projectId, options, cut)) {
    bodies.push(...page.bodies);
    refused.push(...page.refused);
    read = page.read;
  }
  return { bodies, scope: `label-studio:${projectId}`, complete: !cut.short, read, refused };
}

/**
 * Every job of a CVAT task (`GET /api/jobs?task_id=`), each read as the puller reads it, a job at a time (the
 * list of job ids is held: a few numbers a job).
 */
export async function* cvatTaskJobs(
  base: string,
  taskId: number,
  options: SourceOptions,
  /** Set when the job list's pages ran out before the task's jobs did (`maxPages`). */
  cut: { short: boolean } = { short: false },
): AsyncGenerator<SourcePage> {
  const maxPages = options.maxPages ?? 1000;
  const jobs: number[] = [];
  let next: string | undefined = new URL(
    `/api/jobs?task_id=${taskId}&page_size=${options.pageSize ?? 100}`,
    base,
  ).toString();
  for (let pages = 0; next; pages++) {
    if (pages >= maxPages) {
      cut.short = true;
      break;
    }
    const page = (await options.getJson(next, options.token)) as { results?: unknown; next?: unknown };
    if (!Array.isArray(page?.results)) throw new PullHttpError("CVAT's job list has no results array");
    for (const job of page.results as { id?: unknown; task_id?: unknown }[])
      if (typeof job?.id === "number" && (job.task_id === undefined || job.task_id === taskId))
        jobs.push(job.id);
    next = sameOrigin(page.next, base) ? (page.next as string) : undefined;
  }
  for (const [n, jobId] of jobs.entries()) {
    const frames = await readCvatJob(base, jobId, options.token, options);
    const bodies = frames.map((body, i) => ({
      body,
      format: "cvat",
      groupId: `cvat:${jobId}:${i}`,
      origin: `cvat job ${jobId} body ${i}`,
    }));
    options.onProgress?.(n + 1);
    yield { bodies, refused: [], read: n + 1 };
  }
}

/** Every job of a CVAT task (`GET /api/jobs?task_id=`), each read as the puller reads it. */
export async function readCvatTask(
  base: string,
  taskId: number,
  options: SourceOptions,
): Promise<SourceRead> {
  const bodies: SourceBody[] = [];
  let read = 0;
  const cut = { short: false };
  for await (const page of cvatTaskJobs(base, taskId, options, cut)) {
    bodies.push(...page.bodies);
    read = page.read;
  }
  // CVAT's mapping key is its project (or the task where the job has none): the bodies' own annotation_info
  // names it; this scope only matters when the task holds no annotations at all.
  return { bodies, scope: `cvat:${taskId}`, complete: !cut.short, read, refused: [] };
}

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

/** Every task of a Label Studio project, by id, page after page, until a page brings nothing new. */
export async function readLabelStudioProject(
  base: string,
  projectId: number,
  options: SourceOptions,
): Promise<SourceRead> {
  const pageSize = options.pageSize ?? 100;
  const maxPages = options.maxPages ?? 1000;
  const bodies: SourceBody[] = [];
  const refused: SourceRead["refused"] = [];
  let read = 0;
  const seen = new Set<string>();
  const query = JSON.stringify({ ordering: ["tasks:id"] });
  for (let page = 1; page <= maxPages; page++) {
    const tasks = await listTasks(base, options.token, projectId, query, page, pageSize, options);
    let fresh = 0;
    for (const task of tasks) {
      const id = String(task.id);
      if (seen.has(id)) continue; // a task that moved pages while reading: read once
      seen.add(id);
      fresh += 1;
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
    if (fresh === 0) return { bodies, scope: `label-studio:${projectId}`, complete: true, read, refused };
  }
  return { bodies, scope: `label-studio:${projectId}`, complete: false, read, refused };
}

/** Every job of a CVAT task (`GET /api/jobs?task_id=`), each read as the puller reads it. */
export async function readCvatTask(
  base: string,
  taskId: number,
  options: SourceOptions,
): Promise<SourceRead> {
  const maxPages = options.maxPages ?? 1000;
  const jobs: number[] = [];
  let next: string | undefined = new URL(
    `/api/jobs?task_id=${taskId}&page_size=${options.pageSize ?? 100}`,
    base,
  ).toString();
  let complete = true;
  for (let pages = 0; next; pages++) {
    if (pages >= maxPages) {
      complete = false;
      break;
    }
    const page = (await options.getJson(next, options.token)) as { results?: unknown; next?: unknown };
    if (!Array.isArray(page?.results)) throw new PullHttpError("CVAT's job list has no results array");
    for (const job of page.results as { id?: unknown; task_id?: unknown }[])
      if (typeof job?.id === "number" && (job.task_id === undefined || job.task_id === taskId))
        jobs.push(job.id);
    next = sameOrigin(page.next, base) ? (page.next as string) : undefined;
  }
  const bodies: SourceBody[] = [];
  for (const [n, jobId] of jobs.entries()) {
    const frames = await readCvatJob(base, jobId, options.token, options);
    for (const [i, body] of frames.entries())
      bodies.push({
        body,
        format: "cvat",
        groupId: `cvat:${jobId}:${i}`,
        origin: `cvat job ${jobId} body ${i}`,
      });
    options.onProgress?.(n + 1);
  }
  // CVAT's mapping key is its project (or the task where the job has none): the bodies' own annotation_info
  // names it; this scope only matters when the task holds no annotations at all.
  return { bodies, scope: `cvat:${taskId}`, complete, read: jobs.length, refused: [] };
}

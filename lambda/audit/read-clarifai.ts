import { classifyWhole } from "../clarifai/classify.js";
import type { ClarifaiClient } from "../clarifai/client.js";
import type { AppRef } from "../clarifai/to-annotation.js";
import type { RateLimiter } from "../delivery/rate-limiter.js";

/**
 * A task's annotations from ListAnnotations (`task_id`), page by page at the caller's pace. Pages are
 * Clarifai's own default size (128, which every answer allows); the listing ends at the first empty page, not at
 * a short one, since a Clarifai that caps `per_page` lower would make a short page look like the last. Throttling
 * and transient failures wait and ask again (a few times); anything else ends the run with Clarifai's status.
 */
export interface TaskListing {
  readonly annotations: Record<string, unknown>[];
  readonly pages: number;
  /** False when `maxPages` stopped it first: the audit then says so instead of calling the rest missing. */
  readonly complete: boolean;
}

export interface ListOptions {
  readonly limiter: RateLimiter;
  /** @default 128 */
  readonly perPage?: number;
  /** @default 2000 (256,000 annotations at 128 a page) */
  readonly maxPages?: number;
  /** @default 20000 */
  readonly timeoutMs?: number;
  /** Called after each page with the annotations read so far. */
  readonly onPage?: (read: number) => void;
  /** Tries per page before giving up on a transient failure. @default 5 */
  readonly attempts?: number;
}

export class ClarifaiListError extends Error {}

export async function listTaskAnnotations(
  client: ClarifaiClient,
  app: AppRef | null,
  taskId: string,
  options: ListOptions,
): Promise<TaskListing> {
  const perPage = options.perPage ?? 128;
  const maxPages = options.maxPages ?? 2000;
  const byId = new Map<string, Record<string, unknown>>();
  for (let page = 1; page <= maxPages; page++) {
    const got = await listPage(page);
    if (got.length === 0) return { annotations: [...byId.values()], pages: page, complete: true };
    // A page repeated (a Clarifai that ignores `page`) adds nothing new: stop rather than loop to maxPages.
    let fresh = 0;
    for (const a of got)
      if (typeof a.id === "string" && !byId.has(a.id)) {
        byId.set(a.id, a);
        fresh += 1;
      }
    options.onPage?.(byId.size);
    if (fresh === 0) return { annotations: [...byId.values()], pages: page, complete: true };
  }
  return { annotations: [...byId.values()], pages: maxPages, complete: false };

  async function listPage(page: number): Promise<Record<string, unknown>[]> {
    for (let attempt = 1; ; attempt++) {
      await options.limiter.acquire();
      const result = await client.listAnnotations(
        app,
        { taskId, page, perPage },
        options.timeoutMs ?? 20_000,
      );
      const outcome = classifyWhole(result);
      if (outcome.kind === "delivered") {
        const body = result.kind === "response" ? (result.body as { annotations?: unknown }) : undefined;
        const list = Array.isArray(body?.annotations) ? (body.annotations as unknown[]) : [];
        return list.filter(
          (a): a is Record<string, unknown> => a !== null && typeof a === "object" && !Array.isArray(a),
        );
      }
      if (outcome.kind === "permanent" || attempt >= (options.attempts ?? 5))
        throw new ClarifaiListError(
          `ListAnnotations of task ${taskId}, page ${page}: ${outcome.reason} (${outcome.code})`,
        );
      // The limiter holds the next request back until the wait is over.
      options.limiter.backOff((outcome.retryAfterSeconds ?? 2 ** attempt) * 1000);
    }
  }
}

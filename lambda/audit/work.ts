import { STATUS_CODES, statusCodeOf } from "../clarifai/status-codes.js";
import { labelerOf } from "./expected.js";

/**
 * The work report, pure: a task's annotations as ListAnnotations returns them, counted per worker by status, with
 * the newest annotation's time and the upstream labelers the bridge recorded in `annotation_info`. This is what
 * `npm start` prints from the stand-in, read from the real API by `clarifai-bridge work`.
 */
export const WORK_STATUSES = [
  "success",
  "awaiting review",
  "awaiting consensus",
  "pending",
  "review denied",
  "other",
] as const;
export type WorkStatus = (typeof WORK_STATUSES)[number];

export interface WorkerRow {
  /** `worker.user.id`, else the annotation's `user_id`, else `(key's owner)`. */
  readonly worker: string;
  readonly total: number;
  readonly byStatus: Record<WorkStatus, number>;
  /** The newest `modified_at` (else `created_at`) among them, ISO; "" when none carries one. */
  readonly newest: string;
  /** The upstream labelers (`label-studio:7`) whose work it is, with their counts. */
  readonly upstream: Record<string, number>;
}

const BY_CODE: ReadonlyMap<number, WorkStatus> = new Map([
  [STATUS_CODES.ANNOTATION_SUCCESS, "success"],
  [STATUS_CODES.ANNOTATION_AWAITING_REVIEW, "awaiting review"],
  [STATUS_CODES.ANNOTATION_AWAITING_CONSENSUS_REVIEW, "awaiting consensus"],
  [STATUS_CODES.ANNOTATION_PENDING, "pending"],
  [STATUS_CODES.ANNOTATION_REVIEW_DENIED, "review denied"],
]);

/** The stored state of an annotation (`status.code`, a number or the enum's name). No status reads as success. */
export function workStatusOf(annotation: Record<string, unknown>): WorkStatus {
  const status = annotation.status;
  if (status === undefined || status === null) return "success";
  const code = statusCodeOf((status as { code?: unknown }).code);
  return (code !== undefined && BY_CODE.get(code)) || "other";
}

export function workerOf(annotation: Record<string, unknown>): string {
  const worker = (annotation.worker as { user?: { id?: unknown } } | undefined)?.user?.id;
  if (typeof worker === "string" && worker) return worker;
  return typeof annotation.user_id === "string" && annotation.user_id ? annotation.user_id : "(key's owner)";
}

/** Per worker, sorted by worker; `since` (ISO) keeps annotations modified at or after it. */
export function workReport(annotations: readonly Record<string, unknown>[], since?: string): WorkerRow[] {
  const from = since === undefined ? Number.NEGATIVE_INFINITY : Date.parse(since);
  const rows = new Map<string, WorkerRow>();
  for (const annotation of annotations) {
    const at = timeOf(annotation);
    if (at !== "" ? Date.parse(at) < from : from !== Number.NEGATIVE_INFINITY) continue;
    const worker = workerOf(annotation);
    let row = rows.get(worker);
    if (!row) {
      row = {
        worker,
        total: 0,
        byStatus: Object.fromEntries(WORK_STATUSES.map((s) => [s, 0])) as Record<WorkStatus, number>,
        newest: "",
        upstream: {},
      };
      rows.set(worker, row);
    }
    const r = row as { total: number; newest: string };
    r.total += 1;
    row.byStatus[workStatusOf(annotation)] += 1;
    if (at !== "" && (r.newest === "" || Date.parse(at) > Date.parse(r.newest))) r.newest = at;
    const labeler = labelerOf(annotation);
    if (!labeler.startsWith("clarifai:") && labeler !== "(no labeler)")
      row.upstream[labeler] = (row.upstream[labeler] ?? 0) + 1;
  }
  return [...rows.values()].sort((a, b) => (a.worker < b.worker ? -1 : a.worker > b.worker ? 1 : 0));
}

function timeOf(annotation: Record<string, unknown>): string {
  for (const key of ["modified_at", "created_at"]) {
    const v = annotation[key];
    if (typeof v === "string" && !Number.isNaN(Date.parse(v))) return v;
  }
  return "";
}

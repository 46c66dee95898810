import type { StoredAnnotation, WorkRow } from "./types.js";

/**
 * What kind of label a stored annotation is, for the stand-in's work view and the local run's report: image-level
 * `concepts`, or its one region's geometry (`box`, `polygon`, `mask`, `point`, `keypoints`, `span`), prefixed
 * `video ` when the region sits on a frame.
 */
const GEOMETRY: readonly [string, string][] = [
  ["bounding_box", "box"],
  ["polygon", "polygon"],
  ["mask", "mask"],
  ["point", "point"],
  ["keypoint_locations", "keypoints"],
  ["span", "span"],
  ["token", "span"],
];

export function annotationKind(annotation: Record<string, unknown>): string {
  const data = (annotation.data ?? {}) as {
    regions?: { region_info?: Record<string, unknown> }[];
    frames?: { data?: { regions?: { region_info?: Record<string, unknown> }[] } }[];
  };
  const framed = data.frames?.[0]?.data?.regions?.[0];
  const region = framed ?? data.regions?.[0];
  if (!region) return framed === undefined && data.frames?.length ? "video concepts" : "concepts";
  const info = region.region_info ?? {};
  const kind = GEOMETRY.find(([field]) => info[field] != null)?.[1] ?? "region";
  return framed ? `video ${kind}` : kind;
}

/** Stored annotations per app, task, worker credited and status, with their kinds: the work a task shows. */
export function workRows(
  held: readonly StoredAnnotation[],
  codeNames: Readonly<Record<number, string>>,
): WorkRow[] {
  const counts = new Map<string, WorkRow>();
  for (const one of held) {
    const a = one.annotation as {
      task_id?: string;
      annotation_info?: { task_id?: string };
      worker?: { user?: { id?: string } };
      status?: { code?: number | string };
    };
    const taskId = a.task_id || a.annotation_info?.task_id || "";
    const worker = a.worker?.user?.id ?? "";
    const code = a.status?.code;
    const statusName = typeof code === "number" ? (codeNames[code] ?? String(code)) : String(code ?? "");
    const k = [one.app, taskId, worker, statusName].join("\u0000");
    const row = counts.get(k);
    const kind = annotationKind(one.annotation);
    const kinds = { ...row?.kinds, [kind]: (row?.kinds[kind] ?? 0) + 1 };
    counts.set(k, {
      app: one.app,
      taskId,
      worker,
      status: statusName,
      count: (row?.count ?? 0) + 1,
      kinds,
    });
  }
  return [...counts.values()].sort(
    (x, y) =>
      x.taskId.localeCompare(y.taskId) ||
      x.worker.localeCompare(y.worker) ||
      x.status.localeCompare(y.status),
  );
}

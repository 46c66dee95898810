import "../events/all-adapters.js"; // parses any tool's bodies, outside the handler
import { VERSION_KEY } from "../clarifai/to-annotation.js";
import { type ParsedRecord, type ParseOptions, parseRecord } from "../delivery/parse-record.js";
import { derivedId } from "../events/annotation-id.js";
import type { FetchedMask, MaskRef } from "../events/contract/mask-files.js";

/**
 * What the tool holds, as the Clarifai annotations the bridge would make of it: each body the tool's current state
 * gives (the webhook body or pulled body the bridge would queue) run through the bridge's own parser, so the ids,
 * labelers and versions are the ones delivery derives. Pure.
 */
export interface SourceBody {
  readonly body: string;
  /** The message's `format` attribute (`label-studio`, `cvat`, ...); none: detected from the body's shape. */
  readonly format?: string;
  /** The FIFO group it is queued under on repair. */
  readonly groupId: string;
  /** Where it came from, for the report (`label-studio task 7 annotation 42`). */
  readonly origin: string;
}

/** One annotation the tool's work should be in Clarifai as. */
export interface ExpectedAnnotation {
  readonly id: string;
  readonly inputId: string;
  readonly taskId: string;
  /** The upstream labeler (`<tool>:<id>`), else the Clarifai worker, else `(no labeler)`. */
  readonly labeler: string;
  /** The upstream time the annotation carries (`data.metadata.bridge_occurred_at`). */
  readonly version: string;
  /** `{system, projectId}` of the upstream project, as `annotation_info.upstream` carries it. */
  readonly scope: string;
  /** The labeler's email and Clarifai user, where the annotation carries them. */
  readonly identity: LabelerIdentity;
  /** Index of the body it comes from (what `--repair` queues). */
  readonly body: number;
}

export interface ExpectedWork {
  readonly annotations: Map<string, ExpectedAnnotation>;
  /** Bodies the bridge would refuse (they would be dead-lettered): with why. */
  readonly refused: { readonly origin: string; readonly errorCode: string; readonly reason: string }[];
}

/** Who a labeler is besides the key: the email the tool gave, the Clarifai user the work is credited to. */
export interface LabelerIdentity {
  readonly email?: string;
  readonly worker?: string;
}

export function identityOf(annotation: Record<string, unknown>): LabelerIdentity {
  const email = record(record(record(annotation.annotation_info).labeler)).email;
  const worker = record(record(annotation.worker).user).id;
  return {
    ...(typeof email === "string" && email ? { email } : {}),
    ...(typeof worker === "string" && worker ? { worker } : {}),
  };
}

/** What labels an annotation's work: the upstream labeler as the bridge recorded it, else its worker. */
export function labelerOf(annotation: Record<string, unknown>): string {
  const info = record(annotation.annotation_info);
  const labeler = record(info.labeler);
  if (typeof labeler.id === "string" && labeler.id !== "") {
    const source = typeof info.source === "string" ? info.source : "?";
    return `${source}:${labeler.id}`;
  }
  const worker = record(record(annotation.worker).user).id;
  return typeof worker === "string" && worker !== "" ? `clarifai:${worker}` : "(no labeler)";
}

/** The upstream project an annotation was made from (`label-studio:12`), or "" when it names none. */
export function scopeOf(annotation: Record<string, unknown>): string {
  const upstream = record(record(annotation.annotation_info).upstream);
  const system = upstream.system;
  return typeof system === "string" ? `${system}:${String(upstream.projectId ?? "")}` : "";
}

/** The upstream time an annotation carries: `data.metadata` first (an overwrite certainly replaces it). */
export function versionOf(annotation: Record<string, unknown>): string | undefined {
  const fromData = record(record(annotation.data).metadata)[VERSION_KEY];
  if (typeof fromData === "string") return fromData;
  const fromInfo = record(annotation.annotation_info).occurred_at;
  return typeof fromInfo === "string" ? fromInfo : undefined;
}

/**
 * The annotations each body stands for, keyed by id. Deletes expect nothing; a body the bridge refuses is listed
 * with the reason it would be dead-lettered for. When two bodies make the same id, the later version wins.
 */
export function expectedFromBodies(bodies: readonly SourceBody[], options: ParseOptions): ExpectedWork {
  return collect(
    bodies,
    bodies.map((source) => parseSource(source, options)),
  );
}

/**
 * `expectedFromBodies` for bodies whose masks are kept in files (Labelbox, Scale, Ground Truth): each such body's
 * files fetched (one body's at a time, as the handler does) and the body read again with them, so the ids are the
 * ones delivery derives from the files' pixels. Without `fetchMasks` such bodies are listed as refused
 * (`mask-not-fetched`).
 */
export async function expectedFromBodiesFetching(
  bodies: readonly SourceBody[],
  options: ParseOptions,
  fetchMasks?: (refs: readonly MaskRef[]) => Promise<ReadonlyMap<string, FetchedMask>>,
): Promise<ExpectedWork> {
  const parsed = bodies.map((source) => parseSource(source, options));
  if (fetchMasks)
    for (const [i, p] of parsed.entries())
      if (!p.ok && p.needs)
        parsed[i] = parseSource(bodies[i] as SourceBody, {
          ...options,
          fetchedMasks: await fetchMasks(p.needs),
        });
  return collect(bodies, parsed);
}

const parseSource = (source: SourceBody, options: ParseOptions): ParsedRecord =>
  parseRecord(source.body, {
    ...options,
    attributes: source.format ? { ...options.attributes, format: source.format } : options.attributes,
  });

/** The annotations the parsed bodies stand for, keyed by id; the later version wins for one id. */
function collect(bodies: readonly SourceBody[], parsedBodies: readonly ParsedRecord[]): ExpectedWork {
  const annotations = new Map<string, ExpectedAnnotation>();
  const refused: ExpectedWork["refused"] = [];
  parsedBodies.forEach((parsed, index) => {
    const source = bodies[index] as SourceBody;
    if (!parsed.ok) {
      refused.push({ origin: source.origin, errorCode: parsed.failure.code, reason: parsed.failure.reason });
      return;
    }
    const made = [
      ...parsed.deliveries.map((d) => ({ annotation: d.annotation, taskId: d.taskId })),
      ...parsed.changes.flatMap((c) =>
        c.kind === "replace" ? c.annotations.map((annotation) => ({ annotation, taskId: c.taskId })) : [],
      ),
    ];
    for (const { annotation, taskId } of made) {
      const raw = annotation as unknown as Record<string, unknown>;
      const version = versionOf(raw) ?? "";
      const held = annotations.get(annotation.id);
      if (held && !laterTime(version, held.version)) continue;
      annotations.set(annotation.id, {
        id: annotation.id,
        inputId: annotation.input_id,
        taskId,
        labeler: labelerOf(raw),
        version,
        scope: scopeOf(raw),
        identity: identityOf(raw),
        body: index,
      });
    }
  });
  return { annotations, refused };
}

/**
 * The annotation ids a dead letter's body stands for, and its set's base ids: parsed as the handler parsed it.
 * A body that does not parse (often why it was dead-lettered) gives the base id of a Label Studio annotation
 * where it names one, so "waiting in the DLQ" is still found for it.
 */
export function deadLetterIds(body: string, options: ParseOptions): { ids: string[]; baseIds: string[] } {
  const parsed = parseRecord(body, options);
  if (parsed.ok) {
    const ids = [
      ...parsed.deliveries.map((d) => d.annotation.id),
      ...parsed.changes.flatMap((c) => (c.kind === "replace" ? c.annotations.map((a) => a.id) : [])),
    ];
    const baseIds = [
      ...parsed.deliveries.flatMap((d) => (d.baseId ? [d.baseId] : [])),
      ...parsed.changes.map((c) => c.baseId),
    ];
    return { ids, baseIds: [...new Set(baseIds)] };
  }
  try {
    const json = JSON.parse(body) as { annotation?: { id?: unknown; project?: unknown }; project?: unknown };
    const project = record(json.project).id ?? json.annotation?.project;
    const id = json.annotation?.id;
    if ((typeof id === "number" || typeof id === "string") && project !== undefined)
      return { ids: [], baseIds: [derivedId("label-studio", String(project), String(id))] };
  } catch {
    // not JSON: nothing to match it by
  }
  return { ids: [], baseIds: [] };
}

/** The base id of a set member (`<base>-r-<hash>`, or the base itself). */
export const baseOf = (id: string): string => id.replace(/-r-[0-9a-f]{12}$/, "");

/** Whether ISO time `a` is after `b` (microseconds, where the tool writes them, break millisecond ties). */
export function laterTime(a: string, b: string): boolean {
  const ms = Date.parse(a) - Date.parse(b);
  if (Number.isNaN(ms)) return a > b;
  if (ms !== 0) return ms > 0;
  return micros(a) > micros(b);
}
const micros = (t: string) => Number(/\.\d{3}(\d{1,3})/.exec(t)?.[1]?.padEnd(3, "0") ?? 0);

const record = (v: unknown): Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

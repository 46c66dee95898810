/**
 * A CVAT job's annotations, pulled through its API, as one queue body per frame (the `cvat` format, read by
 * `events/cvat/index.ts`). Pure: the puller fetches the four answers, this splits them.
 *
 * - `GET /api/jobs/{id}`: `task_id`, `project_id`, `start_frame`, `stop_frame`, `updated_date`, `assignee`
 * - `GET /api/labels?job_id={id}` (paged): `results[]` of `{id, name}`
 * - `GET /api/jobs/{id}/data/meta`: `frames[]` of `{name, width, height}`, `deleted_frames`, `frame_filter`
 * - `GET /api/jobs/{id}/annotations`: `shapes[]` and `tags[]` with `frame` and `label_id`, `tracks[]`
 *
 * Which frame `frames[i]` describes is taken from the meta's own range: with as many entries as the job has
 * frames, the i-th is `start_frame + i * step` (`frame_filter: "step=N"`); otherwise `frames` covers the whole task
 * and is indexed by frame number (older servers). Unconfirmed across CVAT versions, so both are read.
 */
import { sqsSafeJson } from "../delivery/sqs-safe.js";
import { cvatTrackRules, type ElementTrack, skeletonElementsAt } from "../events/kinds/cvat-track-rules.js";
import { type Keyframe, shapeAt, sortedKeyframes } from "../events/kinds/video-frames.js";

type Json = Record<string, unknown>;

export interface CvatJobAnswers {
  readonly job: Json;
  readonly labels: readonly Json[];
  readonly meta: Json;
  readonly annotations: Json;
}

/** Jobs with more frames than this are refused (one message per frame; a video job is not an image dataset). */
export const MAX_FRAMES_PER_JOB = 10_000;

export class CvatJobError extends Error {}

/**
 * Whether the job is a video's: CVAT's job says so (`data_original_chunk_type` or `data_compressed_chunk_type`
 * `video`), or its frame metadata describes one frame for a job of many (CVAT lists a video's size once).
 * Unconfirmed across CVAT versions, so either is read.
 */
export function isVideoJob(job: Json, meta: Json, frames: number): boolean {
  if (job.data_original_chunk_type === "video" || job.data_compressed_chunk_type === "video") return true;
  return frames > 1 && Array.isArray(meta.frames) && meta.frames.length === 1;
}

/**
 * One body per frame of the job that is not deleted, in frame order; for a video job one body for the whole job
 * (its shapes with their frames and its tracks as keyframes: the video is one Clarifai input).
 */
export function cvatFrameBodies({ job, labels, meta, annotations }: CvatJobAnswers): string[] {
  const start = int(job.start_frame, "job.start_frame");
  const stop = int(job.stop_frame, "job.stop_frame");
  if (stop < start) throw new CvatJobError(`job ${String(job.id)}: stop_frame is before start_frame`);
  if (isVideoJob(job, meta, stop - start + 1))
    return [videoBody({ job, labels, meta, annotations }, start, stop)];
  const step = Number(/step=(\d+)/.exec(String(meta.frame_filter ?? ""))?.[1] ?? 1) || 1;
  const numbers: number[] = [];
  for (let f = start; f <= stop; f += step) numbers.push(f);
  if (numbers.length > MAX_FRAMES_PER_JOB)
    throw new CvatJobError(
      `job ${String(job.id)} has ${numbers.length} frames (at most ${MAX_FRAMES_PER_JOB})`,
    );
  const frames = Array.isArray(meta.frames) ? (meta.frames as unknown[]) : [];
  const deleted = new Set(Array.isArray(meta.deleted_frames) ? (meta.deleted_frames as unknown[]) : []);
  const frameMeta = (frame: number, i: number): Json => {
    const entry = frames.length === numbers.length ? frames[i] : frames[frame];
    return entry !== null && typeof entry === "object" ? (entry as Json) : {};
  };
  const byFrame = <T extends Json>(list: unknown): Map<number, T[]> => {
    const out = new Map<number, T[]>();
    for (const item of Array.isArray(list) ? list : []) {
      if (item === null || typeof item !== "object") continue;
      const frame = (item as Json).frame;
      if (typeof frame !== "number") continue;
      out.set(frame, [...(out.get(frame) ?? []), item as T]);
    }
    return out;
  };
  const shapes = byFrame(annotations.shapes);
  const tags = byFrame(annotations.tags);
  // Tracked objects over an image sequence: each becomes its shape on every frame CVAT shows it on (interpolated
  // as CVAT does; a skeleton with its points, each a track of its own), among that frame's shapes; a track of a
  // type the bridge cannot interpolate (masks: CVAT's own `interpolate` raises for them) is counted on the
  // frames it has keyframes on, and the frame refuses it by name.
  const tracks = new Map<number, number>();
  for (const track of objects(annotations.tracks)) {
    const expanded = trackShapes(track, numbers, stop);
    if (expanded) {
      for (const [frame, shape] of expanded) shapes.set(frame, [...(shapes.get(frame) ?? []), shape]);
      continue;
    }
    for (const shape of objects(track.shapes))
      if (typeof shape.frame === "number") tracks.set(shape.frame, (tracks.get(shape.frame) ?? 0) + 1);
  }
  const jobPart = jobOf(job);
  // A skeleton's points have labels of their own (its sublabels): nested in `sublabels`, or listed flat.
  const labelPart = labelList(labels);
  return numbers
    .map((number, i) => ({ number, i }))
    .filter(({ number }) => !deleted.has(number))
    .map(({ number, i }) => {
      const m = frameMeta(number, i);
      return sqsSafeJson(
        JSON.stringify({
          cvat: "job-frame",
          job: jobPart,
          frame: { number, name: m.name ?? null, width: m.width ?? null, height: m.height ?? null },
          labels: labelPart,
          shapes: (shapes.get(number) ?? []).map(stripShape),
          tags: (tags.get(number) ?? []).map((t) => ({ id: t.id, label_id: t.label_id })),
          tracks: tracks.get(number) ?? 0,
        }),
      );
    });
}

/**
 * A track's shape on each of the job's frames it is shown on, as CVAT interpolates it (cvat-track-rules.ts), or
 * undefined when its type cannot be interpolated here or its keyframes are not well formed.
 */
function trackShapes(track: Json, frames: readonly number[], stop: number): Map<number, Json> | undefined {
  const keyframes = objects(track.shapes);
  const type = keyframes[0]?.type;
  const wellFormed = keyframes.every(
    (k) =>
      k.type === type &&
      Number.isInteger(k.frame) &&
      Array.isArray(k.points) &&
      (k.points as unknown[]).every((p) => typeof p === "number" && Number.isFinite(p)),
  );
  if (typeof type !== "string" || keyframes.length === 0 || !wellFormed) return undefined;
  const rules = cvatTrackRules(type, keyframes as { points: number[] }[], stop);
  if (!rules) return undefined;
  let keys: Keyframe[];
  try {
    keys = sortedKeyframes(
      keyframes.map((k) => ({
        frame: k.frame as number,
        on: k.outside !== true,
        values: k.points as number[],
        rotation: typeof k.rotation === "number" ? k.rotation : 0,
      })),
      `track ${String(track.id)}`,
    );
  } catch {
    return undefined; // two keyframes on one frame: left to the frame's refusal
  }
  let elements: ElementTrack[] = [];
  if (type === "skeleton") {
    // Its points are tracks of their own (`elements`), each read on the frames the skeleton is shown on.
    try {
      elements = objects(track.elements).map((e) => ({
        label_id: e.label_id as string | number,
        keys: sortedKeyframes(
          objects(e.shapes).map((k) => ({
            frame: k.frame as number,
            on: k.outside !== true,
            values: Array.isArray(k.points) ? (k.points as number[]) : [],
            rotation: 0,
          })),
          `track ${String(track.id)} element`,
        ),
      }));
    } catch {
      return undefined; // an element's keyframes not well formed: left to the frame's refusal
    }
    if (
      elements.some((e) => e.keys.some((k) => !Number.isInteger(k.frame) || !k.values.every(Number.isFinite)))
    )
      return undefined;
  }
  const out = new Map<number, Json>();
  for (const frame of frames) {
    const at = shapeAt(keys, rules, frame);
    if (!at) continue;
    const points = type === "skeleton" ? skeletonElementsAt(elements, frame, stop) : [];
    if (!points) continue; // every point of the skeleton outside: CVAT does not show it
    out.set(frame, {
      id: `track-${String(track.id)}`,
      type,
      label_id: track.label_id,
      points: [...at.values],
      rotation: at.rotation,
      outside: false,
      frame,
      ...(type === "skeleton" ? { elements: points.map((p) => ({ ...p, type: "points" })) } : {}),
    });
  }
  return out;
}

/** What the adapter reads of the job. */
const jobOf = (job: Json) => ({
  id: job.id,
  task_id: job.task_id,
  project_id: job.project_id ?? null,
  updated_date: job.updated_date,
  assignee: job.assignee ?? null,
});

/** The job's labels; a skeleton's points have labels of their own (nested in `sublabels`, or listed flat). */
const labelList = (labels: readonly Json[]) =>
  labels.flatMap((l) => [
    { id: l.id, name: l.name },
    ...(Array.isArray(l.sublabels) ? (l.sublabels as Json[]) : [])
      .filter((sub) => sub !== null && typeof sub === "object")
      .map((sub) => ({ id: sub.id, name: sub.name })),
  ]);

const objects = (list: unknown): Json[] =>
  (Array.isArray(list) ? list : []).filter((x): x is Json => x !== null && typeof x === "object");

/** A video job as one body: its shapes with their frames, its tracks' keyframes, and the video's name and size. */
function videoBody({ job, labels, meta, annotations }: CvatJobAnswers, start: number, stop: number): string {
  const first = objects(meta.frames)[0] ?? {};
  return sqsSafeJson(
    JSON.stringify({
      cvat: "job-video",
      job: { ...jobOf(job), start_frame: start, stop_frame: stop },
      media: { name: first.name ?? null, width: first.width ?? null, height: first.height ?? null },
      labels: labelList(labels),
      shapes: objects(annotations.shapes).map((s) => ({ ...stripShape(s), frame: s.frame })),
      tracks: objects(annotations.tracks).map((t) => ({
        id: t.id,
        label_id: t.label_id,
        shapes: objects(t.shapes).map((s) => ({ ...stripShape(s), label_id: t.label_id, frame: s.frame })),
        ...(Array.isArray(t.elements)
          ? {
              elements: objects(t.elements).map((e) => ({
                label_id: e.label_id,
                shapes: objects(e.shapes).map((s) => ({
                  ...stripShape(s),
                  label_id: e.label_id,
                  frame: s.frame,
                })),
              })),
            }
          : {}),
      })),
      tags: objects(annotations.tags).length,
    }),
  );
}

/** What the adapter reads of a shape (a skeleton's elements too); attributes stay behind. */
const stripShape = (s: Json): Json => ({
  id: s.id,
  type: s.type,
  label_id: s.label_id,
  points: s.points,
  rotation: s.rotation ?? 0,
  outside: s.outside ?? false,
  ...(s.occluded === true ? { occluded: true } : {}),
  ...(Array.isArray(s.elements)
    ? {
        elements: (s.elements as unknown[])
          .filter((e): e is Json => e !== null && typeof e === "object")
          .map(stripShape),
      }
    : {}),
});

function int(v: unknown, what: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0)
    throw new CvatJobError(`${what} is not a frame number`);
  return v;
}

/**
 * What a CVAT webhook asks of the puller: `update:job` whose job is now `completed` names the job to pull;
 * anything else (ping, other resources, other states) asks nothing.
 */
export function jobToPull(webhook: Json): { jobId: number } | undefined {
  if (webhook.event !== "update:job") return undefined;
  const job = webhook.job;
  if (job === null || typeof job !== "object") return undefined;
  const { id, state } = job as Json;
  if (state !== "completed" || typeof id !== "number" || !Number.isInteger(id) || id < 0) return undefined;
  return { jobId: id };
}

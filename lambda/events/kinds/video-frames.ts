import { AdapterError } from "../contract/adapter-result.js";
import type { ProjectMapping } from "../contract/mapping-config.js";
import { MAX_REGIONS_PER_EVENT } from "../event-schema.js";

/**
 * Which frames of a video track are shown, and what its shape is on each, for the tools' keyframe models
 * (label-studio/video.ts, cvat-track.ts say which rules each tool follows and where they are in its source).
 * A track is a list of keyframes in frame order; each keyframe either starts a visible stretch (`on`) or ends
 * one (off: Label Studio's disabled keyframe, CVAT's `outside`). The frame count is worked out before any frame
 * is made, so a hostile track length is refused without being expanded.
 */
export interface Keyframe {
  readonly frame: number;
  /** The object is shown from this keyframe on (until the next keyframe). */
  readonly on: boolean;
  /** The shape's numbers (a box's x, y, width, height; a shape's points), interpolated element by element. */
  readonly values: readonly number[];
  /** Degrees. */
  readonly rotation: number;
}

/** A shape's numbers at `offset` (0..1) of the way from one keyframe's to the next's. */
export type Interpolate = (from: readonly number[], to: readonly number[], offset: number) => number[];

export interface TrackRules {
  /** Whether an off keyframe's own frame shows the shape (Label Studio) or not (CVAT's `outside`). */
  readonly offFrameShown: boolean;
  /**
   * Between two keyframes: interpolate linearly, hold the earlier shape, show keyframes only, or a tool's own
   * interpolation of the shape's numbers at `offset` (0..1) of the way (CVAT's polygons: cvat-polyshape.ts).
   */
  readonly between: "lerp" | "hold" | "keyframes" | Interpolate;
  /** Rotation: plain linear (Label Studio), or along the shorter arc (CVAT's `find_angle_diff`). */
  readonly angle: "linear" | "shortest";
  /** The video's last frame: after the last keyframe that is on, its shape is held to here. */
  readonly lastFrame: number | undefined;
}

/** One frame's shape. */
export interface FrameShape {
  readonly frame: number;
  readonly values: readonly number[];
  readonly rotation: number;
  readonly keyframe: boolean;
}

/** The stretches of frames a track is shown on: [from, to] inclusive, each starting at keyframe `index`. */
function stretches(
  keys: readonly Keyframe[],
  rules: TrackRules,
): { from: number; to: number; index: number }[] {
  const out: { from: number; to: number; index: number }[] = [];
  keys.forEach((k, index) => {
    const next = keys[index + 1];
    if (!k.on) {
      if (rules.offFrameShown) out.push({ from: k.frame, to: k.frame, index });
      return;
    }
    const to = next ? next.frame - 1 : Math.max(k.frame, rules.lastFrame ?? k.frame);
    out.push({ from: k.frame, to, index });
  });
  return out;
}

/** Whether a frame of a stretch is emitted under the rules and the mapping's `videoFrames`. */
function chosen(
  mode: ProjectMapping["videoFrames"],
  rules: TrackRules,
  first: number,
  frame: number,
  isKey: boolean,
  beforeNext: boolean,
): boolean {
  if (isKey) return true;
  if (rules.between === "keyframes" && beforeNext) return false;
  if (mode === undefined || mode === "every") return true;
  if (mode === "keyframes") return false;
  return (frame - first) % mode === 0;
}

/** How many frames `frameShapes` would give, without making them. */
export function countFrames(
  keys: readonly Keyframe[],
  rules: TrackRules,
  mode: ProjectMapping["videoFrames"],
): number {
  const first = keys[0]?.frame ?? 0;
  let n = 0;
  for (const { from, to, index } of stretches(keys, rules)) {
    const beforeNext = keys[index + 1] !== undefined;
    if (!keys[index]?.on || (rules.between === "keyframes" && beforeNext) || mode === "keyframes") n += 1;
    else if (mode === undefined || mode === "every") n += to - from + 1;
    else {
      // Multiples of the stride in [from, to], counted from the track's first frame, plus the keyframe itself.
      const firstHit = from + ((((first - from) % mode) + mode) % mode);
      const hits = firstHit > to ? 0 : Math.floor((to - firstHit) / mode) + 1;
      n += hits + (firstHit === from ? 0 : 1);
    }
  }
  return n;
}

const shortestArc = (from: number, to: number) => ((((to - from + 180) % 360) + 360) % 360) - 180;

/** Every frame shape of the track the rules and the mapping ask for. */
export function frameShapes(
  keys: readonly Keyframe[],
  rules: TrackRules,
  mode: ProjectMapping["videoFrames"],
): FrameShape[] {
  const out: FrameShape[] = [];
  const first = keys[0]?.frame ?? 0;
  for (const { from, to, index } of stretches(keys, rules)) {
    const prev = keys[index] as Keyframe;
    const next = keys[index + 1];
    for (let frame = from; frame <= to; frame++) {
      const isKey = frame === prev.frame;
      if (!chosen(mode, rules, first, frame, isKey, next !== undefined)) continue;
      const moving =
        (rules.between === "lerp" || typeof rules.between === "function") && next !== undefined && !isKey;
      const r = moving ? (frame - prev.frame) / (next.frame - prev.frame) : 0;
      const turn =
        next === undefined
          ? 0
          : rules.angle === "shortest"
            ? shortestArc(prev.rotation, next.rotation)
            : next.rotation - prev.rotation;
      out.push({
        frame,
        values: !moving
          ? prev.values
          : typeof rules.between === "function"
            ? rules.between(prev.values, next.values, r)
            : prev.values.map((v, i) => v + ((next.values[i] ?? v) - v) * r),
        rotation: moving ? (((prev.rotation + turn * r) % 360) + 360) % 360 : prev.rotation,
        keyframe: isKey,
      });
    }
  }
  return out;
}

/**
 * The track's frames after the bound: refused as `too-many-annotations` (with the count and the limit) when the
 * event would pass the project's `maxAnnotationsPerEvent` (at most MAX_REGIONS_PER_EVENT), counting the `already`
 * regions it holds.
 */
export function boundedFrames(
  keys: readonly Keyframe[],
  rules: TrackRules,
  mode: ProjectMapping["videoFrames"],
  already: number,
  what: string,
  /** The project's `maxAnnotationsPerEvent`. */
  limit: number = MAX_REGIONS_PER_EVENT,
): FrameShape[] {
  const count = countFrames(keys, rules, mode);
  if (already + count > limit)
    throw new AdapterError(
      "too-many-annotations",
      `${what} makes ${already + count} annotations (one per frame of each track), more than the ${limit} one event may carry${limit < MAX_REGIONS_PER_EVENT ? " (the project's maxAnnotationsPerEvent)" : ""}: set videoFrames in the project's mapping to a stride or "keyframes"`,
    );
  return frameShapes(keys, rules, mode);
}

/** Keyframes in frame order; two on one frame are refused. */
export function sortedKeyframes(keys: readonly Keyframe[], what: string): Keyframe[] {
  const sorted = [...keys].sort((a, b) => a.frame - b.frame);
  if (sorted.some((k, i) => i > 0 && k.frame === sorted[i - 1]?.frame))
    throw new AdapterError("invalid-upstream", `${what}: two keyframes on one frame`);
  return sorted;
}

/** Clarifai's frame: its number from 0 and its start in milliseconds, at the given rate. */
export function clarifaiFrame(numberFromZero: number, rate: number): { number: number; timeMs: number } {
  return { number: numberFromZero, timeMs: Math.round((numberFromZero / rate) * 1000) };
}

/**
 * The track's shape on one frame (for a skeleton's points, read on the frames its skeleton is shown on), by the
 * same rules as `frameShapes` without expanding the track; undefined where it is not shown.
 */
export function shapeAt(
  keys: readonly Keyframe[],
  rules: TrackRules,
  frame: number,
): { values: readonly number[]; rotation: number } | undefined {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((keys[mid] as Keyframe).frame <= frame) lo = mid + 1;
    else hi = mid;
  }
  const prev = keys[lo - 1];
  if (!prev) return undefined;
  if (frame === prev.frame) return prev.on || rules.offFrameShown ? prev : undefined;
  const next = keys[lo];
  if (!prev.on) return undefined;
  if (!next) return frame <= Math.max(prev.frame, rules.lastFrame ?? prev.frame) ? prev : undefined;
  if (rules.between === "hold" || rules.between === "keyframes") return prev;
  const r = (frame - prev.frame) / (next.frame - prev.frame);
  const values =
    typeof rules.between === "function"
      ? rules.between(prev.values, next.values, r)
      : prev.values.map((v, i) => v + ((next.values[i] ?? v) - v) * r);
  const turn =
    rules.angle === "shortest" ? shortestArc(prev.rotation, next.rotation) : next.rotation - prev.rotation;
  return { values, rotation: (((prev.rotation + turn * r) % 360) + 360) % 360 };
}

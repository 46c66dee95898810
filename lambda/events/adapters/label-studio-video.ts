import type { Region } from "../event-schema.js";
import { MAX_REGIONS_PER_EVENT } from "../event-schema.js";
import { AdapterError, checkedBox } from "./adapter-result.js";
import type { ProjectMapping } from "./mapping-config.js";

/**
 * Label Studio video tracks (`videorectangle` on a `<Video>` tag) as one region per frame, the frames chosen and
 * interpolated exactly as Label Studio's editor draws them. From HumanSignal/label-studio:
 * - `web/libs/editor/src/regions/VideoRectangleRegion.js`, `getShape(frame)`: a keyframe's own values on its
 *   frame; nothing before the first keyframe; between two keyframes each of x, y, width, height, rotation
 *   linearly (`interpolateProp` in `utils/props`: prev + (next - prev) * (frame - prev.frame) / (next.frame -
 *   prev.frame)); after the last keyframe its values, held.
 * - `web/libs/editor/src/regions/VideoRegion.js`, `isInLifespan(frame)`: a frame is shown when the keyframe at or
 *   before it is `enabled`, or when it is that (disabled) keyframe's own frame: a disabled keyframe ends the
 *   track there until the next keyframe. `serialize()` writes each keyframe's `time` as `frame / framerate` and
 *   `framesCount` as the video's length in frames (frames count from 1).
 * - The SDK's `extract_key_frames` (label_studio_sdk `_extensions/label_studio_tools/core/utils/video.py`) expands
 *   exports the same way, up to `framesCount` after an enabled last keyframe.
 *
 * Frames become Clarifai `frame_info.number` = Label Studio's frame - 1 (from 0) and `frame_info.time` = (frame - 1)
 * / rate in milliseconds, the frame's start. The rate is the mapping's `frameRate`, else the keyframes' own
 * (frame / time), else it is refused by name (`frame-rate-unknown`). Which frames: every frame shown (the
 * default), only keyframes, or every Nth from the track's first plus its keyframes (`videoFrames`). The count is
 * worked out before any region is made, so a hostile `framesCount` is refused (`too-many-annotations`) without
 * being expanded.
 */
export interface Keyframe {
  readonly frame: number;
  readonly enabled: boolean;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly rotation: number;
  readonly time?: number;
}

/** One frame's box in Label Studio's terms (percent of the frame, top-left corner). */
export interface FrameBox {
  readonly frame: number;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly rotation: number;
  readonly keyframe: boolean;
}

/** The spans of frames a track is shown on: [from, to] inclusive, each starting at a keyframe. */
function spans(
  keys: readonly Keyframe[],
  framesCount: number | undefined,
): { from: number; to: number; index: number }[] {
  const out: { from: number; to: number; index: number }[] = [];
  keys.forEach((k, i) => {
    const next = keys[i + 1];
    if (!k.enabled) {
      out.push({ from: k.frame, to: k.frame, index: i }); // its own frame only
      return;
    }
    const end = next ? next.frame - 1 : Math.max(k.frame, framesCount ?? k.frame);
    out.push({ from: k.frame, to: end, index: i });
  });
  return out;
}

/** Whether a frame of a span is emitted under the mapping's `videoFrames`. */
function chosen(mode: ProjectMapping["videoFrames"], first: number, frame: number, isKey: boolean): boolean {
  if (isKey || mode === undefined || mode === "every") return true;
  if (mode === "keyframes") return false;
  return (frame - first) % mode === 0;
}

/** How many frames `frames` would give, worked out without making them (for the bound). */
export function countFrames(
  keys: readonly Keyframe[],
  framesCount: number | undefined,
  mode: ProjectMapping["videoFrames"],
): number {
  const first = keys[0]?.frame ?? 0;
  let n = 0;
  for (const { from, to } of spans(keys, framesCount)) {
    if (mode === undefined || mode === "every") n += to - from + 1;
    else if (mode === "keyframes") n += 1;
    else {
      // Multiples of the stride in [from, to], counted from the track's first frame, plus the keyframe itself.
      const firstHit = from + ((((first - from) % mode) + mode) % mode);
      const hits = firstHit > to ? 0 : Math.floor((to - firstHit) / mode) + 1;
      n += hits + (firstHit === from ? 0 : 1);
    }
  }
  return n;
}

/** Every frame box of the track the mapping asks for, interpolated as Label Studio's editor does. */
export function frames(
  keys: readonly Keyframe[],
  framesCount: number | undefined,
  mode: ProjectMapping["videoFrames"],
): FrameBox[] {
  const out: FrameBox[] = [];
  const first = keys[0]?.frame ?? 0;
  for (const { from, to, index } of spans(keys, framesCount)) {
    const prev = keys[index] as Keyframe;
    const next = keys[index + 1];
    for (let frame = from; frame <= to; frame++) {
      const isKey = frame === prev.frame;
      if (!chosen(mode, first, frame, isKey)) continue;
      const r = next && !isKey ? (frame - prev.frame) / (next.frame - prev.frame) : 0;
      const lerp = (a: number, b: number | undefined) => (b === undefined ? a : a + (b - a) * r);
      out.push({
        frame,
        x: lerp(prev.x, next?.x),
        y: lerp(prev.y, next?.y),
        width: lerp(prev.width, next?.width),
        height: lerp(prev.height, next?.height),
        rotation: lerp(prev.rotation, next?.rotation),
        keyframe: isKey,
      });
    }
  }
  return out;
}

/** The video's frame rate: the mapping's, else the keyframes' own (Label Studio writes time = frame / rate). */
export function frameRate(keys: readonly Keyframe[], mapping: ProjectMapping, what: string): number {
  if (mapping.frameRate) return mapping.frameRate;
  const timed = keys.find((k) => typeof k.time === "number" && k.time > 0);
  const rate = timed ? timed.frame / (timed.time as number) : Number.NaN;
  if (Number.isFinite(rate) && rate > 0 && rate <= 1000) return rate;
  throw new AdapterError(
    "frame-rate-unknown",
    `${what}: the video's frame rate is not in the payload (no keyframe time): set frameRate in the project's mapping to the <Video frameRate> of its labeling config`,
  );
}

/**
 * The track as regions, one per chosen frame, each with the track's labels, `trackId` = the Label Studio region
 * id and a region id of `<region id>@<frame>`. `already` is how many regions the event holds so far, for the bound.
 */
export function videoRegions(
  id: string,
  keys: readonly Keyframe[],
  framesCount: number | undefined,
  concepts: Region["concepts"],
  mapping: ProjectMapping,
  what: string,
  already: number,
): Region[] {
  const sorted = [...keys].sort((a, b) => a.frame - b.frame);
  if (sorted.some((k, i) => i > 0 && k.frame === sorted[i - 1]?.frame))
    throw new AdapterError("invalid-upstream", `${what}: two keyframes on one frame`);
  const count = countFrames(sorted, framesCount, mapping.videoFrames);
  if (already + count > MAX_REGIONS_PER_EVENT)
    throw new AdapterError(
      "too-many-annotations",
      `${what} makes ${already + count} annotations (one per frame of each track), more than the ${MAX_REGIONS_PER_EVENT} one event may carry: set videoFrames in the project's mapping to a stride or "keyframes"`,
    );
  const rate = frameRate(sorted, mapping, what);
  return frames(sorted, framesCount, mapping.videoFrames).map((box) => {
    if (Math.abs(box.rotation % 360) > 1e-9)
      throw new AdapterError(
        "video-rotation-unsupported",
        `${what}: frame ${box.frame} is rotated (${box.rotation} degrees); rotated video boxes are not supported yet`,
      );
    const number = box.frame - 1;
    return {
      id: `${id}@${box.frame}`,
      ...checkedBox(
        `${id}@${box.frame}`,
        box.y / 100,
        box.x / 100,
        (box.y + box.height) / 100,
        (box.x + box.width) / 100,
      ),
      frame: { number, timeMs: Math.round((number / rate) * 1000) },
      trackId: id,
      concepts,
    };
  });
}

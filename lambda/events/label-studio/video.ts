import { AdapterError } from "../contract/adapter-result.js";
import type { ProjectMapping } from "../contract/mapping-config.js";
import type { Region } from "../event-schema.js";
import { checkedBox } from "../kinds/geometry.js";
import { boundedFrames, clarifaiFrame, sortedKeyframes, type TrackRules } from "../kinds/video-frames.js";
import { boxOf } from "./box.js";

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
 * A rotated box is turned as on an image (`boxOf`: around its top-left corner, in pixels; the editor's Konva `Rect`
 * in `web/libs/editor/src/tags/object/Video/Rectangle.tsx` takes `rotation` about its `x`, `y`, scaled by the
 * video's working area), so it needs the frame's size: the result's `original_width`/`original_height` when present,
 * else the mapping's `imageSize` (only its aspect ratio matters), else it is refused (`video-rotation-unsupported`).
 *
 * Frames become Clarifai `frame_info.number` = Label Studio's frame - 1 (from 0) and `frame_info.time` = (frame - 1)
 * / rate in milliseconds, the frame's start. The rate is the mapping's `frameRate`, else the keyframes' own
 * (frame / time), else it is refused by name (`frame-rate-unknown`). Which frames: every frame shown (the
 * default), only keyframes, or every Nth from the track's first plus its keyframes (`videoFrames`). The count is
 * worked out before any region is made, so a hostile `framesCount` is refused (`too-many-annotations`) without
 * being expanded.
 */
/** A keyframe as Label Studio writes it in `value.sequence`. */
export interface LabelStudioKeyframe {
  readonly frame: number;
  readonly enabled: boolean;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly rotation: number;
  readonly time?: number;
}

/** Label Studio's rules: a disabled keyframe shows its own frame; boxes are linear between keyframes. */
const rulesFor = (framesCount: number | undefined): TrackRules => ({
  offFrameShown: true,
  between: "lerp",
  angle: "linear",
  lastFrame: framesCount,
});

/** The video's frame rate: the mapping's, else the keyframes' own (Label Studio writes time = frame / rate). */
export function frameRate(
  keys: readonly LabelStudioKeyframe[],
  mapping: ProjectMapping,
  what: string,
): number {
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
  sequence: readonly LabelStudioKeyframe[],
  framesCount: number | undefined,
  concepts: Region["concepts"],
  mapping: ProjectMapping,
  what: string,
  already: number,
  frameSize?: { readonly width: number; readonly height: number },
): Region[] {
  const keys = sortedKeyframes(
    sequence.map((k) => ({
      frame: k.frame,
      on: k.enabled,
      values: [k.x, k.y, k.width, k.height],
      rotation: k.rotation,
    })),
    what,
  );
  const shapes = boundedFrames(
    keys,
    rulesFor(framesCount),
    mapping.videoFrames,
    already,
    what,
    mapping.maxAnnotationsPerEvent,
  );
  const rate = frameRate(sequence, mapping, what);
  return shapes.map(({ frame, values, rotation }) => {
    const [x, y, width, height] = values as [number, number, number, number];
    const rotated = Math.abs(rotation % 360) > 1e-9;
    if (rotated && !frameSize)
      throw new AdapterError(
        "video-rotation-unsupported",
        `${what}: frame ${frame} is rotated (${rotation} degrees) and Label Studio's video result has no frame size to turn it in pixels: set imageSize in the project's mapping to the video's width and height`,
      );
    const regionId = `${id}@${frame}`;
    return {
      id: regionId,
      ...(rotated && frameSize
        ? boxOf(
            {
              id: regionId,
              value: { x, y, width, height, rotation },
              original_width: frameSize.width,
              original_height: frameSize.height,
            },
            mapping,
            what,
          )
        : checkedBox(regionId, y / 100, x / 100, (y + height) / 100, (x + width) / 100)),
      frame: clarifaiFrame(frame - 1, rate),
      trackId: id,
      concepts,
    };
  });
}

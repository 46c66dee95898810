import { interpolatePolygon } from "./cvat-polyshape.js";
import { type Keyframe, shapeAt, type TrackRules } from "./video-frames.js";

/**
 * How CVAT shows a track of each shape type between and after its keyframes (`TrackManager.get_interpolated_shapes`
 * in cvat-ai/cvat `cvat/apps/dataset_manager/annotation.py`): rectangles and skeletons linear, rotation along the
 * shorter arc; a one-point `points` linear, several points held (`points_interpolation` copies the earlier
 * shape); polygons by outline matching (cvat-polyshape.ts); an `outside` keyframe not shown and ending the track;
 * the last shape held to `lastFrame`. Undefined for the types the bridge does not carry as tracks (masks,
 * polylines, ellipses, cuboids).
 */
export function cvatTrackRules(
  type: string,
  shapes: readonly { points?: readonly number[] | null | undefined }[],
  lastFrame: number,
): TrackRules | undefined {
  const between: TrackRules["between"] | undefined =
    type === "rectangle" || type === "skeleton"
      ? "lerp"
      : type === "points"
        ? shapes.every((s) => (s.points?.length ?? 0) === 2)
          ? "lerp"
          : "hold"
        : type === "polygon"
          ? interpolatePolygon
          : undefined;
  return between === undefined ? undefined : { offFrameShown: false, between, angle: "shortest", lastFrame };
}

/** A skeleton track's point (one of its `elements`), its keyframes sorted. */
export interface ElementTrack {
  readonly label_id: string | number;
  readonly keys: readonly Keyframe[];
}

/**
 * A skeleton track's points on one frame the skeleton is shown on: each element is a one-point track of its own,
 * linear between its keyframes, `outside` ending it, read "controlled by the parent shape" (CVAT's `to_shapes`
 * reads elements with `include_outside=True` on the parent's frames). Undefined when every point is outside: CVAT
 * leaves such a frame out of the skeleton's shapes ("The whole shape can be filtered out, if all its elements
 * are outside").
 */
export function skeletonElementsAt(
  elements: readonly ElementTrack[],
  frame: number,
  lastFrame: number,
): { label_id: string | number; points: number[]; outside: boolean }[] | undefined {
  const pointRules: TrackRules = { offFrameShown: false, between: "lerp", angle: "shortest", lastFrame };
  const out = elements.map((e) => {
    const at = shapeAt(e.keys, pointRules, frame);
    return { label_id: e.label_id, points: at ? [...at.values] : [], outside: !at };
  });
  return out.length > 0 && out.every((e) => e.outside) ? undefined : out;
}

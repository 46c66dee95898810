import { interpolatePolygon } from "./cvat-polyshape.js";
import type { TrackRules } from "./video-frames.js";

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

import { AdapterError } from "../contract/adapter-result.js";
import type { ProjectMapping } from "../contract/mapping-config.js";
import type { Region } from "../event-schema.js";
import { checkedBox, clamp01 } from "../kinds/geometry.js";
import type { ResultItem } from "./result.js";

/**
 * A Label Studio rectangle as a region: a box in fractions of the image, or a rotated one turned in pixels (as a
 * polygon, or its enclosing box when the mapping asks). Shared by image results (kinds.ts) and video keyframes
 * (video.ts), so neither imports the other for it.
 */
const WHAT = "Label Studio payload";

/** A geometry number the region needs, or an AdapterError naming where it is missing. */
export function required(value: number | string | null | undefined, path: string): number {
  if (typeof value === "number" && Number.isFinite(value)) return value;
  throw new AdapterError("invalid-upstream", `${WHAT}: ${path}: is required`);
}

/** A rectangle result (or a video keyframe read as one) as a box or rotated polygon. */
export function boxOf(
  item: ResultItem,
  mapping: ProjectMapping,
  path: string,
): Pick<Region, "boundingBox" | "polygon"> {
  const value = item.value ?? {};
  const v = {
    x: required(value.x, `${path}.value.x`),
    y: required(value.y, `${path}.value.y`),
    width: required(value.width, `${path}.value.width`),
    height: required(value.height, `${path}.value.height`),
    rotation: value.rotation ?? 0,
  };
  const regionId = item.id == null ? undefined : String(item.id);
  if ((item.image_rotation ?? 0) !== 0)
    throw new AdapterError(
      "image-rotation-unsupported",
      `region ${item.id}: the image itself is rotated (image_rotation ${item.image_rotation}), which is not supported yet`,
    );
  const rotation = ((v.rotation % 360) + 360) % 360;
  if (Math.abs(rotation) < 1e-9)
    return checkedBox(regionId, v.y / 100, v.x / 100, (v.y + v.height) / 100, (v.x + v.width) / 100);
  const W = item.original_width;
  const H = item.original_height;
  if (!W || !H)
    throw new AdapterError(
      "rotation-needs-image-size",
      `region ${item.id}: a rotated box needs original_width and original_height`,
    );
  // Label Studio rotates around the top-left corner, in pixels (its SDK's convert_annotation_to_yolo_obb).
  const t = (rotation * Math.PI) / 180;
  const x = (v.x / 100) * W;
  const y = (v.y / 100) * H;
  const w = (v.width / 100) * W;
  const h = (v.height / 100) * H;
  const corners = [
    [x, y],
    [x + w * Math.cos(t), y + w * Math.sin(t)],
    [x + w * Math.cos(t) - h * Math.sin(t), y + w * Math.sin(t) + h * Math.cos(t)],
    [x - h * Math.sin(t), y + h * Math.cos(t)],
  ].map(([px, py]) => ({ x: clamp01((px as number) / W), y: clamp01((py as number) / H) }));
  if (mapping.rotatedBoxes === "enclosing-box") {
    const xs = corners.map((c) => c.x);
    const ys = corners.map((c) => c.y);
    return checkedBox(regionId, Math.min(...ys), Math.min(...xs), Math.max(...ys), Math.max(...xs));
  }
  return { polygon: { points: corners } };
}

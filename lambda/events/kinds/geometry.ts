import { AdapterError } from "../contract/adapter-result.js";
import type { ProjectMapping } from "../contract/mapping-config.js";
import type { Region } from "../event-schema.js";

/**
 * Geometry every tool's regions share: boxes and polygons in fractions of the image, clamped to it (a region of
 * which nothing is left is refused by name), and rotated boxes turned in pixels. Pure.
 */
export const clamp01 = (v: number) => Math.min(1, Math.max(0, v));

/** A box in fractions, clamped to the image; an AdapterError naming the region when nothing of it is left. */
export function checkedBox(
  id: string | undefined,
  top: number,
  left: number,
  bottom: number,
  right: number,
): Pick<Region, "boundingBox"> {
  const box = { top: clamp01(top), left: clamp01(left), bottom: clamp01(bottom), right: clamp01(right) };
  if (!(box.top < box.bottom && box.left < box.right))
    throw new AdapterError("degenerate-region", `region ${id ?? "?"} has no area inside the image`);
  return { boundingBox: box };
}

/** Polygon points in fractions, clamped, a repeated closing point dropped; at least 3 distinct points. */
export function checkedPolygon(
  id: string | undefined,
  points: readonly { x: number; y: number }[],
): Pick<Region, "polygon"> {
  const clamped = points.map((p) => ({ x: clamp01(p.x), y: clamp01(p.y) }));
  const same = (a?: { x: number; y: number }, b?: { x: number; y: number }) => a?.x === b?.x && a?.y === b?.y;
  const distinct = clamped.filter((p, i) => i === 0 || !same(p, clamped[i - 1]));
  if (distinct.length > 1 && same(distinct[0], distinct[distinct.length - 1])) distinct.pop();
  if (distinct.length < 3)
    throw new AdapterError(
      "degenerate-region",
      `region ${id ?? "?"}: a polygon needs at least 3 distinct points`,
    );
  return { polygon: { points: distinct } };
}

/**
 * The corners of a box `width` x `height` pixels centred at (`cx`, `cy`), turned `radians` clockwise on screen
 * around its centre (image y points down, so that is the usual rotation matrix), in fractions of the image.
 * Scale (radians) and CVAT (degrees) rotate this way; Label Studio turns around the top-left corner instead.
 */
export function rotatedBoxCorners(
  cx: number,
  cy: number,
  width: number,
  height: number,
  radians: number,
  size: { readonly width: number; readonly height: number },
): { x: number; y: number }[] {
  const cos = Math.cos(radians);
  const sin = Math.sin(radians);
  return [
    [-width / 2, -height / 2],
    [width / 2, -height / 2],
    [width / 2, height / 2],
    [-width / 2, height / 2],
  ].map(([dx, dy]) => ({
    x: (cx + (dx as number) * cos - (dy as number) * sin) / size.width,
    y: (cy + (dx as number) * sin + (dy as number) * cos) / size.height,
  }));
}

/** A rotated box's corners as the project wants them: their polygon (default), or the box enclosing them. */
export function rotatedRegion(
  id: string,
  corners: readonly { x: number; y: number }[],
  mapping: ProjectMapping,
): Pick<Region, "boundingBox" | "polygon"> {
  if (mapping.rotatedBoxes !== "enclosing-box") return checkedPolygon(id, corners);
  const xs = corners.map((p) => p.x);
  const ys = corners.map((p) => p.y);
  return checkedBox(id, Math.min(...ys), Math.min(...xs), Math.max(...ys), Math.max(...xs));
}

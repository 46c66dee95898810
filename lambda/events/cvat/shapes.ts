import * as z from "zod/mini";
import { AdapterError, idLike, opt, idText as text } from "../contract/adapter-result.js";
import type { ProjectMapping } from "../contract/mapping-config.js";
import { type Skipped, skipOrRefuse } from "../contract/skip.js";
import type { Region } from "../event-schema.js";
import { conceptsFor } from "../kinds/concepts.js";
import { checkedBox, checkedPolygon, rotatedBoxCorners, rotatedRegion } from "../kinds/geometry.js";
import { checkMaskSize, maskPng } from "../kinds/mask.js";

/**
 * CVAT's shapes as regions, shared by the frame bodies of image jobs (cvat/index.ts) and the one body of a video job
 * (cvat/video.ts): rectangles, polygons, points, masks and skeletons, in pixels of the frame.
 */
export const labelRef = z.looseObject({ id: idLike, name: z.string() });
const elementSchema = z.looseObject({
  label_id: idLike,
  points: opt(z.array(z.number())),
  outside: opt(z.boolean()),
  occluded: opt(z.boolean()),
});
export const shapeSchema = z.looseObject({
  id: opt(idLike),
  type: z.string(),
  label_id: idLike,
  points: opt(z.array(z.number())),
  rotation: opt(z.number()),
  outside: opt(z.boolean()),
  /** A skeleton's points, each with its own (sub)label. */
  elements: opt(z.array(elementSchema).check(z.maxLength(1_000))),
});
export type Shape = z.infer<typeof shapeSchema>;

const WHAT = "CVAT shape";

/** Shapes with a Clarifai region. */
const REGION_TYPES = new Set(["rectangle", "polygon", "points", "mask", "skeleton"]);

/** Looks a label id up among the job's labels, or refuses naming it. */
export type LabelNames = (labelId: string | number, what: string) => string;

/**
 * CVAT's mask: `points` is its run lengths over the mask's box, row by row, alternating from a run of 0s, then
 * the box `[left, top, right, bottom]` (inclusive) in pixels (CVAT's `rle_to_binary_image_mask`, issue #6487).
 * The runs must cover the box exactly; the box must lie in the frame.
 */
function cvatMask(
  points: readonly number[],
  size: { width: number; height: number },
  what: string,
): Pick<Region, "mask"> {
  const { width, height } = checkMaskSize(size.width, size.height, what);
  if (points.length < 5) throw new AdapterError("invalid-upstream", `${what}: needs run lengths and a box`);
  const [left, top, right, bottom] = points.slice(-4) as [number, number, number, number];
  const runs = points.slice(0, -4);
  if (![left, top, right, bottom].every(Number.isInteger) || left > right || top > bottom)
    throw new AdapterError(
      "invalid-upstream",
      `${what}: the box [${left}, ${top}, ${right}, ${bottom}] is not a box`,
    );
  if (left < 0 || top < 0 || right >= width || bottom >= height)
    throw new AdapterError("degenerate-region", `${what}: the box lies outside the ${width}x${height} frame`);
  const boxWidth = right - left + 1;
  const total = boxWidth * (bottom - top + 1);
  if (!runs.every((r) => Number.isInteger(r) && r >= 0) || runs.reduce((a, b) => a + b, 0) !== total)
    throw new AdapterError(
      "invalid-upstream",
      `${what}: its run lengths do not cover its ${total}-pixel box`,
    );
  const bits = new Uint8Array(width * height);
  let offset = 0;
  runs.forEach((run, i) => {
    if (i % 2 === 1)
      for (let k = offset; k < offset + run; k++)
        bits[(top + Math.floor(k / boxWidth)) * width + left + (k % boxWidth)] = 1;
    offset += run;
  });
  const { png, pixels } = maskPng({ width, height, bits });
  if (pixels === 0) throw new AdapterError("degenerate-region", `${what}: the mask is empty`);
  return { mask: { png } };
}

/**
 * A CVAT skeleton: its elements (one point each, labeled with the skeleton's sublabels) in the order the mapping's
 * `keypoints` gives for the skeleton's label; refused by name when it gives none. An element marked `outside` is
 * `not_present`, `occluded` `not_visible`; one the skeleton lacks is `not_present`.
 */
function cvatSkeleton(
  shape: Shape,
  label: string,
  size: { width: number; height: number },
  mapping: ProjectMapping,
  nameOf: (labelId: string | number, what: string) => string,
  what: string,
): Pick<Region, "keypoints"> {
  const order = mapping.keypoints?.[label];
  if (!order)
    throw new AdapterError(
      "keypoints-order-unknown",
      `${what}: the order of skeleton "${label.slice(0, 64)}"'s points is unknown: set keypoints["${label.slice(0, 64)}"] in the project's mapping to its point labels in the order of the Clarifai concept's keypoint_names`,
    );
  const byName = new Map((shape.elements ?? []).map((e) => [nameOf(e.label_id, `${what} element`), e]));
  return {
    keypoints: {
      points: order.map((name) => {
        const e = byName.get(name);
        const [x, y] = e?.points ?? [];
        if (!e || e.outside || typeof x !== "number" || typeof y !== "number")
          return { x: 0, y: 0, visibility: "not_present" as const };
        if (x < 0 || y < 0 || x > size.width || y > size.height)
          throw new AdapterError(
            "degenerate-region",
            `${what}: point "${name.slice(0, 64)}" is outside the image`,
          );
        return {
          x: x / size.width,
          y: y / size.height,
          visibility: e.occluded ? ("not_visible" as const) : ("visible" as const),
        };
      }),
    },
  };
}

export function imageSize(
  frame: { width?: number | null; height?: number | null },
  mapping: ProjectMapping,
): { width: number; height: number } | undefined {
  const { width, height } = frame;
  return width && height && width > 0 && height > 0 ? { width, height } : mapping.imageSize;
}

export function regionOf(
  shape: Shape,
  index: number,
  size: { width: number; height: number } | undefined,
  mapping: ProjectMapping,
  skipped: Skipped,
  nameOf: (labelId: string | number, what: string) => string,
): Region[] {
  const id = text(shape.id) || `#${index}`;
  if (shape.outside) return []; // not in this frame (a track's end marker)
  const label = nameOf(shape.label_id, `shape ${id}`);
  if (!REGION_TYPES.has(shape.type)) {
    skipOrRefuse(
      mapping,
      skipped,
      `${shape.type.slice(0, 32)} "${label.slice(0, 64)}"`,
      `CVAT ${shape.type.slice(0, 32)} "${label.slice(0, 64)}" has no Clarifai region equivalent`,
    );
    return [];
  }
  if (!size)
    throw new AdapterError(
      "missing-image-size",
      `CVAT ${shape.type} ${id}: the frame's size is needed (the job's frame metadata had none; set imageSize in the mapping)`,
    );
  const concepts = conceptsFor([label], { ...mapping, negatives: [] });
  if (shape.type === "mask")
    return [{ id, ...cvatMask(shape.points ?? [], size, `${WHAT}: mask ${id}`), concepts }];
  if (shape.type === "skeleton")
    return [
      { id, ...cvatSkeleton(shape, label, size, mapping, nameOf, `${WHAT}: skeleton ${id}`), concepts },
    ];
  const points = shape.points ?? [];
  if (shape.type === "points") {
    // One shape may hold several points of one label: a point region each.
    const out: Region[] = [];
    for (let i = 0; i + 1 < points.length; i += 2) {
      const [x, y] = [points[i] as number, points[i + 1] as number];
      if (x < 0 || y < 0 || x > size.width || y > size.height)
        throw new AdapterError("degenerate-region", `region ${id}: point ${i / 2} is outside the image`);
      out.push({
        id: points.length > 2 ? `${id}#${i / 2}` : id,
        point: { x: x / size.width, y: y / size.height },
        concepts,
      });
    }
    if (out.length === 0) throw new AdapterError("invalid-upstream", `${WHAT}: points ${id} has no point`);
    return out;
  }
  const xy: { x: number; y: number }[] = [];
  for (let i = 0; i + 1 < points.length; i += 2)
    xy.push({ x: (points[i] as number) / size.width, y: (points[i + 1] as number) / size.height });
  if (shape.type === "polygon") return [{ id, ...checkedPolygon(id, xy), concepts }];
  const [a, b] = xy;
  if (!a || !b) throw new AdapterError("invalid-upstream", `${WHAT}: rectangle ${id} needs 4 numbers`);
  const degrees = ((shape.rotation ?? 0) % 360) + 0;
  if (Math.abs(degrees) < 1e-9) return [{ id, ...checkedBox(id, a.y, a.x, b.y, b.x), concepts }];
  // Rotated around the centre, clockwise on screen, in pixels: fractions would skew a non-square image.
  const [xtl, ytl, xbr, ybr] = points as [number, number, number, number];
  const corners = rotatedBoxCorners(
    (xtl + xbr) / 2,
    (ytl + ybr) / 2,
    xbr - xtl,
    ybr - ytl,
    (degrees * Math.PI) / 180,
    size,
  );
  return [{ id, ...rotatedRegion(id, corners, mapping), concepts }];
}

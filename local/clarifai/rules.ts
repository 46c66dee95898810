/**
 * The annotation rules Clarifai applies beyond the proto's types (../shared/clarifai-api.md): an input to attach
 * to, some data, concept values in 0..1, at most one region and one frame per annotation, a frame with its
 * frame_info, one geometry per region (a box, a polygon, a mask, a point, keypoints or a span), boxes, polygons and
 * points in 0..1 fractions with top < bottom and left < right, spans with char_start < char_end, masks as PNG,
 * and a task that exists.
 */

/**
 * Checks a stand-in can relax to model a Clarifai that is laxer than the one the bridge's tests assume (for
 * `doctor`'s premises: a probe meant to be refused that is accepted). @default every check on
 */
export interface Rules {
  /** Accept a box with top_row >= bottom_row or left_col >= right_col, as a Clarifai that checks no geometry. */
  acceptInvertedBoxes: boolean;
}

export const DEFAULT_RULES: Rules = { acceptInvertedBoxes: false };

export interface Problem {
  readonly code: number;
  readonly description: string;
  readonly details: string;
}

const invalid = (details: string): Problem => ({
  code: 24155,
  description: "Annotation invalid argument",
  details,
});
const fraction = (v: unknown) => typeof v === "number" && v >= 0 && v <= 1;

export function checkAnnotation(
  a: Record<string, unknown>,
  world: {
    inputExists: (id: string) => boolean;
    taskExists: (id: string) => boolean;
    /** Whether the key may post annotations as this user (only the app owner may name another user). */
    mayPostAs?: (userId: string) => boolean;
    rules?: Rules;
  },
): Problem | undefined {
  const inputId = a.input_id;
  if (typeof inputId !== "string" || !inputId) return invalid("input_id is required");
  const data = (a.data ?? {}) as Record<string, unknown>;
  const concepts = (data.concepts ?? []) as Record<string, unknown>[];
  const regions = (data.regions ?? []) as Record<string, unknown>[];
  const frames = (data.frames ?? []) as Record<string, unknown>[];
  if (concepts.length === 0 && regions.length === 0 && frames.length === 0)
    return invalid("annotation has no data");
  // Clarifai's annotation docs: one region, and on a video one frame, per annotation.
  if (frames.length > 1) return invalid("an annotation holds at most one frame");
  if (frames.length > 0 && regions.length > 0)
    return invalid("an annotation holds a region or a frame, not both");
  const frameRegions: Record<string, unknown>[] = [];
  for (const frame of frames) {
    const info = frame.frame_info as Record<string, unknown> | undefined;
    if (!info || (info.time === undefined && info.number === undefined))
      return invalid("a frame needs frame_info with its time or number");
    frameRegions.push(
      ...((((frame.data ?? {}) as Record<string, unknown>).regions ?? []) as Record<string, unknown>[]),
    );
  }
  if (frames.length > 0 && frameRegions.length === 0 && concepts.length === 0)
    return invalid("a frame needs a region or concepts");
  if (regions.length + frameRegions.length > 1) return invalid("an annotation holds at most one region");
  for (const c of concepts) {
    const problem = checkConcept(c);
    if (problem) return problem;
  }
  for (const region of [...regions, ...frameRegions]) {
    const problem = checkRegion(region, world.rules);
    if (problem) return problem;
  }
  if (!world.inputExists(inputId))
    return { code: 30102, description: "Input does not exist", details: `input ${inputId} not found` };
  const info = (a.annotation_info ?? {}) as Record<string, unknown>;
  const taskId = (a.task_id || info.task_id) as string | undefined;
  if (taskId && !world.taskExists(taskId))
    return { code: 54102, description: "Task missing", details: `task ${taskId} not found` };
  const worker = ((a.worker as { user?: { id?: unknown } } | undefined)?.user?.id ?? a.user_id) as unknown;
  if (typeof worker === "string" && worker && world.mayPostAs && !world.mayPostAs(worker))
    return {
      code: 24156,
      description: "Annotation permission denied",
      details: `only the app owner may add annotations for another user (${worker})`,
    };
  return undefined;
}

const GEOMETRY = ["bounding_box", "polygon", "mask", "point", "span", "token", "keypoint_locations"] as const;

/** One region: exactly one geometry, each within its rules, and its concepts. */
function checkRegion(region: Record<string, unknown>, rules: Rules | undefined): Problem | undefined {
  const info = (region.region_info ?? {}) as Record<string, unknown>;
  const present = GEOMETRY.filter((k) =>
    k === "keypoint_locations"
      ? Array.isArray(info[k]) && (info[k] as unknown[]).length > 0
      : info[k] != null,
  );
  if (present.length === 0) return invalid(`region has none of ${GEOMETRY.join(", ")}`);
  if (present.length > 1) return invalid(`a region holds one geometry, not ${present.join(" and ")}`);
  const box = info.bounding_box as Record<string, unknown> | undefined;
  const polygon = info.polygon as { points?: Record<string, unknown>[] } | undefined;
  if (box) {
    const { top_row: t, left_col: l, bottom_row: b, right_col: r } = box;
    if (![t, l, b, r].every(fraction)) return invalid("bounding_box values must be fractions in 0..1");
    if (!rules?.acceptInvertedBoxes && !((t as number) < (b as number) && (l as number) < (r as number))) {
      return invalid("bounding_box needs top_row < bottom_row and left_col < right_col");
    }
  }
  if (
    polygon &&
    !((polygon.points?.length ?? 0) >= 3 && polygon.points?.every((p) => fraction(p.row) && fraction(p.col)))
  ) {
    return invalid("polygon needs at least 3 points with row and col in 0..1");
  }
  const points = [
    ...(info.point ? [info.point] : []),
    ...((info.keypoint_locations as unknown[] | undefined) ?? []),
  ] as Record<string, unknown>[];
  if (!points.every((p) => fraction(p.row ?? 0) && fraction(p.col ?? 0)))
    return invalid("point row and col must be fractions in 0..1");
  for (const key of ["span", "token"] as const) {
    const span = info[key] as Record<string, unknown> | undefined;
    if (span && !(Number(span.char_end ?? 0) > Number(span.char_start ?? 0)))
      return invalid(`${key} needs char_start < char_end`);
  }
  const mask = info.mask as { image?: { base64?: unknown; url?: unknown } } | undefined;
  if (mask) {
    const base64 = mask.image?.base64;
    const isPng =
      typeof base64 === "string" &&
      Buffer.from(base64.slice(0, 12), "base64").subarray(0, 8).equals(PNG_SIGNATURE);
    if (!isPng && typeof mask.image?.url !== "string")
      return invalid("mask needs image.base64 holding a PNG, or image.url");
  }
  for (const c of ((region.data as Record<string, unknown> | undefined)?.concepts ?? []) as Record<
    string,
    unknown
  >[]) {
    const problem = checkConcept(c);
    if (problem) return problem;
  }
  return undefined;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function checkConcept(c: Record<string, unknown>): Problem | undefined {
  if (!c.id && !c.name) return invalid("a concept needs an id or a name");
  if (c.value !== undefined && !(typeof c.value === "number" && c.value >= 0 && c.value <= 1)) {
    return invalid(`concept ${String(c.id)} value must be in 0..1`);
  }
  return undefined;
}

/**
 * What kind of label a stored annotation is, for the stand-in's work view and the local run's report: image-level
 * `concepts`, or its one region's geometry (`box`, `polygon`, `mask`, `point`, `keypoints`, `span`), prefixed
 * `video ` when the region sits on a frame.
 */
const GEOMETRY: readonly [string, string][] = [
  ["bounding_box", "box"],
  ["polygon", "polygon"],
  ["mask", "mask"],
  ["point", "point"],
  ["keypoint_locations", "keypoints"],
  ["span", "span"],
  ["token", "span"],
];

export function annotationKind(annotation: Record<string, unknown>): string {
  const data = (annotation.data ?? {}) as {
    regions?: { region_info?: Record<string, unknown> }[];
    frames?: { data?: { regions?: { region_info?: Record<string, unknown> }[] } }[];
  };
  const framed = data.frames?.[0]?.data?.regions?.[0];
  const region = framed ?? data.regions?.[0];
  if (!region) return framed === undefined && data.frames?.length ? "video concepts" : "concepts";
  const info = region.region_info ?? {};
  const kind = GEOMETRY.find(([field]) => info[field] != null)?.[1] ?? "region";
  return framed ? `video ${kind}` : kind;
}

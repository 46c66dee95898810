import * as z from "zod/mini";
import { AdapterError, opt, readShape } from "../contract/adapter-result.js";
import type { ProjectMapping } from "../contract/mapping-config.js";
import { type MaskFiles, maskOfFile } from "../contract/mask-files.js";
import type { Region } from "../event-schema.js";
import { conceptsFor } from "../kinds/concepts.js";
import { maskRef } from "../kinds/mask-refs.js";

/**
 * Scale's `segmentannotation` callback (docs.scale.com, "Callback Format" of Semantic Segmentation): `response`
 * holds `labelMapping` (each label's `index` and `color`; with instance labels, a list of them, one per instance)
 * and `annotations`, URLs of PNGs. The bridge reads `annotations.combined.indexedImage`, "a 1-channel PNG where
 * each positive integer value represents a pixel annotated with a given label ... indexes are guaranteed to be
 * unique" (Scale warns that colours are not, so `combined.image` is not read). Each label (or instance) with at
 * least one pixel becomes a mask region (`label-<index>`); the PNG is fetched by the handler's edge from an origin
 * the project lists in `maskOrigins` (Scale's URLs are not documented as needing the API key; none is sent).
 */
const entrySchema = z.looseObject({ index: z.int().check(z.gte(1), z.lte(65_535)), color: opt(z.string()) });
const segmentationSchema = z.looseObject({
  labelMapping: z.record(z.string(), z.union([entrySchema, z.array(entrySchema).check(z.maxLength(10_000))])),
  annotations: z.looseObject({ combined: z.looseObject({ indexedImage: z.string() }) }),
});

export function scaleSegmentRegions(
  response: unknown,
  mapping: ProjectMapping,
  mappingKey: string,
  masks: MaskFiles,
  size: { width: number; height: number } | undefined,
): Region[] {
  const what = "Scale segmentannotation";
  const body = readShape(segmentationSchema, response, what, "response");
  const ref = maskRef(body.annotations.combined.indexedImage, "scale", mapping, mappingKey, what);
  const regions: Region[] = [];
  const entries = Object.entries(body.labelMapping).flatMap(([label, e]) =>
    (Array.isArray(e) ? e : [e]).map((one) => ({ label, index: one.index })),
  );
  if (entries.length > 10_000)
    throw new AdapterError(
      "too-many-annotations",
      `${what}: ${entries.length} labels and instances (at most 10000)`,
    );
  for (const { label, index } of entries.sort((a, b) => a.index - b.index)) {
    const mask = maskOfFile(masks, ref, { by: "index", index }, `${what} "${label.slice(0, 64)}"`, size);
    if (mask === undefined) return []; // not fetched yet: the record comes back needing it
    if (mask)
      regions.push({
        id: `label-${index}`,
        ...mask,
        concepts: conceptsFor([label], { ...mapping, negatives: [] }),
      } as Region);
  }
  return regions;
}

import { AdapterError, idText } from "../contract/adapter-result.js";
import type { ProjectMapping } from "../contract/mapping-config.js";
import { MaskFetchFailed, type MaskFiles, type MaskSelect, maskOfFile } from "../contract/mask-files.js";
import { recordDropped, type Skipped } from "../contract/skip.js";
import type { Region } from "../event-schema.js";
import { conceptsFor } from "../kinds/concepts.js";
import { maskRef } from "../kinds/mask-refs.js";
import { clarifaiFrame } from "../kinds/video-frames.js";

/**
 * Labelbox's masks, in images and videos (Labelbox/labelbox-python `examples/exports/composite_mask_export.ipynb`):
 * an object's `composite_mask` is the label's masks in one PNG (for a video, one per frame: `.../index/<frame>`),
 * this object in its own `color_rgb`; `mask.url` (and v1's `instanceURI`) draws this object alone, white on black
 * or on transparency. Both URLs need the Labelbox API key; they are fetched by the handler's edge (mask-files.ts).
 */
export interface LabelboxMaskObject {
  readonly composite_mask?: { readonly url: string; readonly color_rgb?: readonly number[] | null } | null;
  readonly mask?: { readonly url?: string | null } | null;
  readonly instanceURI?: string | null;
}

/** Whether the object is a mask (it names a mask file). */
export const isLabelboxMask = (o: LabelboxMaskObject): boolean =>
  Boolean(o.composite_mask?.url ?? o.mask?.url ?? o.instanceURI);

/**
 * The object's mask: undefined while its file is not fetched yet, null when it paints no pixel or is left out.
 * Without a Labelbox key the masks cannot be read: a project with `unsupported: "skip"` leaves them out (as it did
 * before masks were read: the label's other objects still go), any other refuses the label naming the missing key.
 */
function maskOf(
  o: LabelboxMaskObject,
  files: MaskFiles,
  mapping: ProjectMapping,
  mappingKey: string,
  what: string,
  size: { width: number; height: number } | undefined,
  skipped: Skipped,
) {
  const rgb = o.composite_mask?.url ? o.composite_mask.color_rgb : undefined;
  const select: MaskSelect = rgb
    ? { by: "color", rgb: [rgb[0] ?? 0, rgb[1] ?? 0, rgb[2] ?? 0] }
    : { by: "drawn" };
  const url = rgb ? o.composite_mask?.url : (o.mask?.url ?? o.instanceURI ?? o.composite_mask?.url);
  try {
    return maskOfFile(files, maskRef(url, "labelbox", mapping, mappingKey, what), select, what, size);
  } catch (error) {
    const noKey = error instanceof MaskFetchFailed && error.failure.code === "mask-credentials-missing";
    if (!noKey || mapping.unsupported !== "skip") throw error;
    recordDropped(skipped, `${what.slice(0, 64)} (no Labelbox key)`);
    return null;
  }
}

/** An image's mask object as its region; none while the file is not fetched yet; an empty mask is refused. */
export function labelboxMaskRegion(
  o: LabelboxMaskObject,
  id: string,
  names: readonly string[],
  files: MaskFiles,
  mapping: ProjectMapping,
  mappingKey: string,
  size: { width: number; height: number } | undefined,
  skipped: Skipped,
): Region[] {
  const what = `Labelbox mask ${id.slice(0, 64)}`;
  const before = skipped.length;
  const mask = maskOf(o, files, mapping, mappingKey, what, size, skipped);
  if (mask === undefined) return []; // not fetched yet: the record comes back needing it
  if (mask === null && skipped.length > before) return []; // left out: no Labelbox key, and the project skips
  if (mask === null) throw new AdapterError("degenerate-region", `${what}: the mask is empty`);
  const concepts = conceptsFor(names.filter(Boolean), { ...mapping, negatives: [] });
  if (concepts.length === 0)
    throw new AdapterError("invalid-event", `Labelbox object ${id.slice(0, 64)} has no name`);
  return [{ id: id.slice(0, 255), ...mask, concepts }];
}

/**
 * A video's mask object: Labelbox draws masks per frame (it does not interpolate them), so one region per frame the
 * export holds it on, within its segments where the export gives them, each from that frame's file. A frame where
 * the object paints nothing gives no region.
 */
export function labelboxVideoMaskRegions(
  feature: string,
  held: readonly {
    frame: number;
    object: LabelboxMaskObject & { name?: string | number | null; title?: string | number | null };
  }[],
  ranges: readonly (readonly [number, number])[] | undefined,
  rate: number,
  size: { width: number; height: number } | undefined,
  files: MaskFiles,
  mapping: ProjectMapping,
  mappingKey: string,
  skipped: Skipped,
): Region[] {
  const out: Region[] = [];
  for (const { frame, object } of held) {
    if (frame < 1 || (ranges && !ranges.some(([a, b]) => frame >= a && frame <= b))) continue;
    const what = `Labelbox video label: mask ${feature.slice(0, 64)} on frame ${frame}`;
    const mask = maskOf(object, files, mapping, mappingKey, what, size, skipped);
    if (!mask) continue; // not fetched yet (the record comes back needing it), or nothing painted on this frame
    const label = idText(object.name ?? object.title);
    const concepts = conceptsFor(label ? [label] : [], { ...mapping, negatives: [] });
    if (concepts.length === 0)
      throw new AdapterError(
        "invalid-event",
        `Labelbox video label: object ${feature.slice(0, 64)} has no name`,
      );
    const id = `${feature}@${frame}`.slice(0, 255);
    out.push({
      id,
      ...mask,
      frame: clarifaiFrame(frame - 1, rate),
      trackId: feature.slice(0, 255),
      concepts,
    });
  }
  return out;
}

import * as z from "zod/mini";
import { AdapterError, idLike, opt, readShape, idText as text } from "../contract/adapter-result.js";
import type { ProjectMapping } from "../contract/mapping-config.js";
import type { MaskFiles } from "../contract/mask-files.js";
import { type Skipped, skipOrRefuse } from "../contract/skip.js";
import type { Region } from "../event-schema.js";
import { conceptsFor } from "../kinds/concepts.js";
import { checkedBox, checkedPolygon } from "../kinds/geometry.js";
import { isLabelboxMask, labelboxMaskRegion } from "./masks.js";

/**
 * A Labelbox label's objects and classifications (v1 and v2 alike) as regions and answer names: a box, a polygon
 * or a point (pixels -> fractions), a text entity (a span: Labelbox's inclusive `end` made exclusive), a mask
 * (labelbox/masks.ts); radio and checklist answers by name, free text none. The shapes are the parts read, as zod
 * shapes: a part of the wrong type is refused by name; optional parts may be null.
 */
type Json = Record<string, unknown>;
const WHAT = "Labelbox payload";

const answerSchema = z.looseObject({ title: opt(idLike), name: opt(idLike), value: opt(idLike) });
export const classificationSchema = z.looseObject({
  answers: opt(z.array(z.nullable(answerSchema))),
  checklist_answers: opt(z.array(z.nullable(answerSchema))),
  // A free-text answer is a string (v1) or carries `text_answer` (v2): no concept.
  answer: z.optional(z.unknown()),
  radio_answer: z.optional(z.unknown()),
});
export type Classification = z.infer<typeof classificationSchema>;
const offset = z.int().check(z.gte(0), z.lte(2 ** 32 - 2));
/** A text entity's place; the export also carries the entity's text as `token` (Labelbox export v2 docs). */
const locationSchema = z.looseObject({ start: offset, end: offset, token: opt(z.string()) });
const boxSchema = z.looseObject({ top: z.number(), left: z.number(), height: z.number(), width: z.number() });
export const objectSchema = z.looseObject({
  featureId: opt(idLike),
  feature_id: opt(idLike),
  title: opt(idLike),
  name: opt(idLike),
  value: opt(idLike),
  annotation_kind: opt(z.string()),
  bbox: opt(boxSchema),
  bounding_box: opt(boxSchema),
  polygon: opt(z.array(z.looseObject({ x: z.number(), y: z.number() }))),
  /** A point, in pixels (v1 and v2). */
  point: opt(z.looseObject({ x: z.number(), y: z.number() })),
  /** A mask: v2 `composite_mask` (the label's masks in one PNG, this one in `color_rgb`), v2 `mask`, v1 `instanceURI`. */
  composite_mask: opt(
    z.looseObject({
      url: z.string(),
      color_rgb: opt(z.array(z.int().check(z.gte(0), z.lte(255))).check(z.length(3))),
    }),
  ),
  mask: opt(z.looseObject({ url: opt(z.string()) })),
  instanceURI: opt(z.string()),
  /** A text entity: v2 `location`, v1 `data.location`; `end` is the last character's index (inclusive). */
  location: opt(locationSchema),
  data: opt(z.looseObject({ location: opt(locationSchema) })),
  classifications: opt(z.array(classificationSchema)),
});
export type LabelObject = z.infer<typeof objectSchema>;
export const isTextAnswer = (c: Classification) =>
  typeof (c as Json).text_answer === "object" && (c as Json).text_answer !== null;
export const classificationName = (c: Classification) => {
  const v = (c as Json).title ?? (c as Json).name ?? (c as Json).value;
  return typeof v === "string" || typeof v === "number" ? v : "?";
};

/** The chosen answers of a radio or checklist classification (v1 `answer`/`answers`, v2 `radio_answer`/`checklist_answers`); text answers have none. */
export function answerNames(classification: Classification): string[] {
  const name = (answer: z.infer<typeof answerSchema> | null) =>
    text(answer?.title ?? answer?.name ?? answer?.value);
  const many = classification.answers ?? classification.checklist_answers;
  if (Array.isArray(many)) return many.map(name).filter(Boolean);
  const one = classification.radio_answer ?? classification.answer;
  if (one !== null && typeof one === "object" && !Array.isArray(one))
    return [name(readShape(answerSchema, one, WHAT, "answer"))].filter(Boolean);
  return []; // a free-text answer: no concept
}

export function regionOf(
  object: LabelObject,
  index: number,
  view: { readonly projectId: string; readonly size: { width: number; height: number } | undefined },
  mapping: ProjectMapping,
  skipped: Skipped,
  masks: MaskFiles,
): Region[] {
  const id = text(object.featureId ?? object.feature_id) || `#${index}`;
  const label = text(object.title ?? object.name ?? object.value);
  const box = object.bbox ?? object.bounding_box;
  const polygon = object.polygon;
  const location = object.location ?? object.data?.location;
  const nestedAnswers = () => (object.classifications ?? []).flatMap(answerNames);
  if (location && !box && !polygon) {
    // Labelbox's `end` is the index of the entity's last character (its docs: at most the text's length - 1);
    // Clarifai's `char_end` is exclusive, so one more.
    if (location.end < location.start)
      throw new AdapterError("degenerate-region", `Labelbox entity ${id.slice(0, 64)}: end is before start`);
    const concepts = conceptsFor([label, ...nestedAnswers()].filter(Boolean), { ...mapping, negatives: [] });
    if (concepts.length === 0)
      throw new AdapterError("invalid-event", `Labelbox object ${id.slice(0, 64)} has no name`);
    // The entity's own text, as Label Studio's spans carry theirs (`raw_text`); a token longer than the span's
    // bound is left out rather than cut, so what is sent is always the entity's exact text or nothing.
    const token =
      typeof location.token === "string" && location.token.length <= 65_536 ? location.token : undefined;
    return [
      {
        id: id.slice(0, 255),
        span: {
          start: location.start,
          end: location.end + 1,
          ...(token !== undefined ? { text: token } : {}),
        },
        concepts,
      },
    ];
  }
  if (isLabelboxMask(object) && !box && !polygon && !object.point)
    return labelboxMaskRegion(
      object,
      id,
      [label, ...nestedAnswers()],
      masks,
      mapping,
      `labelbox:${view.projectId}`,
      view.size,
      skipped,
    );
  if (!box && !polygon && !object.point) {
    const kind = (object.annotation_kind ?? "no box or polygon").slice(0, 64);
    skipOrRefuse(
      mapping,
      skipped,
      `${kind} "${label.slice(0, 64)}"`,
      `Labelbox object "${label.slice(0, 64)}" (${kind}) has no Clarifai region equivalent`,
    );
    return [];
  }
  const size = view.size ?? mapping.imageSize;
  if (!size)
    throw new AdapterError(
      "missing-image-size",
      `Labelbox object ${id.slice(0, 64)}: pixel geometry needs the image size; set imageSize in the mapping for labelbox:${view.projectId.slice(0, 128)}`,
    );
  const { width: W, height: H } = size;
  const point = object.point;
  if (point && !box && !polygon && (point.x < 0 || point.y < 0 || point.x > W || point.y > H))
    throw new AdapterError("degenerate-region", `region ${id.slice(0, 64)}: the point is outside the image`);
  const shape: Pick<Region, "boundingBox" | "polygon" | "point"> = box
    ? checkedBox(id, box.top / H, box.left / W, (box.top + box.height) / H, (box.left + box.width) / W)
    : polygon
      ? checkedPolygon(
          id,
          polygon.map((p) => ({ x: p.x / W, y: p.y / H })),
        )
      : { point: { x: (point?.x ?? 0) / W, y: (point?.y ?? 0) / H } };
  const nested = nestedAnswers();
  const concepts = conceptsFor([label, ...nested].filter(Boolean), { ...mapping, negatives: [] });
  if (concepts.length === 0)
    throw new AdapterError("invalid-event", `Labelbox object ${id.slice(0, 64)} has no name`);
  return [{ id: id.slice(0, 255), ...shape, concepts }];
}

import * as z from "zod/mini";
import { idLike, opt } from "../contract/adapter-result.js";

/**
 * One item of a Label Studio annotation's `result`, as the adapter reads it (a zod shape: anything else in it is
 * ignored, a part of the wrong type refused by name). Here, apart from the adapter, because every kind reader
 * (kinds.ts, box.ts, video.ts) takes one.
 */
const labelList = opt(z.array(z.string()));
const resultValueSchema = z.looseObject({
  rectanglelabels: labelList,
  polygonlabels: labelList,
  keypointlabels: labelList,
  brushlabels: labelList,
  labels: labelList,
  choices: labelList,
  /** A taxonomy's selections, each a path from the root (`[["Animal", "Dog"]]`): the last of each is the choice. */
  taxonomy: opt(z.array(z.array(z.string()).check(z.maxLength(100))).check(z.maxLength(1_000))),
  x: opt(z.number()),
  y: opt(z.number()),
  width: opt(z.number()),
  height: opt(z.number()),
  rotation: opt(z.number()),
  points: opt(z.array(z.array(z.number()).check(z.minLength(2)))),
  // Spans, brush masks and video tracks: each kind reads its own fields (label-studio/kinds.ts), so another
  // result type that uses the same names differently (a textarea's `text` list) is not refused for it.
  start: z.optional(z.unknown()),
  end: z.optional(z.unknown()),
});
export const resultItemSchema = z.looseObject({
  id: opt(idLike),
  from_name: opt(z.string()),
  type: opt(z.string()),
  value: opt(resultValueSchema),
  original_width: opt(z.number()),
  original_height: opt(z.number()),
  image_rotation: opt(z.number()),
});
export type ResultItem = z.infer<typeof resultItemSchema>;

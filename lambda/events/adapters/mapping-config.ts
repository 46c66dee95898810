import * as z from "zod/mini";
import { key, id as safeId, userOrAppId } from "../event-schema.js"; // also loads zod's English messages

/**
 * How upstream projects map to Clarifai: one JSON document (BRIDGE_MAPPING), keyed by `<source>:<project>`, e.g.
 * `label-studio:12`, `labelbox:<project id>` or `sagemaker-ground-truth:street-boxes`.
 */
const id = (max: number) => z.string().check(z.minLength(1), z.maxLength(max));

const inputIdRule = z.union([
  /** A field of the upstream task data (Label Studio `task.data.<field>`, a Ground Truth manifest key, a Labelbox data row's `global_key`, `external_id` or `id`). */
  z.strictObject({ from: z.literal("field"), field: id(255) }),
  /** The last path segment of the asset URL, without its extension. */
  z.strictObject({ from: z.literal("asset") }),
  /** A template over `{taskId}`, `{annotationId}` and `{projectId}` (the upstream ones). */
  z.strictObject({ from: z.literal("template"), template: id(255) }),
]);
export type InputIdRule = z.infer<typeof inputIdRule>;

export const projectMappingSchema = z.strictObject({
  /** The Clarifai task the annotations belong to. */
  taskId: safeId(128),
  app: z.optional(z.strictObject({ userId: userOrAppId, appId: userOrAppId })),
  /** Where the Clarifai input id comes from, tried in order. @default field clarifai_input_id (or clarifai-input-id), then the asset */
  inputId: z.optional(z.array(inputIdRule).check(z.minLength(1))),
  /** Upstream label name -> Clarifai concept id. @default the label name itself */
  labels: z.optional(z.record(z.string(), key(255))),
  /** Concept ids (after renames) sent as value 0 when an annotation does not select them. @default none */
  negatives: z.optional(z.array(key(255))),
  /** The image size in pixels, for payloads that give pixel geometry without it (Labelbox v1). @default none */
  imageSize: z.optional(
    z.strictObject({ width: z.number().check(z.positive()), height: z.number().check(z.positive()) }),
  ),
  /** A rotated Label Studio box becomes its corners' polygon, or the box enclosing them. @default "polygon" */
  rotatedBoxes: z.optional(z.enum(["polygon", "enclosing-box"])),
});
export type ProjectMapping = z.infer<typeof projectMappingSchema>;

export const mappingConfigSchema = z.strictObject({ projects: z.record(z.string(), projectMappingSchema) });
export type MappingConfig = z.infer<typeof mappingConfigSchema>;

export const EMPTY_MAPPING: MappingConfig = { projects: {} };

import * as z from "zod/mini";
import { key, MAX_REGIONS_PER_EVENT, id as safeId, userOrAppId } from "../event-schema.js"; // also loads zod's English messages

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
  /** A template over `{taskId}`, `{annotationId}` and `{projectId}` (the upstream ones; CVAT frames also `{jobId}` and `{frame}`). */
  z.strictObject({ from: z.literal("template"), template: id(255) }),
]);
export type InputIdRule = z.infer<typeof inputIdRule>;

/**
 * The status an annotation is posted with (Clarifai's `Annotation.status`): a fixed one, or `from-task`, the one
 * the task's review strategy implies (NONE: success, MANUAL: awaiting review, CONSENSUS: awaiting consensus review).
 */
export const STATUS_POLICIES = [
  "from-task",
  "success",
  "pending",
  "awaiting-review",
  "awaiting-consensus-review",
] as const;
/** How an annotation's status is chosen: `from-task`, `success`, `pending`, `awaiting-review`, `awaiting-consensus-review`. */
export type StatusPolicy = (typeof STATUS_POLICIES)[number];
const statusPolicy = z.enum(STATUS_POLICIES);

export const projectMappingSchema = z.strictObject({
  /** The Clarifai task the annotations belong to. */
  taskId: safeId(128),
  /** The Clarifai app (`{userId, appId}`), when not the bridge's configured one. @default the configured app */
  app: z.optional(z.strictObject({ userId: userOrAppId, appId: userOrAppId })),
  /** Where the Clarifai input id comes from, tried in order. @default field clarifai_input_id (or clarifai-input-id), then the asset */
  inputId: z.optional(z.array(inputIdRule).check(z.minLength(1))),
  /** Upstream label name -> Clarifai concept id. @default the label name itself */
  labels: z.optional(z.record(z.string(), key(255))),
  /** Concept ids (after renames) sent as value 0 when an annotation does not select them. @default none */
  negatives: z.optional(z.array(key(255))),
  /** The image size in pixels, for payloads that give pixel geometry without it (Labelbox v1, Scale), and a video's frame size for Label Studio's rotated video boxes (its video results carry none). @default none */
  imageSize: z.optional(
    z.strictObject({ width: z.number().check(z.positive()), height: z.number().check(z.positive()) }),
  ),
  /** A rotated Label Studio box becomes its corners' polygon, or the box enclosing them. @default "polygon" */
  rotatedBoxes: z.optional(z.enum(["polygon", "enclosing-box"])),
  /**
   * Video: the frame rate, where the tool's payload does not carry it (Label Studio writes each keyframe's time,
   * from which the rate follows; set it to the `<Video frameRate>` of the labeling config to be exact). @default from the payload
   */
  frameRate: z.optional(z.number().check(z.positive(), z.lte(1000))),
  /**
   * Video: which frames of a track become annotations: every frame the tool shows the object on (`every`, each
   * interpolated frame as the tool interpolates it), only the keyframes the labeler set (`keyframes`), or every
   * Nth frame from the track's first, plus its keyframes (a whole number N). @default "every"
   */
  videoFrames: z.optional(z.union([z.enum(["every", "keyframes"]), z.int().check(z.gte(1), z.lte(100_000))])),
  /**
   * Video: the most annotations one event of this project may make (a track makes one per frame it is shown on),
   * up to the bridge's ceiling of 120,000 (an hour at 30 fps, and a tenth more). A long event is carried across
   * invocations in continuation messages, counted at 700 bytes a member of the function's memory and sent at a
   * request per 128 annotations at the instance's pace: lower it to refuse, as `too-many-annotations` before a
   * track is expanded, what this project should never send as one event. @default 120000
   */
  maxAnnotationsPerEvent: z.optional(z.int().check(z.gte(1), z.lte(MAX_REGIONS_PER_EVENT))),
  /**
   * Keypoint skeletons: a skeleton's label (as the tool names it) -> its keypoints' labels in the order of the
   * Clarifai concept's `keypoint_names`. Label Studio keypoints whose labels a skeleton lists become one
   * annotation of that skeleton (`region_info.keypoint_locations`, missing ones `NOT_PRESENT`); other keypoints
   * are single points. @default none: each keypoint is its own point
   */
  keypoints: z.optional(z.record(key(255), z.array(key(255)).check(z.minLength(1), z.maxLength(1_000)))),
  /** The status this project's annotations are posted with. @default the mapping's `status` */
  status: z.optional(statusPolicy),
  /**
   * Where this project's mask and label files may be fetched from (Labelbox's mask URLs, Scale's segmentation
   * images, Ground Truth's semantic segmentation PNGs and video frame SeqLabel.json): origins (`https://api.labelbox.com`) or buckets with an optional prefix
   * (`s3://my-gt-output/jobs/`); `http://` only to this machine. A mask elsewhere is refused by name
   * (`mask-origin-not-allowed`). The stack grants the handler read access to the `s3://` ones. @default Labelbox: ["https://api.labelbox.com"]; others: none
   */
  maskOrigins: z.optional(
    z
      .array(
        z
          .string()
          .check(z.regex(/^(https?:\/\/[^/\s?#]+|s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/[^\s?#]*)?)$/)),
      )
      .check(z.maxLength(50)),
  ),
  /**
   * An upstream object without a Clarifai equivalent (a polyline, an ellipse, a cuboid): `refuse` dead-letters the
   * whole annotation (`unsupported-result-type`); `skip` leaves it out, sends the rest, and records what was left
   * out in `annotation_info.skipped` (and `annotation_info.metadata.bridge_skipped`). @default "refuse"
   */
  unsupported: z.optional(z.enum(["refuse", "skip"])),
});
/** One upstream project's mapping (`projects["<source>:<project>"]`); see schema/bridge-mapping.schema.json. */
export type ProjectMapping = z.infer<typeof projectMappingSchema>;

/** What happens to an annotation whose labeler has no Clarifai user in `labelers`. */
export const UNMAPPED_LABELER_POLICIES = ["bridge-user", "dead-letter"] as const;

export const mappingConfigSchema = z.strictObject({
  /** Per upstream project (`<source>:<project>`), its Clarifai task and how its labels map (below). @default none */
  projects: z._default(z.record(z.string(), projectMappingSchema), {}),
  /**
   * Upstream labeler -> Clarifai user id, so each labeler's work is theirs in Clarifai's task views (the
   * annotation's `worker.user.id`). Keys, tried in order: `<source>:<labeler id>` (e.g. `label-studio:7`,
   * `sagemaker-ground-truth:<worker id>`), `<source>:<email>` (any case), then among keys that name no source:
   * the labeler's email (any case), the labeler id alone. A `<source>:` key matches only that source's events.
   */
  labelers: z.optional(z.record(key(320), userOrAppId)),
  /**
   * A labeler not in `labelers`: `bridge-user` posts as the key's owner (the upstream identity stays in
   * `annotation_info.labeler`); `dead-letter` refuses the event (`unmapped-labeler`). @default "bridge-user"
   */
  unmappedLabelers: z.optional(z.enum(UNMAPPED_LABELER_POLICIES)),
  /** The status annotations are posted with, unless a project or task says otherwise. @default "from-task" */
  status: z.optional(statusPolicy),
  /** Per Clarifai task: the status its annotations are posted with (wins over the project's). */
  tasks: z.optional(z.record(safeId(128), z.strictObject({ status: z.optional(statusPolicy) }))),
});
/** BRIDGE_MAPPING (the construct's `mapping` prop); its JSON Schema is schema/bridge-mapping.schema.json. */
export type MappingConfig = z.infer<typeof mappingConfigSchema>;

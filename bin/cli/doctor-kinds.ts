/**
 * The doctor's label-kind probes: one annotation of each kind the bridge carries beyond boxes and polygons, on an
 * input that can hold it (a point, keypoints and a mask on the image input; a span on the text input and a video
 * frame on the video input, each only when given). doctor-readers.ts `readKind` reads the answers.
 */
/** A 1-bit 8 x 8 PNG with a 4 x 4 square: the mask probe (its size cannot match an input the doctor does not know). */
const PROBE_MASK_PNG =
  "iVBORw0KGgoAAAANSUhEUgAAAAgAAAAIAQAAAADsdIMmAAAADklEQVR4XmMAARsoBAIAB5AA8QKDIiEAAAAASUVORK5CYII=";

/** The label-kind probes: suffix, what, input, region, whether a refusal can be the probe's own fault. */
export function kindProbes(options: {
  readonly inputId: string;
  readonly textInputId?: string;
  readonly videoInputId?: string;
}): [string, string, string, Record<string, unknown>, boolean][] {
  const concepts = { data: { concepts: [{ id: "clarifai-bridge-doctor", value: 1 }] } };
  const probes: [string, string, string, Record<string, unknown>, boolean][] = [
    [
      "k-point",
      "points",
      options.inputId,
      { region_info: { point: { row: 0.5, col: 0.5 } }, ...concepts },
      false,
    ],
    [
      "k-keypoints",
      "keypoint skeletons",
      options.inputId,
      {
        region_info: {
          keypoint_locations: [
            { row: 0.4, col: 0.5, visibility: "VISIBLE" },
            { row: 0, col: 0, visibility: "NOT_PRESENT" },
          ],
        },
        ...concepts,
      },
      false,
    ],
    [
      "k-mask",
      "masks",
      options.inputId,
      { region_info: { mask: { image: { base64: PROBE_MASK_PNG } } }, ...concepts },
      true,
    ],
  ];
  if (options.textInputId)
    probes.push([
      "k-span",
      "text spans",
      options.textInputId,
      { region_info: { span: { char_start: 0, char_end: 1 } }, ...concepts },
      false,
    ]);
  if (options.videoInputId)
    probes.push([
      "k-video",
      "video frames",
      options.videoInputId,
      {
        region_info: { bounding_box: { top_row: 0.1, left_col: 0.1, bottom_row: 0.5, right_col: 0.5 } },
        track_id: "clarifai-bridge-doctor",
        ...concepts,
      },
      false,
    ]);
  return probes;
}

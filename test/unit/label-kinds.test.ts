// Over 300 lines: every label kind Clarifai holds, each from every tool that sends it, worked out by hand in one place.
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, test } from "@jest/globals";
import { encode as rleEncode } from "@thi.ng/rle-pack";
import fc from "fast-check";
import { decode as pngDecode } from "fast-png";
import type protobuf from "protobufjs";
import { parseRecord } from "../../lambda/delivery/parse-record.js";
import type { ProjectMapping } from "../../lambda/events/contract/mapping-config.js";
import { interpolatePolygon } from "../../lambda/events/kinds/cvat-polyshape.js";
import { labelStudioBrush, MAX_MASK_PIXELS } from "../../lambda/events/kinds/mask.js";
import {
  countFrames,
  frameShapes,
  type Keyframe,
  shapeAt,
  type TrackRules,
} from "../../lambda/events/kinds/video-frames.js";
import { checkMessage, loadClarifaiProtos } from "../../local/clarifai/proto-contract.js";
import { checkAnnotation } from "../../local/clarifai/rules.js";
import { GOLDEN_CASES, goldenOptions } from "../support/golden.js";
import { annotationsOf } from "../support/parsed.js";

/**
 * Label kinds beyond boxes and polygons, from Label Studio payloads (test/fixtures/upstream/label-studio-*.json,
 * their Clarifai bodies pinned in test/fixtures/upstream/clarifai/ by golden.test.ts). The figures below were
 * worked out by hand from the fixtures, so the pinned bodies are checked against arithmetic, not against
 * themselves.
 */
// biome-ignore lint/suspicious/noExplicitAny: the tests read deep into Clarifai's JSON bodies
type Json = Record<string, any>;
const parse = (fixture: string, mappingPatch: Json = {}, mutate?: (payload: Json) => void) => {
  const c = GOLDEN_CASES.find((g) => g.fixture === fixture);
  if (!c) throw new Error(fixture);
  const payload = JSON.parse(readFileSync(`test/fixtures/upstream/${fixture}`, "utf8"));
  mutate?.(payload);
  const options = goldenOptions(c);
  const projects = options.upstream?.projects ?? {};
  const key = `label-studio:${payload.annotation.project}`;
  return parseRecord(JSON.stringify(payload), {
    ...options,
    upstream: {
      ...options.upstream,
      projects: { ...projects, [key]: { ...projects[key], ...mappingPatch } as ProjectMapping },
    },
  });
};
const regionOf = (a: Json) => a.data.regions?.[0] ?? a.data.frames?.[0]?.data.regions[0];

let root: protobuf.Root;
beforeAll(async () => {
  root = await loadClarifaiProtos();
});
const world = { inputExists: () => true, taskExists: () => true };

describe("each new kind as Clarifai holds it, valid for the protos and the stand-in's rules", () => {
  test.each([
    "label-studio-brush.json",
    "label-studio-keypoints.json",
    "label-studio-ner.json",
    "label-studio-video.json",
  ])("%s", (fixture) => {
    const annotations = annotationsOf(parse(fixture));
    expect(checkMessage(root, "clarifai.api.PostAnnotationsRequest", { annotations })).toEqual([]);
    for (const a of annotations) expect(checkAnnotation(a, world)).toBeUndefined();
  });

  test("brush: the 10 x 8 block painted at x 20..29, y 12..19 of a 64 x 48 image decodes to those 80 pixels", () => {
    const mask = annotationsOf(parse("label-studio-brush.json"))
      .map(regionOf)
      .find((r) => r?.region_info.mask);
    const png = pngDecode(Buffer.from(mask.region_info.mask.image.base64, "base64"));
    expect([png.width, png.height, png.depth, png.channels]).toEqual([64, 48, 1, 1]);
    const stride = Math.ceil(64 / 8);
    const inside: [number, number][] = [];
    for (let y = 0; y < 48; y++)
      for (let x = 0; x < 64; x++)
        if ((png.data[y * stride + (x >> 3)] as number) & (0x80 >> (x & 7))) inside.push([x, y]);
    expect(inside).toHaveLength(80);
    expect(inside[0]).toEqual([20, 12]);
    expect(inside.at(-1)).toEqual([29, 19]);
  });

  test("keypoints: nose (50%, 40%) and left eye (42.5%, 30%) in the face skeleton's order, right eye not present; the mole a point", () => {
    const regions = annotationsOf(parse("label-studio-keypoints.json")).map(regionOf);
    const face = regions.find((r) => r.region_info.keypoint_locations);
    expect(face.region_info.keypoint_locations).toEqual([
      { row: 0.4, col: 0.5, visibility: "VISIBLE" },
      { row: 0.3, col: 0.425, visibility: "VISIBLE" },
      { row: 0, col: 0, visibility: "NOT_PRESENT" },
    ]);
    expect(face.data.concepts).toEqual([{ id: "face", value: 1 }]);
    expect(regions.find((r) => r.region_info.point)?.region_info.point).toEqual({ row: 0.55, col: 0.6 });
  });

  test("keypoints without a skeleton in the mapping are single points", () => {
    const regions = annotationsOf(parse("label-studio-keypoints.json", { keypoints: undefined })).map(
      regionOf,
    );
    expect(regions.filter((r) => r.region_info.point)).toHaveLength(3);
  });

  test("keypoints: the same label twice in one skeleton is refused by name", () => {
    const parsed = parse("label-studio-keypoints.json", {}, (p) => {
      p.annotation.result.push({ ...p.annotation.result[0], id: "Kp0Nose999" });
    });
    expect(parsed.ok ? undefined : parsed.failure).toMatchObject({
      code: "keypoints-ambiguous",
      reason: expect.stringContaining('two keypoints labeled "nose"'),
    });
  });

  test("spans: offsets in code points: the emoji counts 1 and the combining accent 1, so 'Paris' is 15..20 (16..21 in UTF-16)", () => {
    const text = "😀 Cafe\u0301 Zoë in Paris";
    const spans = annotationsOf(parse("label-studio-ner.json")).map((a) => regionOf(a).region_info.span);
    expect(spans).toEqual([
      { char_start: 2, char_end: 11, raw_text: "Cafe\u0301 Zoë" },
      { char_start: 15, char_end: 20, raw_text: "Paris" },
    ]);
    const codePoints = [...text];
    for (const s of spans) expect(codePoints.slice(s.char_start, s.char_end).join("")).toBe(s.raw_text);
    expect(text.indexOf("Paris")).toBe(16);
  });

  test("spans: HyperText (XPath offsets) and audio segments (seconds) are not text spans: refused by name, or skipped", () => {
    const xpath = (p: Json) => {
      p.annotation.result[0].value = {
        start: "/p[1]/text()[1]",
        end: "/p[1]/text()[1]",
        startOffset: 0,
        endOffset: 4,
        labels: ["ORG"],
      };
    };
    const refused = parse("label-studio-ner.json", {}, xpath);
    expect(refused.ok ? undefined : refused.failure).toMatchObject({
      code: "unsupported-result-type",
      reason: expect.stringContaining("HyperText"),
    });
    const audio = parse("label-studio-ner.json", { unsupported: "skip" }, (p) => {
      p.annotation.result[0].value = { start: 1.25, end: 3.5, channel: 0, labels: ["ORG"] };
    });
    expect(annotationsOf(audio)).toHaveLength(1);
  });

  test("video: keyframes 1, 5, 7 (off) and 9 of a 10-frame video at 24 fps give frames 1-7 and 9-10, frame 3 halfway", () => {
    const framesOut = annotationsOf(parse("label-studio-video.json")).map((a) => a.data.frames[0]);
    expect(framesOut.map((f) => f.frame_info.number)).toEqual([0, 1, 2, 3, 4, 5, 6, 8, 9]);
    // Frame 3 (number 2) is halfway from keyframe 1 (x 10%) to keyframe 5 (x 30%): x 20%, width 20%, so 0.2..0.4;
    // its start is 2 / 24 s = 83.3 ms.
    const third = framesOut[2];
    expect(third.frame_info).toEqual({ number: 2, time: 83 });
    expect(third.data.regions[0].region_info.bounding_box).toEqual({
      top_row: 0.2,
      left_col: 0.2,
      bottom_row: 0.5,
      right_col: 0.4,
    });
    // Frame 6 lies between keyframe 5 and the disabled keyframe 7, both at x 30%; frame 8 follows the disabled one.
    expect(framesOut[5].data.regions[0].region_info.bounding_box.left_col).toBeCloseTo(0.3);
    expect(new Set(framesOut.map((f) => f.data.regions[0].track_id))).toEqual(new Set(["Vid0Trk001"]));
  });

  test("video: keyframes only, or every 4th frame plus the keyframes", () => {
    const only = annotationsOf(parse("label-studio-video.json", { videoFrames: "keyframes" }));
    expect(only.map((a) => a.data.frames[0].frame_info.number)).toEqual([0, 4, 6, 8]);
    const stride = annotationsOf(parse("label-studio-video.json", { videoFrames: 4 }));
    expect(stride.map((a) => a.data.frames[0].frame_info.number)).toEqual([0, 4, 6, 8]);
    const three = annotationsOf(parse("label-studio-video.json", { videoFrames: 3 }));
    expect(three.map((a) => a.data.frames[0].frame_info.number)).toEqual([0, 3, 4, 6, 8, 9]);
  });

  test("video: no keyframe time and no frameRate in the mapping is refused by name; the mapping's rate wins", () => {
    const untimed = (p: Json) => {
      for (const k of p.annotation.result[0].value.sequence) delete k.time;
    };
    const refused = parse("label-studio-video.json", {}, untimed);
    expect(refused.ok ? undefined : refused.failure.code).toBe("frame-rate-unknown");
    const at30 = annotationsOf(parse("label-studio-video.json", { frameRate: 30 }, untimed));
    expect(at30[2]?.data.frames[0].frame_info.time).toBe(67); // 2 / 30 s
  });

  test("video: a rotated box turns around its top-left corner in pixels of the frame size; without a size it is refused", () => {
    const rotate = (p: Json) => {
      for (const k of p.annotation.result[0].value.sequence) k.rotation = 90;
    };
    const refused = parse("label-studio-video.json", {}, rotate);
    expect(refused.ok ? undefined : refused.failure).toMatchObject({
      code: "video-rotation-unsupported",
      reason: expect.stringContaining("set imageSize"),
    });
    // Keyframe 1 on a 1000 x 500 frame: x 10%, y 20%, 20% x 30% is (100, 100) px, 200 x 150 px. Turned 90 degrees
    // clockwise around (100, 100): (100, 100), (100, 300), (-50, 300), (-50, 100); as fractions (x / 1000,
    // y / 500, clamped to the frame): (0.1, 0.2), (0.1, 0.6), (0, 0.6), (0, 0.2).
    const turned = annotationsOf(
      parse("label-studio-video.json", { imageSize: { width: 1000, height: 500 } }, rotate),
    );
    const rounded = (points: { row: number; col: number }[]) =>
      points.map(({ row, col }) => ({ row: Number(row.toFixed(9)), col: Number(col.toFixed(9)) }));
    expect(rounded(turned[0]?.data.frames[0].data.regions[0].region_info.polygon.points)).toEqual([
      { row: 0.2, col: 0.1 },
      { row: 0.6, col: 0.1 },
      { row: 0.6, col: 0 },
      { row: 0.2, col: 0 },
    ]);
    // The result's own original_width/original_height win over the mapping's (a 500 x 500 frame: 50, 100 px,
    // 100 x 150 px, so (50, 100), (50, 200), (-100, 200), (-100, 100): (0.1, 0.2), (0.1, 0.4), (0, 0.4), (0, 0.2)).
    const own = annotationsOf(
      parse("label-studio-video.json", { imageSize: { width: 1000, height: 500 } }, (p) => {
        rotate(p);
        Object.assign(p.annotation.result[0], { original_width: 500, original_height: 500 });
      }),
    );
    expect(rounded(own[0]?.data.frames[0].data.regions[0].region_info.polygon.points)[1]).toEqual({
      row: 0.4,
      col: 0.1,
    });
  });

  test("video: a track longer than one event may carry is refused with the count and the limit, without expanding it", () => {
    const parsed = parse("label-studio-video.json", {}, (p) => {
      p.annotation.result[0].value.framesCount = 2_000_000_000;
    });
    expect(parsed.ok ? undefined : parsed.failure).toMatchObject({
      code: "too-many-annotations",
      reason: expect.stringMatching(/makes 19999999\d\d annotations .* more than the 120000/),
    });
  });
});

describe("the stand-in refuses what Clarifai would", () => {
  const base = { input_id: "i", data: {} };
  test.each([
    [
      "a region with a mask and a box at once",
      {
        regions: [
          {
            region_info: {
              mask: { image: { base64: "iVBORw0KGgo=" } },
              bounding_box: { top_row: 0, left_col: 0, bottom_row: 1, right_col: 1 },
            },
          },
        ],
      },
      /one geometry, not bounding_box and mask/,
    ],
    [
      "a frame without frame_info",
      { frames: [{ data: { regions: [{ region_info: { point: { row: 0.1, col: 0.1 } } }] } }] },
      /frame_info/,
    ],
    [
      "two frames",
      { frames: [{ frame_info: { time: 0 } }, { frame_info: { time: 40 } }] },
      /at most one frame/,
    ],
    [
      "a span with char_end < char_start",
      { regions: [{ region_info: { span: { char_start: 5, char_end: 2 } } }] },
      /char_start < char_end/,
    ],
    [
      "a point outside the image",
      { regions: [{ region_info: { point: { row: 1.5, col: 0.1 } } }] },
      /fractions/,
    ],
    [
      "a mask that is no PNG",
      { regions: [{ region_info: { mask: { image: { base64: "R0lGODlh" } } } }] },
      /PNG/,
    ],
  ])("%s", (_name, data, reason) => {
    expect(checkAnnotation({ ...base, data }, world)?.details).toMatch(reason);
  });
});

describe("Label Studio brush RLE", () => {
  const rgba = (width: number, height: number, inside: (x: number, y: number) => boolean) => {
    const out = new Uint8Array(width * height * 4);
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) if (inside(x, y)) out[(y * width + x) * 4 + 3] = 255;
    return out;
  };
  test("any painted set of pixels decodes to exactly that set (encoded as the editor encodes)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer(),
        (w, h, seed) => {
          const inside = (x: number, y: number) => ((x * 31 + y * 17 + seed) >>> 0) % 5 === 0;
          const data = rgba(w, h, inside);
          const bitmap = labelStudioBrush(Array.from(rleEncode(data, data.length)), w, h, "rle");
          for (let y = 0; y < h; y++)
            for (let x = 0; x < w; x++) expect(bitmap.bits[y * w + x]).toBe(inside(x, y) ? 1 : 0);
        },
      ),
      { numRuns: 50 },
    );
  });
  test("a stream whose declared length is not the image's is refused before anything is allocated", () => {
    const data = rgba(4, 4, () => true);
    const rle = Array.from(rleEncode(data, data.length));
    expect(() => labelStudioBrush(rle, 5, 4, "rle")).toThrow(/holds 64 values, not the 5x4x4/);
    const huge = [0xff, 0xff, 0xff, 0xfc, 0, 0];
    expect(() => labelStudioBrush(huge, 32_767, 32_767, "rle")).toThrow(/not the/);
    expect(MAX_MASK_PIXELS).toBe(4096 * 4096);
  });
  test("a truncated stream, or one with non-bytes, is refused by name", () => {
    const data = rgba(8, 8, (x) => x % 2 === 0);
    const rle = Array.from(rleEncode(data, data.length));
    expect(() => labelStudioBrush(rle.slice(0, 8), 8, 8, "rle")).toThrow(/ends before/);
    expect(() => labelStudioBrush([...rle.slice(0, 6), 300, "x"], 8, 8, "rle")).toThrow(/list of bytes/);
  });
});

describe("video frames", () => {
  const keyframes = fc
    .uniqueArray(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 8 })
    .chain((frames) =>
      fc.tuple(
        fc.constant([...frames].sort((a, b) => a - b)),
        fc.array(fc.boolean(), { minLength: frames.length, maxLength: frames.length }),
      ),
    )
    .map(([frameList, on]): Keyframe[] =>
      frameList.map((frame, i) => ({
        frame,
        on: on[i] as boolean,
        values: [i, 0, 10, 10],
        rotation: (i * 137) % 360,
      })),
    );
  const rules = fc.record({
    offFrameShown: fc.boolean(),
    between: fc.constantFrom("lerp" as const, "hold" as const, "keyframes" as const),
    angle: fc.constantFrom("linear" as const, "shortest" as const),
    lastFrame: fc.option(fc.integer({ min: 0, max: 600 }), { nil: undefined }),
  });
  test("the count worked out without expanding equals the frames made, under every tool's rules and mode", () => {
    fc.assert(
      fc.property(
        keyframes,
        rules,
        fc.oneof(
          fc.constant("every" as const),
          fc.constant("keyframes" as const),
          fc.integer({ min: 1, max: 50 }),
        ),
        (keys, r: TrackRules, mode) => {
          const made = frameShapes(keys, r, mode);
          expect(countFrames(keys, r, mode)).toBe(made.length);
          // Read one frame at a time (as a skeleton's points are), the track agrees with its expansion.
          if (mode === "every" && r.between !== "keyframes") {
            const byFrame = new Map(made.map((f) => [f.frame, f]));
            for (let frame = 0; frame <= 610; frame++) {
              const at = shapeAt(keys, r, frame);
              expect(at?.values).toEqual(byFrame.get(frame)?.values);
              expect(at?.rotation).toEqual(byFrame.get(frame)?.rotation);
            }
          }
          // Every keyframe that is shown is there, each frame once, in order.
          const shownKeys = keys.filter((k) => k.on || r.offFrameShown).map((k) => k.frame);
          expect(made.filter((f) => f.keyframe).map((f) => f.frame)).toEqual(shownKeys);
          expect(made.every((f, i) => i === 0 || f.frame > (made[i - 1] as { frame: number }).frame)).toBe(
            true,
          );
        },
      ),
    );
  });
  test("rotation along the shorter arc: 350 to 10 degrees passes 0, halfway", () => {
    const keys: Keyframe[] = [
      { frame: 0, on: true, values: [0], rotation: 350 },
      { frame: 2, on: true, values: [2], rotation: 10 },
    ];
    const base = { offFrameShown: false, between: "lerp" as const, lastFrame: 2 };
    expect(frameShapes(keys, { ...base, angle: "shortest" }, "every")[1]).toMatchObject({
      values: [1],
      rotation: 0,
    });
    expect(frameShapes(keys, { ...base, angle: "linear" }, "every")[1]?.rotation).toBe(180);
  });
});

describe("points and text entities from Labelbox and Scale", () => {
  const regionsOf = (fixture: string, mutate: (p: Json) => void) => {
    const c = GOLDEN_CASES.find((g) => g.fixture === fixture);
    if (!c) throw new Error(fixture);
    const payload = JSON.parse(readFileSync(`test/fixtures/upstream/${fixture}`, "utf8"));
    mutate(payload);
    return annotationsOf(parseRecord(JSON.stringify(payload), goldenOptions(c)))
      .map(regionOf)
      .filter(Boolean);
  };
  const labelboxObjects = (p: Json): Json[] =>
    (Object.values(p.projects)[0] as Json).labels[0].annotations.objects;

  test("Labelbox v2: an ImagePoint at (480, 270) px of 1920 x 1080 is the point (0.25, 0.25)", () => {
    const regions = regionsOf("labelbox-v2-row.json", (p) => {
      labelboxObjects(p).push({
        feature_id: "ftpt0001",
        name: "Car",
        annotation_kind: "ImagePoint",
        point: { x: 480, y: 270 },
      });
    });
    expect(regions.find((r) => r.region_info.point)?.region_info.point).toEqual({ row: 0.25, col: 0.25 });
  });

  test("Labelbox: a text entity's inclusive end becomes Clarifai's exclusive char_end (10..20 -> 10..21)", () => {
    const regions = regionsOf("labelbox-v2-row.json", (p) => {
      p.media_attributes = { mime_type: "text/plain", asset_type: "text" };
      (Object.values(p.projects)[0] as Json).labels[0].annotations.objects = [
        {
          feature_id: "ftner001",
          name: "Car",
          annotation_kind: "TextEntity",
          location: { start: 10, end: 20 },
        },
      ];
    });
    expect(regions).toHaveLength(1);
    expect(regions[0].region_info.span).toEqual({ char_start: 10, char_end: 21 });
  });

  test("Labelbox: a text entity carries its text (location.token) as raw_text, as Label Studio's spans do", () => {
    const regions = regionsOf("labelbox-v2-row.json", (p) => {
      p.media_attributes = { mime_type: "text/plain", asset_type: "text" };
      (Object.values(p.projects)[0] as Json).labels[0].annotations.objects = [
        {
          feature_id: "ftner003",
          name: "Org",
          annotation_kind: "TextEntity",
          // "The Clarifai team" -> "Clarifai" at 4..11 inclusive
          location: { start: 4, end: 11, token: "Clarifai" },
        },
      ];
    });
    expect(regions[0].region_info.span).toEqual({ char_start: 4, char_end: 12, raw_text: "Clarifai" });
  });

  test("Labelbox: an entity whose end is before its start is refused by name", () => {
    expect(() =>
      regionsOf("labelbox-v2-row.json", (p) => {
        labelboxObjects(p).push({ feature_id: "ftner002", name: "Car", location: { start: 9, end: 3 } });
      }),
    ).toThrow(/degenerate-region: Labelbox entity ftner002: end is before start/);
  });

  test("Scale: a point at (960, 270) px of 1920 x 1080 is the point (0.5, 0.25); outside the image it is refused", () => {
    const regions = regionsOf("scale-imageannotation.json", (p) => {
      p.response.annotations.push({ uuid: "pt-1", type: "point", label: "traffic_sign", x: 960, y: 270 });
    });
    expect(regions.find((r) => r.region_info.point)?.region_info.point).toEqual({ row: 0.25, col: 0.5 });
    expect(() =>
      regionsOf("scale-imageannotation.json", (p) => {
        p.response.annotations.push({ uuid: "pt-2", type: "point", label: "traffic_sign", x: 2000, y: 270 });
      }),
    ).toThrow(/the point is outside the image/);
  });
});

describe("CVAT points, masks and skeletons (one frame of an image job, as the puller queues it)", () => {
  const frame = (shapes: Json[], labels: Json[] = [], mapping: Json = {}) => {
    const payload = JSON.parse(readFileSync("test/fixtures/upstream/cvat-frame-0.json", "utf8"));
    payload.frame.width = 8;
    payload.frame.height = 6;
    payload.labels.push(...labels);
    payload.shapes = shapes;
    const c = GOLDEN_CASES.find((g) => g.fixture === "cvat-frame-0.json");
    if (!c) throw new Error("fixture");
    const options = goldenOptions(c);
    const projects = options.upstream?.projects ?? {};
    return parseRecord(JSON.stringify(payload), {
      ...options,
      upstream: {
        ...options.upstream,
        projects: { ...projects, "cvat:5": { ...projects["cvat:5"], ...mapping } as ProjectMapping },
      },
    });
  };
  const regions = (parsed: ReturnType<typeof parseRecord>) =>
    annotationsOf(parsed).map(regionOf).filter(Boolean);

  test("a mask: runs [1, 4, 1] over the box [2, 1, 4, 2] (3 x 2) fill (3,1), (4,1), (2,2), (3,2) of the 8 x 6 frame", () => {
    const [mask] = regions(frame([{ id: 401, type: "mask", label_id: 101, points: [1, 4, 1, 2, 1, 4, 2] }]));
    const png = pngDecode(Buffer.from(mask.region_info.mask.image.base64, "base64"));
    expect([png.width, png.height]).toEqual([8, 6]);
    const inside: [number, number][] = [];
    for (let y = 0; y < 6; y++)
      for (let x = 0; x < 8; x++) if ((png.data[y] as number) & (0x80 >> x)) inside.push([x, y]);
    expect(inside).toEqual([
      [3, 1],
      [4, 1],
      [2, 2],
      [3, 2],
    ]);
  });

  test("a mask whose runs do not cover its box, or whose box leaves the frame, is refused by name", () => {
    const short = frame([{ id: 402, type: "mask", label_id: 101, points: [1, 4, 2, 1, 4, 2] }]);
    expect(short.ok ? undefined : short.failure.reason).toMatch(
      /mask 402: its run lengths do not cover its 6-pixel box/,
    );
    const outside = frame([{ id: 403, type: "mask", label_id: 101, points: [0, 6, 6, 1, 9, 2] }]);
    expect(outside.ok ? undefined : outside.failure.code).toBe("degenerate-region");
  });

  test("points: each point of the shape is a point region; (4, 3) of 8 x 6 is (0.5, 0.5)", () => {
    const found = regions(frame([{ id: 404, type: "points", label_id: 101, points: [4, 3, 2, 1.5] }]));
    expect(found.map((r) => r.region_info.point)).toEqual([
      { row: 0.5, col: 0.5 },
      { row: 0.25, col: 0.25 },
    ]);
  });

  test("a skeleton: its elements in the mapping's order, outside not present, occluded not visible", () => {
    const labels = [
      { id: 201, name: "face" },
      { id: 202, name: "nose" },
      { id: 203, name: "left_eye" },
      { id: 204, name: "right_eye" },
    ];
    const skeleton = {
      id: 405,
      type: "skeleton",
      label_id: 201,
      points: [],
      elements: [
        { label_id: 203, points: [2, 3], occluded: true },
        { label_id: 202, points: [4, 3] },
        { label_id: 204, points: [6, 3], outside: true },
      ],
    };
    const [face] = regions(
      frame([skeleton], labels, { keypoints: { face: ["nose", "left_eye", "right_eye"] } }),
    );
    expect(face.region_info.keypoint_locations).toEqual([
      { row: 0.5, col: 0.5, visibility: "VISIBLE" },
      { row: 0.5, col: 0.25, visibility: "NOT_VISIBLE" },
      { row: 0, col: 0, visibility: "NOT_PRESENT" },
    ]);
    const unordered = frame([skeleton], labels);
    expect(unordered.ok ? undefined : unordered.failure).toMatchObject({
      code: "keypoints-order-unknown",
      reason: expect.stringContaining('set keypoints["face"]'),
    });
  });
});

describe("CVAT video jobs: one body, tracks expanded as CVAT's TrackManager.get_interpolated_shapes does", () => {
  const videoJob = (tracks: Json[], extra: Json = {}) => ({
    cvat: "job-video",
    job: {
      id: 77,
      task_id: 31,
      project_id: 5,
      updated_date: "2026-11-30T08:00:00Z",
      assignee: null,
      start_frame: 0,
      stop_frame: 19,
    },
    media: { name: "traffic/clip-9.mp4", width: 1000, height: 500 },
    labels: [
      { id: 101, name: "car" },
      { id: 102, name: "cyclist" },
    ],
    shapes: [],
    tracks,
    tags: 0,
    ...extra,
  });
  const parseVideo = (body: Json, mapping: Json = { frameRate: 25 }) =>
    parseRecord(JSON.stringify(body), {
      taskLink: "both",
      defaultApp: null,
      upstream: { projects: { "cvat:5": { taskId: "traffic", ...mapping } as ProjectMapping } },
    });
  const rect = (frame: number, points: number[], outside = false) => ({
    type: "rectangle",
    frame,
    points,
    rotation: 0,
    outside,
    label_id: 101,
  });
  const car = {
    id: 7,
    label_id: 101,
    shapes: [
      rect(0, [100, 100, 200, 200]),
      rect(10, [200, 100, 300, 200]),
      rect(15, [200, 100, 300, 200], true),
      rect(18, [0, 0, 10, 10]),
    ],
  };

  test("frames 0-14 (linear to frame 10, held to the outside keyframe at 15, which is not shown), then 18-19 held to stop_frame", () => {
    const annotations = annotationsOf(parseVideo(videoJob([car])));
    const frames = annotations.map((a) => a.data.frames[0]);
    expect(frames.map((f) => f.frame_info.number)).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 18, 19,
    ]);
    // Frame 5 is halfway from [100, 100, 200, 200] to [200, 100, 300, 200] px: [150, 100, 250, 200] of 1000 x 500,
    // so left 0.15, top 0.2, right 0.25, bottom 0.4; at 25 fps it starts at 200 ms.
    expect(frames[5].frame_info).toEqual({ number: 5, time: 200 });
    expect(frames[5].data.regions[0].region_info.bounding_box).toEqual({
      top_row: 0.2,
      left_col: 0.15,
      bottom_row: 0.4,
      right_col: 0.25,
    });
    expect(new Set(frames.map((f) => f.data.regions[0].track_id))).toEqual(new Set(["cvat-track-7"]));
    expect(new Set(annotations.map((a) => a.input_id))).toEqual(new Set(["clip-9"]));
    for (const a of annotations) expect(checkAnnotation(a, world)).toBeUndefined();
    expect(checkMessage(root, "clarifai.api.PostAnnotationsRequest", { annotations })).toEqual([]);
  });

  test("a polygon track is interpolated as CVAT matches outlines: halfway from a 3-point to a wider 3-point one", () => {
    const poly = (frame: number, points: number[]) => ({
      type: "polygon",
      frame,
      points,
      rotation: 0,
      outside: false,
      label_id: 102,
    });
    const track = {
      id: 8,
      label_id: 102,
      shapes: [poly(0, [0, 0, 100, 0, 100, 100]), poly(16, [0, 0, 200, 0, 200, 100])],
    };
    const frames = annotationsOf(parseVideo(videoJob([track]))).map((a) => a.data.frames[0]);
    expect(frames.map((f) => f.frame_info.number)).toEqual([...Array(20).keys()]);
    // CVAT's own interpolate_position gives [0, 0, 150, 0, 150, 100] at offset 0.5 (frame 8): over 1000 x 500,
    // (0, 0), (0.15, 0), (0.15, 0.2) as {col, row}.
    expect(frames[8].data.regions[0].region_info.polygon.points).toEqual([
      { row: 0, col: 0 },
      { row: 0, col: 0.15 },
      { row: 0.2, col: 0.15 },
    ]);
  });

  test("polygons of different point counts: CVAT's matching, 4 points to 3 at a quarter of the way", () => {
    // CVAT's interpolate_position on the closed outlines gives [0, 0, 100, 0, 87.5, 100, 12.5, 100] at 0.25.
    expect(interpolatePolygon([0, 0, 100, 0, 100, 100, 0, 100], [0, 0, 100, 0, 50, 100], 0.25)).toEqual([
      0, 0, 100, 0, 87.5, 100, 12.5, 100,
    ]);
  });

  test("without frameRate in the mapping, refused by name; a mask track or a tag refused, or skipped", () => {
    expect(parseVideo(videoJob([car]), {})).toMatchObject({
      ok: false,
      failure: { code: "frame-rate-unknown" },
    });
    const mask = {
      id: 9,
      label_id: 101,
      shapes: [{ type: "mask", frame: 0, points: [0, 1, 0, 0, 0, 0], label_id: 101 }],
    };
    expect(parseVideo(videoJob([mask]))).toMatchObject({
      ok: false,
      failure: { code: "unsupported-result-type" },
    });
    const skipped = parseVideo(videoJob([car, mask], { tags: 2 }), { frameRate: 25, unsupported: "skip" });
    expect(annotationsOf(skipped)).toHaveLength(17);
  });

  test("a 10-minute track at 30 fps (18,000 frames) is one event; past 120,000 it is refused with the count", () => {
    const long = {
      id: 10,
      label_id: 101,
      shapes: [rect(0, [0, 0, 10, 10]), rect(9_000, [900, 400, 910, 410])],
    };
    const job = (stop: number) => videoJob([long], { job: { ...videoJob([]).job, stop_frame: stop } });
    expect(annotationsOf(parseVideo(job(17_999), { frameRate: 30 }))).toHaveLength(18_000);
    expect(parseVideo(job(129_999), { frameRate: 30 })).toMatchObject({
      ok: false,
      failure: { code: "too-many-annotations", reason: expect.stringContaining("makes 130000 annotations") },
    });
    // A project may set a lower bound of its own (the mapping's maxAnnotationsPerEvent).
    expect(parseVideo(job(17_999), { frameRate: 30, maxAnnotationsPerEvent: 10_000 })).toMatchObject({
      ok: false,
      failure: {
        code: "too-many-annotations",
        reason: expect.stringMatching(
          /makes 18000 annotations .* more than the 10000 .*maxAnnotationsPerEvent/,
        ),
      },
    });
  });
});

test("a Labelbox video label: each segment's frames, linear between the frames the export holds, held after", () => {
  const c = GOLDEN_CASES.find((g) => g.fixture === "labelbox-v2-row.json");
  if (!c) throw new Error("fixture");
  const payload = JSON.parse(readFileSync("test/fixtures/upstream/labelbox-v2-row.json", "utf8"));
  payload.media_attributes = {
    width: 1000,
    height: 500,
    frame_rate: 25,
    mime_type: "video/mp4",
    frame_count: 20,
  };
  const box = (left: number, top: number, width: number, height: number) => ({
    feature_id: "ftcar01",
    name: "Car",
    annotation_kind: "VideoBoundingBox",
    bounding_box: { top, left, height, width },
  });
  const label = (Object.values(payload.projects)[0] as Json).labels[0];
  label.annotations = {
    frames: {
      "13": { objects: { ftcar01: box(100, 50, 100, 50) }, classifications: [] },
      "15": { objects: { ftcar01: box(300, 50, 100, 50) }, classifications: [] },
      "18": { objects: { ftcar01: box(0, 0, 10, 10) }, classifications: [] },
    },
    segments: {
      ftcar01: [
        [13, 15],
        [18, 19],
      ],
    },
    key_frame_feature_map: { ftcar01: { "13": true, "15": true, "18": true } },
    classifications: [],
    objects: [],
  };
  const frames = annotationsOf(parseRecord(JSON.stringify(payload), goldenOptions(c)))
    .filter((a) => a.data.frames)
    .map((a) => a.data.frames[0]);
  expect(frames.map((f) => f.frame_info.number)).toEqual([12, 13, 14, 17, 18]);
  // Frame 14 is halfway from left 100 to 300 px: left 200, right 300 of 1000; top 50..100 of 500. At 25 fps its
  // number 13 starts at 520 ms.
  expect(frames[1].frame_info).toEqual({ number: 13, time: 520 });
  expect(frames[1].data.regions[0].region_info.bounding_box).toEqual({
    top_row: 0.1,
    left_col: 0.2,
    bottom_row: 0.2,
    right_col: 0.3,
  });
  expect(frames[4].data.regions[0].region_info.bounding_box).toEqual({
    top_row: 0,
    left_col: 0,
    bottom_row: 0.02,
    right_col: 0.01,
  });
  expect(new Set(frames.map((f) => f.data.regions[0].track_id))).toEqual(new Set(["ftcar01"]));
  // A video polyline has no region here: refused by name.
  label.annotations.frames["13"].objects.ftline = {
    name: "Lane",
    annotation_kind: "VideoPolyline",
    line: [{ x: 1, y: 2 }],
  };
  label.annotations.segments.ftline = [[13, 13]];
  expect(parseRecord(JSON.stringify(payload), goldenOptions(c))).toMatchObject({
    ok: false,
    failure: { code: "unsupported-result-type", reason: expect.stringContaining('VideoPolyline "Lane"') },
  });
});

describe("CVAT skeleton tracks on video", () => {
  test("each point is its own track, read on the skeleton's frames; an outside point is not present", () => {
    const point = (frame: number, x: number, outside = false) => ({
      type: "points",
      frame,
      points: [x, 100],
      outside,
      label_id: 202,
    });
    const skeletonShape = (frame: number, outside = false) => ({
      type: "skeleton",
      frame,
      points: [],
      outside,
      label_id: 201,
    });
    const body = {
      cvat: "job-video",
      job: {
        id: 77,
        task_id: 31,
        project_id: 5,
        updated_date: "2026-11-30T08:00:00Z",
        assignee: null,
        start_frame: 0,
        stop_frame: 9,
      },
      media: { name: "gym/clip-4.mp4", width: 1000, height: 500 },
      labels: [
        { id: 201, name: "pose" },
        { id: 202, name: "nose" },
        { id: 203, name: "tail" },
      ],
      shapes: [],
      tracks: [
        {
          id: 5,
          label_id: 201,
          shapes: [skeletonShape(0), skeletonShape(4, true)],
          elements: [
            { label_id: 202, shapes: [point(0, 100), point(2, 300)] },
            {
              label_id: 203,
              shapes: [
                { ...point(0, 500), label_id: 203 },
                { ...point(1, 500, true), label_id: 203 },
              ],
            },
          ],
        },
      ],
      tags: 0,
    };
    const parsed = parseRecord(JSON.stringify(body), {
      taskLink: "both",
      defaultApp: null,
      upstream: {
        projects: { "cvat:5": { taskId: "poses", frameRate: 10, keypoints: { pose: ["nose", "tail"] } } },
      },
    });
    const frames = annotationsOf(parsed).map((a) => a.data.frames[0]);
    // Shown on frames 0-3 (the outside keyframe at 4 ends it). The nose: x 100 at 0, 300 at 2, so 200 at frame 1,
    // held at 300 after; the tail is outside from frame 1.
    expect(frames.map((f) => f.frame_info.number)).toEqual([0, 1, 2, 3]);
    const at = (n: number) => frames[n].data.regions[0].region_info.keypoint_locations;
    expect(at(0)).toEqual([
      { row: 0.2, col: 0.1, visibility: "VISIBLE" },
      { row: 0.2, col: 0.5, visibility: "VISIBLE" },
    ]);
    expect(at(1)).toEqual([
      { row: 0.2, col: 0.2, visibility: "VISIBLE" },
      { row: 0, col: 0, visibility: "NOT_PRESENT" },
    ]);
    expect(at(3)[0]).toEqual({ row: 0.2, col: 0.3, visibility: "VISIBLE" });
  });
});

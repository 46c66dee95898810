// Over 300 lines: masks kept in files for three tools, each case's pixels worked out by hand from the same drawn fixtures.
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, test } from "@jest/globals";
import { decode, encode } from "fast-png";
import type protobuf from "protobufjs";
import { parseRecord } from "../../lambda/delivery/parse-record.js";
import { checkMessage, loadClarifaiProtos } from "../../local/clarifai/proto-contract.js";
import { checkAnnotation } from "../../local/clarifai/rules.js";
import { GOLDEN_CASES, goldenOptions } from "../support/golden.js";
import "../../lambda/events/all-adapters.js";
import { AdapterError } from "../../lambda/events/contract/adapter-result.js";
import type { FetchedMask } from "../../lambda/events/contract/mask-files.js";
import { maskFromPng } from "../../lambda/events/kinds/mask-png.js";
import { maskRef } from "../../lambda/events/kinds/mask-refs.js";
import { pngHeader } from "../../lambda/events/kinds/png-stream.js";
import { permanent, retryable } from "../../lambda/failure.js";
import {
  groundTruthSegmentation,
  H,
  labelboxComposite,
  labelboxInstance,
  scaleIndexed,
  W,
} from "../support/mask-files.js";
import { annotationsOf } from "../support/parsed.js";

/**
 * Masks kept in files (Labelbox's mask URLs, Ground Truth's segmentation PNG in S3, Scale's indexedImage): a first
 * read names the files to fetch, a second with the files makes the masks. Each expected pixel count is worked out
 * by hand from the rectangles in test/support/mask-files.ts.
 */
// biome-ignore lint/suspicious/noExplicitAny: annotations are read freely
type Json = Record<string, any>;
const fixture = (name: string) => readFileSync(`test/fixtures/upstream/${name}`, "utf8");
const LABELBOX = "labelbox:clx0pr0000street";
const mapping = {
  projects: {
    [LABELBOX]: { taskId: "street-masks" },
    "sagemaker-ground-truth:street-seg": {
      taskId: "street-seg",
      maskOrigins: ["s3://acme-gt-output/street-seg/"],
    },
    "scale:street-seg": { taskId: "street-seg", maskOrigins: ["https://scale-segmentation.example.com"] },
  },
};
const parse = (body: string, fetchedMasks?: ReadonlyMap<string, FetchedMask>, attrs = {}) =>
  parseRecord(body, {
    taskLink: "both",
    defaultApp: null,
    upstream: mapping,
    attributes: attrs,
    ...(fetchedMasks ? { fetchedMasks } : {}),
  });
const got = (entries: [string, Uint8Array][]) =>
  new Map(entries.map(([url, bytes]) => [url, { ok: true, bytes } as FetchedMask]));
/** The mask an annotation carries: its size and how many pixels are inside. */
function maskOf(a: Json): { width: number; height: number; pixels: number; concept: string } {
  const region = a.data.regions[0];
  const png = decode(Buffer.from(region.region_info.mask.image.base64, "base64"));
  const bitmap = maskFromPng(
    Buffer.from(region.region_info.mask.image.base64, "base64"),
    { by: "drawn" },
    "t",
  );
  return {
    width: png.width,
    height: png.height,
    pixels: bitmap.bits.reduce((n, b) => n + b, 0),
    concept: region.data.concepts[0].id,
  };
}
const LB_COMPOSITE = "https://api.labelbox.com/api/v1/tasks/clx0tk0000001/masks/clx0cm0000001/index/1";
const GT_PNG =
  "s3://acme-gt-output/street-seg/annotations/consolidated-annotation/output/0_2026-11-22T09:12:44.png";
const SCALE_PNG =
  "https://scale-segmentation.example.com/results/6512a7c4e1b8f9001f3c2d77/combined-indexed.png";

describe("Labelbox masks", () => {
  const body = fixture("labelbox-v2-masks.json");
  const attrs = { "labelbox-event": "LABEL_CREATED" };
  test("the first read names the composite mask (once for both objects); the second makes each instance's mask", () => {
    const first = parse(body, undefined, attrs);
    expect(first).toMatchObject({ ok: false, failure: { kind: "retryable", code: "mask-not-fetched" } });
    expect(!first.ok && first.needs).toEqual([
      { url: LB_COMPOSITE, source: "labelbox", allowed: ["https://api.labelbox.com"] },
    ]);
    const masks = annotationsOf(parse(body, got([[LB_COMPOSITE, labelboxComposite()]]), attrs)).map(maskOf);
    // Road (142, 220, 196): [0, 0, 40, 30) = 40 x 30 = 1,200; sidewalk (224, 17, 103): [50, 40, 80, 60) = 30 x 20 = 600.
    expect(masks).toEqual([
      { width: W, height: H, pixels: 1200, concept: "Road" },
      { width: W, height: H, pixels: 600, concept: "Sidewalk" },
    ]);
  });

  test("without a composite mask, each object's own mask (white on black) is read", () => {
    const row = JSON.parse(body);
    const objects = row.projects.clx0pr0000street.labels[0].annotations.objects;
    for (const o of objects) delete o.composite_mask;
    objects.pop();
    const url = objects[0].mask.url;
    const masks = annotationsOf(parse(JSON.stringify(row), got([[url, labelboxInstance()]]), attrs)).map(
      maskOf,
    );
    // [10, 10, 30, 20) = 20 x 10 = 200.
    expect(masks).toEqual([{ width: W, height: H, pixels: 200, concept: "Road" }]);
  });

  test("a failed fetch is the record's failure as it is: retried when it may pass, refused when it cannot", () => {
    const failed = (failure: ReturnType<typeof permanent>) =>
      parse(body, new Map([[LB_COMPOSITE, { ok: false, failure } as FetchedMask]]), attrs);
    expect(failed(retryable("mask-fetch-failed", "answered 503"))).toMatchObject({
      ok: false,
      failure: { kind: "retryable", code: "mask-fetch-failed" },
    });
    expect(failed(permanent("mask-forbidden", "answered 403"))).toMatchObject({
      ok: false,
      failure: { kind: "permanent", code: "mask-forbidden" },
    });
  });

  test("without a Labelbox key: refused naming it, or with unsupported: skip the masks left out and the rest sent", () => {
    const row = JSON.parse(body);
    const objects = row.projects.clx0pr0000street.labels[0].annotations.objects;
    objects.push({
      feature_id: "ftbox0000009",
      name: "Car",
      annotation_kind: "ImageBoundingBox",
      bounding_box: { top: 6, left: 8, height: 12, width: 16 },
    });
    const noKey = new Map([
      [LB_COMPOSITE, { ok: false, failure: permanent("mask-credentials-missing", "no key") } as FetchedMask],
    ]);
    const refused = parse(JSON.stringify(row), noKey, attrs);
    expect(refused).toMatchObject({ ok: false, failure: { code: "mask-credentials-missing" } });
    const skipping = parseRecord(JSON.stringify(row), {
      taskLink: "both",
      defaultApp: null,
      upstream: { projects: { [LABELBOX]: { taskId: "street-masks", unsupported: "skip" } } },
      attributes: attrs,
      fetchedMasks: noKey,
    });
    const sent = annotationsOf(skipping);
    expect(sent.map((a) => a.data.regions[0].data.concepts[0].id)).toEqual(["Car"]);
    expect(sent[0]?.annotation_info.skipped).toEqual([
      "Labelbox mask ftmask0000001 (no Labelbox key)",
      "Labelbox mask ftmask0000002 (no Labelbox key)",
    ]);
  });

  test("a mask file of another size than the image, an empty one, or not a PNG is refused by name", () => {
    const small = encode({ width: 8, height: 8, channels: 1, depth: 8, data: new Uint8Array(64).fill(255) });
    expect(parse(body, got([[LB_COMPOSITE, small]]), attrs)).toMatchObject({
      failure: { code: "mask-size-mismatch", reason: expect.stringContaining("8x8, the image 80x60") },
    });
    const empty = encode({ width: W, height: H, channels: 4, depth: 8, data: new Uint8Array(W * H * 4) });
    expect(parse(body, got([[LB_COMPOSITE, empty]]), attrs)).toMatchObject({
      failure: { code: "degenerate-region" },
    });
    expect(
      parse(body, got([[LB_COMPOSITE, new TextEncoder().encode("<html>login</html>")]]), attrs),
    ).toMatchObject({ failure: { code: "mask-not-png" } });
  });

  test("a mask URL off the project's origins is refused naming the origin only (a signed query stays out)", () => {
    const row = JSON.parse(body);
    const o = row.projects.clx0pr0000street.labels[0].annotations.objects[0];
    o.composite_mask.url = "https://evil.example.net/steal?X-Amz-Signature=secret";
    const parsed = parse(JSON.stringify(row), undefined, attrs);
    expect(parsed).toMatchObject({
      ok: false,
      failure: { kind: "permanent", code: "mask-origin-not-allowed" },
    });
    expect(!parsed.ok && parsed.failure.reason).toContain("https://evil.example.net");
    expect(!parsed.ok && parsed.failure.reason).not.toContain("secret");
  });
});

describe("Labelbox video masks", () => {
  test("one mask per frame the export holds (masks are not interpolated), each from that frame's composite file", () => {
    const row = JSON.parse(fixture("labelbox-v2-masks.json"));
    row.media_attributes = {
      width: W,
      height: H,
      frame_rate: 10,
      mime_type: "video/mp4",
      asset_type: "video",
    };
    const url = (frame: number) =>
      `https://api.labelbox.com/api/v1/tasks/clx0tk0000001/masks/clx0cmv000001/index/${frame}`;
    const road = (frame: number) => ({
      feature_id: "ftvroad01",
      name: "Road",
      annotation_kind: "VideoSegmentationMask",
      composite_mask: { url: url(frame), color_rgb: [142, 220, 196] },
    });
    row.projects.clx0pr0000street.labels[0].annotations = {
      // Frames 1, 2 and 4 hold the mask; the segment ends at 3, so frame 4 is not shown; on frame 2 the file paints
      // no pixel of the road's colour.
      frames: {
        "1": { objects: { ftvroad01: road(1) } },
        "2": { objects: { ftvroad01: road(2) } },
        "4": { objects: { ftvroad01: road(4) } },
      },
      segments: { ftvroad01: [[1, 3]] },
      classifications: [],
    };
    const body = JSON.stringify(row);
    const first = parse(body, undefined, { "labelbox-event": "LABEL_UPDATED" });
    expect(!first.ok && first.needs?.map((n) => n.url)).toEqual([url(1), url(2)]);
    const blank = encode({ width: W, height: H, channels: 4, depth: 8, data: new Uint8Array(W * H * 4) });
    const annotations = annotationsOf(
      parse(
        body,
        got([
          [url(1), labelboxComposite()],
          [url(2), blank],
        ]),
        { "labelbox-event": "LABEL_UPDATED" },
      ),
    );
    // Frame 1 only: number 0, time 0 ms; the road's 1,200 pixels; its track the feature id.
    expect(annotations).toHaveLength(1);
    const frame = annotations[0]?.data.frames[0];
    expect(frame.frame_info).toEqual({ number: 0, time: 0 });
    expect(frame.data.regions[0].track_id).toBe("ftvroad01");
    const png = Buffer.from(frame.data.regions[0].region_info.mask.image.base64, "base64");
    expect(maskFromPng(png, { by: "drawn" }, "t").bits.reduce((n, b) => n + b, 0)).toBe(1200);
  });
});

describe("Ground Truth semantic segmentation", () => {
  const body = fixture("ground-truth-segmentation.json");
  test("each class with pixels becomes its mask; BACKGROUND and an unused class are not sent", () => {
    const first = parse(body);
    expect(!first.ok && first.needs).toEqual([
      { url: GT_PNG, source: "sagemaker-ground-truth", allowed: ["s3://acme-gt-output/street-seg/"] },
    ]);
    const masks = annotationsOf(parse(body, got([[GT_PNG, groundTruthSegmentation()]]))).map(maskOf);
    // Palette index 1 (#2ca02c, road): [0, 0, 80, 30) = 2,400; index 2 (#1f77b4, sidewalk): [0, 30, 20, 60) = 600;
    // bicycle (#ff7f0e) paints nothing; BACKGROUND (#ffffff) is the rest, 4,800 - 3,000 = 1,800, never sent.
    expect(masks).toEqual([
      { width: W, height: H, pixels: 2400, concept: "road" },
      { width: W, height: H, pixels: 600, concept: "sidewalk" },
    ]);
  });
  test("a bucket the project does not list is refused by name before anything is fetched", () => {
    const line = JSON.parse(body);
    line["street-seg-ref"] = "s3://someone-elses-bucket/x.png";
    expect(parse(JSON.stringify(line))).toMatchObject({
      failure: {
        code: "mask-origin-not-allowed",
        reason: expect.stringContaining('projects["sagemaker-ground-truth:street-seg"].maskOrigins'),
      },
    });
  });
});

describe("Ground Truth video frame tracking (a SeqLabel.json in S3)", () => {
  const body = fixture("ground-truth-video-tracking.json");
  const SEQ =
    "s3://acme-gt-output/street-tracking/annotations/consolidated-annotation/output/0/SeqLabel.json";
  const seq = new TextEncoder().encode(fixture("ground-truth-SeqLabel.json"));
  const project = {
    taskId: "street-tracking",
    maskOrigins: ["s3://acme-gt-output/street-tracking/"],
    imageSize: { width: 640, height: 480 },
  };
  const parseWith = (p: Json, fetched?: ReadonlyMap<string, FetchedMask>) =>
    parseRecord(body, {
      taskLink: "both",
      defaultApp: null,
      upstream: { projects: { "sagemaker-ground-truth:street-tracking": p as { taskId: string } } },
      ...(fetched ? { fetchedMasks: fetched } : {}),
    });
  test("each labeled frame is its image's event; each object a box carrying its object-id as the track", () => {
    const first = parseWith(project);
    expect(!first.ok && first.needs).toEqual([
      { url: SEQ, source: "sagemaker-ground-truth", allowed: ["s3://acme-gt-output/street-tracking/"] },
    ]);
    const annotations = annotationsOf(parseWith(project, got([[SEQ, seq]])));
    // frame_0001.jpeg: the car; frame_0002.jpeg: the bus and the car, the car's track the same on both.
    expect(annotations.map((a) => [a.input_id, a.data.regions[0].data.concepts[0].id])).toEqual([
      ["frame_0001", "car"],
      ["frame_0002", "bus"],
      ["frame_0002", "car"],
    ]);
    const car = "480dc450-c0ca-11ea-961f-a9b1c5c97972";
    expect(annotations.filter((a) => a.data.regions[0].track_id === car)).toHaveLength(2);
    // The car on frame 0: left 315, top 178, 46 x 36 on 640 x 480 -> left 0.4921875, top 0.3708333,
    // right 361 / 640 = 0.5640625, bottom 214 / 480 = 0.4458333.
    const box = annotations[0]?.data.regions[0].region_info.bounding_box;
    expect(box.left_col).toBeCloseTo(0.4921875, 9);
    expect(box.top_row).toBeCloseTo(178 / 480, 9);
    expect(box.right_col).toBeCloseTo(0.5640625, 9);
    expect(box.bottom_row).toBeCloseTo(214 / 480, 9);
  });
  test("without the frame size, refused by name; a polyline refused or skipped; a bucket not listed refused", () => {
    const { imageSize: _, ...sizeless } = project;
    expect(parseWith(sizeless, got([[SEQ, seq]]))).toMatchObject({ failure: { code: "missing-image-size" } });
    const withLine = JSON.parse(fixture("ground-truth-SeqLabel.json"));
    withLine["tracking-annotations"][0].polylines = [
      {
        "class-id": "0",
        vertices: [
          { x: 1, y: 1 },
          { x: 9, y: 9 },
        ],
      },
    ];
    const lined = got([[SEQ, new TextEncoder().encode(JSON.stringify(withLine))]]);
    expect(parseWith(project, lined)).toMatchObject({ failure: { code: "unsupported-result-type" } });
    expect(annotationsOf(parseWith({ ...project, unsupported: "skip" }, lined))).toHaveLength(3);
    expect(parseWith({ ...project, maskOrigins: ["s3://elsewhere"] })).toMatchObject({
      failure: { code: "mask-origin-not-allowed" },
    });
    expect(parseWith(project, got([[SEQ, new TextEncoder().encode("{not json")]]))).toMatchObject({
      failure: { code: "invalid-upstream" },
    });
  });
});

describe("Scale segmentannotation", () => {
  const body = fixture("scale-segmentannotation.json");
  test("each label and each instance with pixels in indexedImage becomes its mask", () => {
    const first = parse(body);
    expect(!first.ok && first.needs).toEqual([
      { url: SCALE_PNG, source: "scale", allowed: ["https://scale-segmentation.example.com"] },
    ]);
    const annotations = annotationsOf(parse(body, got([[SCALE_PNG, scaleIndexed()]])));
    // Index 1 road [0, 0, 80, 20) = 1,600; 2 sidewalk [0, 20, 80, 30) = 800; person instances 3 [0, 40, 10, 50) = 100
    // and 4 [20, 40, 30, 45) = 50.
    expect(annotations.map(maskOf).map((m) => [m.concept, m.pixels])).toEqual([
      ["road", 1600],
      ["sidewalk", 800],
      ["person", 100],
      ["person", 50],
    ]);
  });
});

describe("PNG mask files", () => {
  test("the header is read first: a huge declared size is refused without inflating anything", () => {
    const png = new Uint8Array(labelboxInstance());
    // 100,000 x 100,000 in IHDR (its CRC is not even checked): 10^10 pixels, over 4096 x 4096 = 16,777,216.
    new DataView(png.buffer).setUint32(16, 100_000);
    new DataView(png.buffer).setUint32(20, 100_000);
    expect(() => pngHeader(png, "m")).toThrow(/100000x100000 mask has more than the 16777216 pixels/);
    expect(() => maskFromPng(png, { by: "drawn" }, "m")).toThrow(/100000x100000/);
    expect(() => pngHeader(new Uint8Array(10), "m")).toThrow(AdapterError);
  });
  test("palette, grayscale with alpha, 16-bit and packed 1-bit files are read by their own layout", () => {
    const bits = new Uint8Array(Math.ceil(W / 8) * H);
    bits[0] = 0b1011_0000; // x 0, 2, 3 of the first row
    const oneBit = encode({ width: W, height: H, channels: 1, depth: 1, data: bits });
    expect(maskFromPng(oneBit, { by: "drawn" }, "m").bits.reduce((n, b) => n + b, 0)).toBe(3);
    expect(maskFromPng(oneBit, { by: "index", index: 1 }, "m").bits.reduce((n, b) => n + b, 0)).toBe(3);
    const gray16 = encode({
      width: 2,
      height: 1,
      channels: 2,
      depth: 16,
      data: new Uint16Array([65535, 65535, 65535, 0]),
    });
    expect(Array.from(maskFromPng(gray16, { by: "drawn" }, "m").bits)).toEqual([1, 0]);
    expect(() => maskFromPng(oneBit, { by: "index", index: 4 }, "m")).toThrow(/cannot be in a 1-bit image/);
  });
  test("one file is decoded once for all its masks, and the masks read from it are bounded in pixels", () => {
    const file = scaleIndexed(); // 80 x 60 = 4,800 pixels: a bound of 10,000 pixels allows two masks
    expect(maskFromPng(file, { by: "index", index: 1 }, "m", 10_000).bits.reduce((n, b) => n + b, 0)).toBe(
      1600,
    );
    expect(maskFromPng(file, { by: "index", index: 2 }, "m", 10_000).bits.reduce((n, b) => n + b, 0)).toBe(
      800,
    );
    expect(() => maskFromPng(file, { by: "index", index: 3 }, "m", 10_000)).toThrow(
      /more than 2 masks from one 80x60 file/,
    );
  });

  test("maskRef: plain http only to this machine, no user info, prefixes end at a path segment", () => {
    const m = { taskId: "t", maskOrigins: ["http://127.0.0.1:9000", "s3://b/jobs"] };
    expect(maskRef("http://127.0.0.1:9000/x.png", "scale", m, "k", "w").url).toBe(
      "http://127.0.0.1:9000/x.png",
    );
    expect(() =>
      maskRef("http://10.0.0.1/x.png", "scale", { ...m, maskOrigins: ["http://10.0.0.1"] }, "k", "w"),
    ).toThrow(/https:\/\/ or s3:\/\//);
    expect(() => maskRef("https://u:p@api.labelbox.com/x", "labelbox", { taskId: "t" }, "k", "w")).toThrow(
      AdapterError,
    );
    expect(maskRef("s3://b/jobs/1.png", "sagemaker-ground-truth", m, "k", "w").url).toBe("s3://b/jobs/1.png");
    expect(() => maskRef("s3://b/jobs-other/1.png", "sagemaker-ground-truth", m, "k", "w")).toThrow(
      /maskOrigins/,
    );
    expect(() => maskRef("s3://b2/jobs/1.png", "sagemaker-ground-truth", m, "k", "w")).toThrow(/maskOrigins/);
    expect(() =>
      maskRef("https://api.labelbox.com.evil.net/x", "labelbox", { taskId: "t" }, "k", "w"),
    ).toThrow(/maskOrigins/);
  });
});

describe("as Clarifai holds them", () => {
  let root: protobuf.Root;
  beforeAll(async () => {
    root = await loadClarifaiProtos();
  });
  test.each([
    "labelbox-v2-masks.json",
    "scale-segmentannotation.json",
    "ground-truth-segmentation.json",
    "ground-truth-video-tracking.json",
    "ground-truth-ner.json",
  ])("%s: valid for the protos and the stand-in's rules", (fixture) => {
    const c = GOLDEN_CASES.find((g) => g.fixture === fixture);
    if (!c) throw new Error(fixture);
    const annotations = annotationsOf(
      parseRecord(readFileSync(`test/fixtures/upstream/${fixture}`, "utf8"), goldenOptions(c)),
    );
    expect(annotations.length).toBeGreaterThan(0);
    expect(checkMessage(root, "clarifai.api.PostAnnotationsRequest", { annotations })).toEqual([]);
    for (const a of annotations)
      expect(checkAnnotation(a, { inputExists: () => true, taskExists: () => true })).toBeUndefined();
  });
});

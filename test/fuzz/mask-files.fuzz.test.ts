import { readFileSync } from "node:fs";
import { describe, expect, test } from "@jest/globals";
import fc from "fast-check";
import { parseRecord } from "../../lambda/delivery/parse-record.js";
import "../../lambda/events/all-adapters.js";
import type { FetchedMask } from "../../lambda/events/contract/mask-files.js";
import { groundTruthSegmentation, labelboxComposite, scaleIndexed } from "../support/mask-files.js";

/**
 * Hostile files: whatever bytes a file host or a bucket returns for a mask or a Ground Truth SeqLabel.json (random
 * bytes, the real file with bytes flipped, cut short, or with a forged size in a PNG's header), each record ends
 * with annotations or one named refusal; nothing throws and nothing falls to `adapter-error`.
 */
const runs = Number(process.env.FUZZ_RUNS ?? 300);
const cases: { fixture: string; url: string; file: Uint8Array; attributes: Record<string, string> }[] = [
  {
    fixture: "labelbox-v2-masks.json",
    url: "https://api.labelbox.com/api/v1/tasks/clx0tk0000001/masks/clx0cm0000001/index/1",
    file: labelboxComposite(),
    attributes: { "labelbox-event": "LABEL_CREATED" },
  },
  {
    fixture: "ground-truth-segmentation.json",
    url: "s3://acme-gt-output/street-seg/annotations/consolidated-annotation/output/0_2026-11-22T09:12:44.png",
    file: groundTruthSegmentation(),
    attributes: {},
  },
  {
    fixture: "scale-segmentannotation.json",
    url: "https://scale-segmentation.example.com/results/6512a7c4e1b8f9001f3c2d77/combined-indexed.png",
    file: scaleIndexed(),
    attributes: {},
  },
  {
    fixture: "ground-truth-video-tracking.json",
    url: "s3://acme-gt-output/street-tracking/annotations/consolidated-annotation/output/0/SeqLabel.json",
    file: new Uint8Array(readFileSync("test/fixtures/upstream/ground-truth-SeqLabel.json")),
    attributes: {},
  },
];
const upstream = {
  projects: {
    "labelbox:clx0pr0000street": { taskId: "t" },
    "sagemaker-ground-truth:street-seg": { taskId: "t", maskOrigins: ["s3://acme-gt-output"] },
    "scale:street-seg": { taskId: "t", maskOrigins: ["https://scale-segmentation.example.com"] },
    "sagemaker-ground-truth:street-tracking": {
      taskId: "t",
      maskOrigins: ["s3://acme-gt-output"],
      imageSize: { width: 640, height: 480 },
    },
  },
};

function expectNamed(c: (typeof cases)[number], bytes: Uint8Array) {
  const parsed = parseRecord(readFileSync(`test/fixtures/upstream/${c.fixture}`, "utf8"), {
    taskLink: "both",
    defaultApp: null,
    upstream,
    attributes: c.attributes,
    fetchedMasks: new Map<string, FetchedMask>([[c.url, { ok: true, bytes }]]),
  });
  if (!parsed.ok) {
    expect(parsed.failure.code).not.toBe("adapter-error");
    expect(parsed.failure.code).toMatch(/^[a-z-]+$/);
  }
}

describe.each(cases)("mask files for $fixture", (c) => {
  test("random bytes, with and without a PNG's first bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.boolean(), (random, signed) => {
        const bytes = signed ? Uint8Array.from([...c.file.subarray(0, 33), ...random]) : random;
        expectNamed(c, bytes);
      }),
      { numRuns: runs },
    );
  });
  test("the real file with bytes flipped, cut short, or a forged size", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(c.file.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
        fc.nat(c.file.length),
        fc.option(
          fc.tuple(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 2 ** 32 - 1 })),
        ),
        (flips, cut, size) => {
          const bytes = Uint8Array.from(c.file);
          for (const [at, value] of flips) bytes[at] = value;
          if (size) {
            new DataView(bytes.buffer).setUint32(16, size[0]);
            new DataView(bytes.buffer).setUint32(20, size[1]);
          }
          expectNamed(c, bytes.subarray(0, Math.max(cut, 1)));
        },
      ),
      { numRuns: runs },
    );
  });
});

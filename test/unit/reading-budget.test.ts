import { describe, expect, test } from "@jest/globals";
import { encode as rleEncode } from "@thi.ng/rle-pack";
import { readBatch } from "../../lambda/delivery/read-batch.js";
import {
  admit,
  MASK_STEP_BYTES,
  readingBudgetBytes,
  recordCost,
} from "../../lambda/delivery/reading-budget.js";
import { chargeWork, OverTime, withReadMeter } from "../../lambda/events/read-meter.js";
import { fullResolutionMask } from "../support/heavy-records.js";
import { lsCreated, lsMapping } from "../support/label-studio.js";
import { sqsRecord } from "../support/record.js";

/**
 * A record's cost is weighed before it is read, against what the function's memory leaves (reading-budget.ts), and
 * its reading runs against the invocation's clock (read-meter.ts): each worked out here by hand.
 */
const MiB = 1024 * 1024;

describe("the reading budget", () => {
  test("what the runtime leaves of the function's memory, and never under a third of it", () => {
    expect(readingBudgetBytes(256)).toBe(144 * MiB);
    expect(readingBudgetBytes(1024)).toBe(912 * MiB);
    expect(readingBudgetBytes(128)).toBeCloseTo((128 / 3) * MiB, 0);
  });

  test("a record's cost: 6 x its body, one mask's encoding, its files' bytes and their largest decode", () => {
    expect(recordCost(1000)).toBe(6000 + MASK_STEP_BYTES);
    const file = fullResolutionMask(); // an 8-bit grey 4096 x 4096 file: one byte a pixel, the bitmap and its copy
    expect(recordCost(1000, [file, file])).toBe(
      6000 + MASK_STEP_BYTES + 2 * file.byteLength + 4096 * 4096 * 2.125 + 4.5 * MiB,
    );
  });

  test("refused when it cannot fit alone, waits when only its neighbours stand in the way", () => {
    const budget = readingBudgetBytes(256);
    expect(admit(100 * MiB, 0, budget, 256)).toBeUndefined();
    expect(admit(200 * MiB, 0, budget, 256)).toMatchObject({
      kind: "permanent",
      code: "record-over-memory",
      reason: expect.stringMatching(
        /needs about 200\.0 MB, more than the 144\.0 MB a 256 MB function has for it: raise the function's memorySize/,
      ),
    });
    expect(admit(100 * MiB, 60 * MiB, budget, 256)).toMatchObject({
      kind: "retryable",
      code: "record-waits-for-memory",
    });
  });
});

describe("the reading meter", () => {
  test("past its deadline, reading stops: retried when the record shared the time, refused when it had it all", () => {
    const past = { deadline: Date.now() - 1, startedAt: Date.now() - 5_000 };
    for (const alone of [false, true]) {
      let thrown: unknown;
      try {
        withReadMeter(
          { ...past, alone },
          (n: number) => {
            for (let i = 0; i < n; i++) chargeWork(1 << 18);
          },
          10,
          undefined,
        );
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(OverTime);
      expect((thrown as OverTime).failure).toMatchObject({
        kind: alone ? "permanent" : "retryable",
        code: "record-too-slow",
      });
    }
    // Outside a meter (tests, the CLI's dry run) nothing is charged.
    expect(() => chargeWork(1 << 30)).not.toThrow();
  });

  test("through readBatch: a small neighbour is read first and delivered; the heavy record is record-too-slow", async () => {
    const size = 4096;
    const rgba = new Uint8Array(size * size * 4);
    rgba.fill(255, 1000 * size * 4, 3000 * size * 4); // a band: each brush's rle is a few KB, its decode 16M pixels
    const rle = Array.from(rleEncode(rgba, rgba.length));
    const heavy = JSON.parse(lsCreated(7001));
    heavy.annotation.result = Array.from({ length: 30 }, (_, i) => ({
      id: `b${i}`,
      from_name: "tag",
      to_name: "image",
      type: "brushlabels",
      original_width: size,
      original_height: size,
      value: { format: "rle", rle, brushlabels: ["Car"] },
    }));
    const body = JSON.stringify(heavy);
    expect(body.length).toBeLessThan(1_048_576);
    const read = await readBatch(
      [sqsRecord(body, 0), sqsRecord(lsCreated(7002), 1)],
      { taskLink: "both", defaultApp: null, upstream: lsMapping, remainingMs: () => 200 },
      (t) => t,
    );
    expect(read[1]?.parsed.ok).toBe(true);
    expect(read[0]?.parsed).toMatchObject({ ok: false, failure: { code: "record-too-slow" } });
  });
});

describe("the reading budget, through readBatch", () => {
  const labelbox = {
    projects: { "labelbox:clx0pr0000street": { taskId: "t", maskOrigins: ["https://m.example.com"] } },
  };
  const file = fullResolutionMask();
  // Fetching is the edge's; here every file is handed over at once, as fetched.
  const fetchMasks = async (refs: readonly { url: string }[]) =>
    new Map(refs.map((r) => [r.url, { ok: true as const, bytes: file }]));

  test("a record that cannot fit even alone is refused by name, naming memorySize; its neighbour is read", async () => {
    const { labelboxMasks } = await import("../support/heavy-records.js");
    const body = labelboxMasks(10, (i) => `https://m.example.com/${i}.png`);
    const read = await readBatch(
      [sqsRecord(body, 0), sqsRecord(lsCreated(7003), 1)],
      {
        taskLink: "both",
        defaultApp: null,
        upstream: { ...lsMapping, projects: { ...lsMapping.projects, ...labelbox.projects } },
        fetchMasks,
        memoryMb: 128,
      },
      (t) => t,
    );
    // 128 MB leaves a third for reading (42.7 MB); ten 4096 x 4096 files weigh about 63 MB.
    expect(read[0]?.parsed).toMatchObject({
      ok: false,
      failure: {
        kind: "permanent",
        code: "record-over-memory",
        reason: expect.stringMatching(/raise the function's memorySize/),
      },
    });
    expect(read[1]?.parsed.ok).toBe(true);
    // At 256 MB (144 MB for reading) the same record is read.
    const roomy = await readBatch(
      [sqsRecord(body, 0)],
      { taskLink: "both", defaultApp: null, upstream: labelbox, fetchMasks, memoryMb: 256 },
      (t) => t,
    );
    expect(roomy[0]?.parsed.ok).toBe(true);
  });
});

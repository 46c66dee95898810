import { createHash } from "node:crypto";
import { expect, test } from "@jest/globals";
import fc from "fast-check";
import { derivedId, regionMemberId } from "../../lambda/events/annotation-id.js";

/** The ids as first defined (incremental SHA-256, each part then NUL): stored annotations carry them, so they never change. */
const reference = (parts: readonly string[]) => {
  const h = createHash("sha256");
  for (const part of parts) h.update(part).update("\u0000");
  return `cab-${h.digest("hex").slice(0, 32)}`;
};

test("derived ids are the same as ever, for any parts (stored annotations are found again by them)", () => {
  expect(derivedId("label-studio", "12", "3456")).toBe(reference(["label-studio", "12", "3456"]));
  fc.assert(
    fc.property(fc.array(fc.string({ unit: "grapheme" }), { maxLength: 5 }), (parts) => {
      expect(derivedId(...parts)).toBe(reference(parts));
    }),
  );
  fc.assert(
    fc.property(fc.string(), fc.string({ unit: "grapheme" }), (base, key) => {
      const short = createHash("sha256").update(key).digest("hex").slice(0, 12);
      expect(regionMemberId(base, key)).toBe(`${base}-r-${short}`);
    }),
  );
});

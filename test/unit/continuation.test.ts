import { describe, expect, test } from "@jest/globals";
import fc from "fast-check";
import {
  advance,
  type Cursor,
  decodeCursor,
  encodeCursor,
  opChunks,
  PATCH,
  POST,
  SKIP,
  scanPage,
  startCursor,
  sweepPage,
  targetOf,
} from "../../lambda/delivery/continuation.js";

const at = "2026-11-21T10:00:00.000Z";
const cursorArb = fc
  .record({
    phase: fc.constantFrom("scan" as const, "write" as const, "sweep" as const),
    states: fc.array(fc.constantFrom(POST, PATCH, SKIP), { maxLength: 3_000 }),
    runs: fc.boolean(),
    page: fc.integer({ min: 1, max: 500 }),
    next: fc.nat(500),
    done: fc.uniqueArray(fc.nat(600), { maxLength: 8 }),
    sweep: fc.boolean(),
    anchor: fc.option(fc.string({ maxLength: 80 }), { nil: undefined }),
    hops: fc.nat(10_000),
    sent: fc.option(fc.integer({ min: 1, max: 2 ** 45 }), { nil: undefined }),
  })
  .map(({ states, runs, anchor, sent, ...rest }): Cursor => {
    // Long runs (an event written from scratch) as well as alternating states.
    const list = runs ? states.flatMap((s) => Array(20).fill(s)) : states;
    return {
      ...rest,
      at,
      count: list.length,
      states: Uint8Array.from(list),
      ...(anchor !== undefined ? { anchor } : {}),
      ...(sent !== undefined ? { sent } : {}),
    };
  });

describe("the cursor a continuation carries", () => {
  test("reads back as it was written, whatever the states", () => {
    fc.assert(
      fc.property(cursorArb, (cursor) => {
        const text = encodeCursor(cursor);
        // Never more than about a third of a byte an annotation for the states, plus the fields.
        expect(text.length).toBeLessThan(cursor.count / 3 + 400);
        expect(decodeCursor(text)).toEqual(cursor);
      }),
      { numRuns: 300 },
    );
  });

  test("an event written from scratch costs a few bytes: 108,000 annotations to send", () => {
    const text = encodeCursor(startCursor(at, 108_000));
    expect(text.length).toBeLessThan(200);
    expect(decodeCursor(text)?.states.every((s) => s === POST)).toBe(true);
  });

  test("anything else is not a cursor (undefined, never a throw): a producer may set the attribute too", () => {
    const good = JSON.parse(encodeCursor(startCursor(at, 10)));
    const bad: unknown[] = [
      undefined,
      "",
      "null",
      "[]",
      "{",
      JSON.stringify({ ...good, v: 2 }),
      JSON.stringify({ ...good, count: -1 }),
      JSON.stringify({ ...good, count: 1e12 }),
      JSON.stringify({ ...good, phase: "write-all" }),
      JSON.stringify({ ...good, states: "09" }),
      JSON.stringify({ ...good, states: "0b" }), // 11 states for a count of 10
      JSON.stringify({ ...good, states: "3a" }),
      JSON.stringify({ ...good, states: "~AAAAAA" }), // 4 packed bytes for 10 states
      JSON.stringify({ ...good, page: 0 }),
      JSON.stringify({ ...good, done: [-1] }),
      JSON.stringify({ ...good, anchor: 7 }),
      JSON.stringify({ ...good, sent: "yesterday" }),
      "x".repeat(2_000_000),
    ];
    for (const text of bad) expect(decodeCursor(text as string | undefined)).toBeUndefined();
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (text) => {
        expect(() => decodeCursor(text)).not.toThrow();
      }),
    );
  });
});

describe("the write phase's chunks", () => {
  test("each annotation to send is in exactly one chunk, in order, of one kind, within count and bytes", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ state: fc.constantFrom(POST, PATCH, SKIP), bytes: fc.integer({ min: 1, max: 5_000 }) }),
          {
            maxLength: 2_000,
          },
        ),
        fc.integer({ min: 1, max: 128 }),
        (members, size) => {
          const states = Uint8Array.from(members.map((m) => m.state));
          const bytes = (i: number) => members[i]?.bytes ?? 0;
          const chunks = opChunks(bytes, states, size, 20_000);
          expect(chunks.flatMap((c) => c.indices)).toEqual(
            members.flatMap((m, i) => (m.state === SKIP ? [] : [i])),
          );
          for (const c of chunks) {
            expect(c.indices.length).toBeLessThanOrEqual(size);
            expect(c.indices.every((i) => (members[i]?.state === PATCH) === (c.kind === "patch"))).toBe(true);
            const total = c.indices.reduce((n, i) => n + bytes(i), 0);
            if (c.indices.length > 1) expect(total).toBeLessThanOrEqual(20_000);
          }
          // The same sizes and states give the same chunks: a chunk's number means the same in every invocation.
          expect(opChunks(bytes, states, size, 20_000)).toEqual(chunks);
        },
      ),
    );
  });

  test("advance: the first chunk not done, and the done ones after it", () => {
    expect(advance(0, new Set([0, 1, 3, 5]), 10)).toEqual({ next: 2, done: [3, 5] });
    expect(advance(2, new Set([3]), 10)).toEqual({ next: 2, done: [3] });
    expect(advance(8, new Set([8, 9]), 10)).toEqual({ next: 10, done: [] });
  });
});

describe("what a page of ListAnnotations says", () => {
  const ids = ["b-r-1", "b-r-2", "b-r-3"];
  const target = targetOf("b", "clip", at, { count: 3, id: (i) => ids[i] as string });
  const held = (id: string, version: string, input = "clip") => ({
    id,
    input_id: input,
    annotation_info: { occurred_at: version },
    data: { metadata: { bridge_occurred_at: version } },
  });
  const older = "2026-11-21T09:00:00.000Z";
  const newer = "2026-11-21T11:00:00.000Z";

  test("scan: held at this version is skipped, at another overwritten, not wanted means a sweep", () => {
    const states = new Uint8Array(3);
    const seen = scanPage(target, states, [
      held("b-r-1", at),
      held("b-r-2", older),
      held("b-r-9", older),
      held("other-r-1", newer),
      held("b-r-3", newer, "another-input"),
    ]);
    expect(seen).toEqual({ newer: false, sweep: true });
    expect([...states]).toEqual([SKIP, PATCH, POST]);
    expect(scanPage(target, new Uint8Array(3), [held("b-r-3", newer)]).newer).toBe(true);
    expect(scanPage(target, new Uint8Array(3), [held("b", at)]).sweep).toBe(true);
  });

  test("sweep: what the change drops is deleted, what a stale writer left at another version is patched", () => {
    expect(sweepPage(target, [held("b-r-1", at), held("b-r-2", older), held("b-r-7", older)])).toEqual({
      newer: false,
      remove: [{ id: "b-r-7", inputId: "clip" }],
      repatch: [1],
    });
    expect(sweepPage(target, [held("b-r-1", newer)]).newer).toBe(true);
    // A delete's sweep (nothing wanted, members found by task on any input) removes every member.
    const all = targetOf("b", undefined, at, { count: 0, id: () => "" });
    expect(sweepPage(all, [held("b-r-1", newer, "x"), held("c-r-1", at)]).remove).toEqual([
      { id: "b-r-1", inputId: "x" },
    ]);
  });
});

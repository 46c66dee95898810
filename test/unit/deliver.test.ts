import { describe, expect, test } from "@jest/globals";
import type { HttpResult } from "../../lambda/clarifai/classify.js";
import type { ClarifaiClient } from "../../lambda/clarifai/client.js";
import type { AppRef, ClarifaiAnnotation } from "../../lambda/clarifai/to-annotation.js";
import { deliverAll, requestChunks } from "../../lambda/delivery/deliver.js";
import type { DeliveryItem } from "../../lambda/delivery/delivery-item.js";

/** A scripted Clarifai for the engine's logic; the real HTTP path is covered by the integration tests. */
function fakeClarifai(
  answer: (annotations: readonly ClarifaiAnnotation[]) => HttpResult,
  existing: Set<string> = new Set(),
) {
  const posts: { app: AppRef | null; ids: string[] }[] = [];
  const lookups: string[][] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const client: ClarifaiClient = {
    async postAnnotations(app, annotations) {
      posts.push({ app, ids: annotations.map((a) => a.id) });
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight -= 1;
      return answer(annotations);
    },
    patchAnnotations: async () => {
      throw new Error("creates never patch");
    },
    deleteAnnotations: async () => {
      throw new Error("creates never delete");
    },
    getTask: async () => {
      throw new Error("creates never read tasks");
    },
    async listAnnotations(_app, { ids = [] }) {
      lookups.push([...ids]);
      return {
        kind: "response",
        httpStatus: 200,
        body: {
          status: { code: 10000 },
          annotations: ids.filter((id) => existing.has(id)).map((id) => ({ id })),
        },
      };
    },
  };
  return { client, posts, lookups, maxInFlight: () => maxInFlight };
}

const ok = (annotations: readonly ClarifaiAnnotation[]): HttpResult => ({
  kind: "response",
  httpStatus: 200,
  body: {
    status: { code: 10000 },
    annotations: annotations.map((a) => ({ id: a.id, status: { code: 24150 } })),
  },
});

const item = (
  n: number,
  app: AppRef | null = { userId: "u", appId: "a" },
  redelivered = false,
): DeliveryItem => ({
  key: `m${n}#0`,
  redelivered,
  delivery: {
    annotation: { id: `ann-${n}`, input_id: `in-${n}`, data: { concepts: [{ id: "c", value: 1 }] } },
    app,
    taskId: "t",
    inputId: `in-${n}`,
  },
});

const options = { maxAnnotationsPerRequest: 128, maxConcurrentRequests: 2, requestTimeoutMs: () => 1_000 };

describe("deliverAll", () => {
  test("300 annotations for one app go out in ceil(300/128) = 3 requests, at most 2 at a time", async () => {
    const fake = fakeClarifai(ok);
    const outcomes = await deliverAll(
      Array.from({ length: 300 }, (_, i) => item(i)),
      fake.client,
      options,
    );
    expect(fake.posts.map((p) => p.ids.length)).toEqual([128, 128, 44]);
    expect(fake.maxInFlight()).toBe(2);
    expect([...outcomes.values()].every((o) => o.kind === "delivered")).toBe(true);
    expect(outcomes.size).toBe(300);
  });

  test("annotations for different apps never share a request", async () => {
    const fake = fakeClarifai(ok);
    await deliverAll(
      [item(1), item(2, { userId: "u", appId: "b" }), item(3), item(4, null)],
      fake.client,
      options,
    );
    expect(fake.posts.map((p) => [p.app?.appId ?? "(key's app)", p.ids])).toEqual(
      expect.arrayContaining([
        ["a", ["ann-1", "ann-3"]],
        ["b", ["ann-2"]],
        ["(key's app)", ["ann-4"]],
      ]),
    );
    expect(fake.posts).toHaveLength(3);
  });

  test("a request refused as a whole is halved until the bad annotation stands alone", async () => {
    const fake = fakeClarifai((annotations) =>
      annotations.some((a) => a.id === "ann-6")
        ? { kind: "response", httpStatus: 400, body: { status: { code: 11100 } } }
        : ok(annotations),
    );
    const outcomes = await deliverAll(
      Array.from({ length: 8 }, (_, i) => item(i)),
      fake.client,
      options,
    );
    expect(outcomes.get("m6#0")).toMatchObject({ kind: "permanent", code: "clarifai-invalid-request" });
    expect([...outcomes].filter(([, o]) => o.kind === "delivered")).toHaveLength(7);
    // 8 -> 4+4 -> 2+2 -> 1+1: log2(8) levels on the bad side only.
    expect(fake.posts.map((p) => p.ids.length)).toEqual([8, 4, 4, 2, 2, 1, 1]);
  });

  test("one annotation in two records of a batch is sent once and both records share the outcome", async () => {
    const fake = fakeClarifai(ok);
    const twin = { ...item(1), key: "m9#0" };
    const outcomes = await deliverAll([item(1), twin], fake.client, options);
    expect(fake.posts).toEqual([{ app: { userId: "u", appId: "a" }, ids: ["ann-1"] }]);
    expect(outcomes.get("m1#0")).toEqual(outcomes.get("m9#0"));
  });

  test("a redelivered record is looked up before it is posted: what exists is not posted again", async () => {
    const failed = (annotations: readonly ClarifaiAnnotation[]): HttpResult => ({
      kind: "response",
      httpStatus: 400,
      body: {
        status: { code: 10020 },
        annotations: annotations.map((a) => ({ id: a.id, status: { code: 24152 } })),
      },
    });
    const fake = fakeClarifai(failed, new Set(["ann-1"]));
    const outcomes = await deliverAll(
      [item(1, undefined, true), item(2, undefined, true), item(3, undefined, false)],
      fake.client,
      options,
    );
    expect(outcomes.get("m1#0")).toEqual({ kind: "delivered" });
    expect(outcomes.get("m2#0")).toMatchObject({ kind: "retryable", code: "clarifai-annotation-failed" });
    expect(outcomes.get("m3#0")).toMatchObject({ kind: "retryable" }); // first receive: no lookup needed
    // One lookup for both redelivered records, before the POST; ann-2, known missing, is not looked up again.
    expect(fake.lookups).toEqual([["ann-1", "ann-2"]]);
    expect(fake.posts.map((p) => p.ids)).toEqual([["ann-2", "ann-3"]]);
  });

  test("a whole batch that landed on an earlier receive costs one lookup, not a halving cascade of refusals", async () => {
    // Clarifai refusing the whole request for one duplicate id (the stand-in's whole-request profile).
    const landed = new Set(Array.from({ length: 16 }, (_, i) => `ann-${i}`));
    const fake = fakeClarifai(
      (annotations) =>
        annotations.some((a) => landed.has(a.id))
          ? { kind: "response", httpStatus: 400, body: { status: { code: 24155 } } }
          : ok(annotations),
      landed,
    );
    const outcomes = await deliverAll(
      Array.from({ length: 20 }, (_, i) => item(i, undefined, true)),
      fake.client,
      options,
    );
    expect([...outcomes.values()].every((o) => o.kind === "delivered")).toBe(true);
    expect(fake.lookups).toHaveLength(1);
    expect(fake.posts.map((p) => p.ids)).toEqual([["ann-16", "ann-17", "ann-18", "ann-19"]]);
  });

  test("no request is started without enough Lambda time left", async () => {
    const fake = fakeClarifai(ok);
    const outcomes = await deliverAll([item(1)], fake.client, { ...options, requestTimeoutMs: () => 100 });
    expect(fake.posts).toHaveLength(0);
    expect(outcomes.get("m1#0")).toMatchObject({ kind: "retryable", code: "lambda-time-exhausted" });
  });
});

test("on a record's last receive, even a throttled create is checked with a GET before it can be dead-lettered", async () => {
  const throttled = (): HttpResult => ({
    kind: "response",
    httpStatus: 429,
    body: { status: { code: 11005 } },
  });
  const fake = fakeClarifai(throttled, new Set(["ann-1"]));
  const last = { ...item(1, undefined, true), finalAttempt: true };
  const notLast = { ...item(2, undefined, true) };
  const outcomes = await deliverAll([last, notLast], fake.client, options);
  expect(outcomes.get("m1#0")).toEqual({ kind: "delivered" });
  expect(outcomes.get("m2#0")).toMatchObject({ kind: "retryable", code: "clarifai-throttled" });
});

test("on a record's last receive a failed lookup is asked again (up to 3 times); otherwise once", async () => {
  const lookups: string[][] = [];
  let failuresLeft = 2;
  const client: ClarifaiClient = {
    postAnnotations: async () => ({
      kind: "response",
      httpStatus: 503,
      body: { status: { code: 10020 } },
    }),
    patchAnnotations: async () => {
      throw new Error("creates never patch");
    },
    deleteAnnotations: async () => {
      throw new Error("creates never delete");
    },
    getTask: async () => ({ kind: "transport", timedOut: false, message: "not used here" }),
    listAnnotations: async (_app, { ids = [] }) => {
      lookups.push([...ids]);
      if (failuresLeft-- > 0) return { kind: "response", httpStatus: 503, body: "Service Unavailable" };
      return {
        kind: "response",
        httpStatus: 200,
        body: { status: { code: 10000 }, annotations: ids.map((id) => ({ id })) },
      };
    },
  };
  const last = { ...item(1, undefined, true), finalAttempt: true };
  expect((await deliverAll([last], client, options)).get("m1#0")).toEqual({ kind: "delivered" });
  expect(lookups).toHaveLength(3);

  // Not the last receive: each lookup is asked once. The one before the POST fails, so the one after it decides.
  lookups.length = 0;
  failuresLeft = 1;
  expect((await deliverAll([item(2, undefined, true)], client, options)).get("m2#0")).toEqual({
    kind: "delivered",
  });
  expect(lookups).toHaveLength(2);
  // Both fail: the record is simply retried.
  lookups.length = 0;
  failuresLeft = 2;
  const outcome = (await deliverAll([item(3, undefined, true)], client, options)).get("m3#0");
  expect(outcome).toMatchObject({ kind: "retryable" });
  expect(lookups).toHaveLength(2);
});

describe("request sizing", () => {
  test("requests hold at most 128 annotations and at most 8 MiB of JSON; one larger annotation goes alone", () => {
    const annotation = (id: string, bytes: number) => ({
      id,
      input_id: "in",
      data: { concepts: [{ id: "c", value: 1 }] },
      annotation_info: { blob: "x".repeat(bytes) },
    });
    const big = Array.from({ length: 20 }, (_, i) => annotation(`b${i}`, 1_000_000));
    const sizes = requestChunks(big, 128).map((c) => c.length);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(20);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(8);
    const small = Array.from({ length: 300 }, (_, i) => annotation(`s${i}`, 10));
    expect(requestChunks(small, 128).map((c) => c.length)).toEqual([128, 128, 44]);
    expect(requestChunks([annotation("huge", 9_000_000)], 128).map((c) => c.length)).toEqual([1]);
  });
});

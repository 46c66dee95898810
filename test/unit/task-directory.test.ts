import { expect, test } from "@jest/globals";
import type { HttpResult } from "../../lambda/clarifai/classify.js";
import { annotationBytes, type ClarifaiAnnotation } from "../../lambda/clarifai/to-annotation.js";
import { createTaskDirectory, resolveTasks, withStatus } from "../../lambda/delivery/tasks.js";

const found = (review = "NONE", workers: string[] = []): HttpResult => ({
  kind: "response",
  httpStatus: 200,
  body: {
    status: { code: 10000 },
    task: {
      id: "t",
      review: { strategy: review },
      worker: { workers: workers.map((id) => ({ user: { id } })) },
    },
  },
});
const missing: HttpResult = { kind: "response", httpStatus: 404, body: { status: { code: 54102 } } };
const down: HttpResult = { kind: "response", httpStatus: 503, body: "Service Unavailable" };

test("one fetch per task per expiry, shared by concurrent lookups; a new fetch after it expires", async () => {
  let clock = 0;
  const directory = createTaskDirectory({ ttlMs: 300_000, now: () => clock });
  let fetches = 0;
  const fetch = async () => {
    fetches += 1;
    await new Promise((r) => setTimeout(r, 5));
    return found();
  };
  const all = await Promise.all(Array.from({ length: 128 }, () => directory.lookup(null, "t", fetch)));
  expect(fetches).toBe(1);
  expect(all.filter((r) => r.fetched)).toHaveLength(1);
  clock = 299_999;
  await directory.lookup(null, "t", fetch);
  expect(fetches).toBe(1);
  clock = 300_001;
  await directory.lookup(null, "t", fetch);
  expect(fetches).toBe(2);
  // Another app is another task.
  await directory.lookup({ userId: "u", appId: "other" }, "t", fetch);
  expect(fetches).toBe(3);
});

test("a missing task is remembered for at most 60 s; a failed read is not remembered at all", async () => {
  let clock = 0;
  const directory = createTaskDirectory({ ttlMs: 3_600_000, now: () => clock });
  let fetches = 0;
  let answer: HttpResult = missing;
  const fetch = async () => {
    fetches += 1;
    return answer;
  };
  expect((await directory.lookup(null, "t", fetch)).lookup.kind).toBe("missing");
  clock = 59_000;
  expect((await directory.lookup(null, "t", fetch)).lookup.kind).toBe("missing");
  expect(fetches).toBe(1);
  clock = 61_000;
  answer = down;
  expect((await directory.lookup(null, "t", fetch)).lookup.kind).toBe("failed");
  expect((await directory.lookup(null, "t", fetch)).lookup.kind).toBe("failed");
  expect(fetches).toBe(3);
  answer = found();
  expect((await directory.lookup(null, "t", fetch)).lookup.kind).toBe("found");
  expect(fetches).toBe(4);
  // A fetch that throws is a failed read, never an escaped error.
  const thrown = await directory.lookup(null, "u", async () => {
    throw new Error("boom");
  });
  expect(thrown.lookup).toMatchObject({ kind: "failed", failure: { kind: "retryable" } });
});

test("the cache is bounded: the least recently read task goes first", async () => {
  const directory = createTaskDirectory({ ttlMs: 60_000, maxEntries: 10 });
  for (let i = 0; i < 50; i++) await directory.lookup(null, `t${i}`, async () => found());
  expect(directory.size()).toBe(10);
});

const annotation = (id: string, worker?: string): ClarifaiAnnotation => ({
  id,
  input_id: "in-1",
  task_id: "t",
  data: { concepts: [{ id: "tree", value: 1 }] },
  ...(worker ? { worker: { user: { id: worker } } } : {}),
});
const item = (key: string, a: ClarifaiAnnotation, statusPolicy?: "from-task" | "success") => ({
  key,
  redelivered: false,
  delivery: {
    annotation: a,
    app: null,
    taskId: a.task_id as string,
    inputId: a.input_id,
    ...(statusPolicy ? { statusPolicy } : {}),
  },
});

test("resolveTasks: statuses from the review, unknown tasks refused, non-workers counted, unreadable tasks fall back", async () => {
  const answers: Record<string, HttpResult> = {
    t: found("MANUAL", ["ana"]),
  };
  const notWorkers: string[] = [];
  const fallbacks: (string | undefined)[] = [];
  const options = {
    enabled: true,
    directory: createTaskDirectory({ ttlMs: 0 }),
    fetchTask: async () => answers.t,
    maxConcurrentRequests: 2,
    onNotTaskWorker: ({ userId }: { userId: string }) => notWorkers.push(userId),
    onStatusFallback: ({ used }: { used: string | undefined }) => fallbacks.push(used),
  };
  const result = await resolveTasks(
    [
      item("a", annotation("a", "ana")),
      item("b", annotation("b", "bo")),
      item("c", annotation("c"), "success"),
    ],
    [],
    options,
  );
  expect(result.items.map((i) => i.delivery.annotation.status?.code)).toEqual([
    "ANNOTATION_AWAITING_REVIEW",
    "ANNOTATION_AWAITING_REVIEW",
    "ANNOTATION_SUCCESS",
  ]);
  expect(notWorkers).toEqual(["bo"]);

  answers.t = missing;
  const refused = await resolveTasks([item("a", annotation("a"))], [], options);
  expect(refused.items).toEqual([]);
  expect(refused.outcomes.get("a")).toMatchObject({ kind: "permanent", code: "unknown-task" });
  expect((refused.outcomes.get("a") as { reason: string }).reason).toContain(
    `task "t" does not exist in the key's app`,
  );

  answers.t = { kind: "response", httpStatus: 403, body: { status: { code: 54103 } } };
  const unreadable = await resolveTasks(
    [item("a", annotation("a")), item("c", annotation("c"), "success")],
    [],
    options,
  );
  expect(unreadable.items.map((i) => i.delivery.annotation.status?.code)).toEqual([
    undefined,
    "ANNOTATION_SUCCESS",
  ]);
  expect(fallbacks).toEqual([undefined]);

  answers.t = down;
  const failed = await resolveTasks([item("a", annotation("a"))], [], options);
  expect(failed.outcomes.get("a")).toMatchObject({ kind: "retryable" });

  // Off: no GetTask; fixed statuses still apply, from-task sends none.
  let fetched = 0;
  const off = await resolveTasks([item("a", annotation("a")), item("c", annotation("c"), "success")], [], {
    ...options,
    enabled: false,
    fetchTask: async () => {
      fetched += 1;
      return answers.t;
    },
  });
  expect(fetched).toBe(0);
  expect(off.items.map((i) => i.delivery.annotation.status?.code)).toEqual([undefined, "ANNOTATION_SUCCESS"]);
});

test("withStatus knows the new size without serialising again, and it is exact", () => {
  const a = annotation("a", "ana");
  annotationBytes(a);
  for (const code of ["ANNOTATION_SUCCESS", "ANNOTATION_AWAITING_CONSENSUS_REVIEW"] as const) {
    const once = withStatus(a, code);
    const twice = withStatus(once, "ANNOTATION_PENDING");
    expect(annotationBytes(once)).toBe(Buffer.byteLength(JSON.stringify(once)));
    expect(annotationBytes(twice)).toBe(Buffer.byteLength(JSON.stringify(twice)));
  }
});

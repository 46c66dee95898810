import { describe, expect, test } from "@jest/globals";
import type { HttpResult } from "../../lambda/clarifai/classify.js";
import type { ClarifaiClient, ListQuery } from "../../lambda/clarifai/client.js";
import type { Change, ClarifaiAnnotation } from "../../lambda/clarifai/to-annotation.js";
import { applyChanges, type ChangeItem } from "../../lambda/delivery/apply-changes.js";

/** A scripted Clarifai for the change engine's failure paths; the happy paths run over HTTP in test/integration. */
function scripted(options: {
  held?: { id: string; input_id: string; annotation_info?: Record<string, unknown> }[];
  list?: (query: ListQuery) => HttpResult | undefined;
  patch?: (annotations: readonly ClarifaiAnnotation[]) => HttpResult;
  remove?: () => HttpResult;
}) {
  const calls: string[] = [];
  const held = options.held ?? [];
  const items = (annotations: readonly ClarifaiAnnotation[], code: number): HttpResult => ({
    kind: "response",
    httpStatus: 200,
    body: { status: { code: 10000 }, annotations: annotations.map((a) => ({ id: a.id, status: { code } })) },
  });
  const client: ClarifaiClient = {
    postAnnotations: async (_app, annotations) => {
      calls.push(`POST ${annotations.map((a) => a.id).join(",")}`);
      return items(annotations, 24150);
    },
    patchAnnotations: async (_app, annotations) => {
      calls.push(`PATCH ${annotations.map((a) => a.id).join(",")}`);
      return options.patch?.(annotations) ?? items(annotations, 24250);
    },
    deleteAnnotations: async (_app, ids) => {
      calls.push(`DELETE ${ids.join(",")}`);
      return options.remove?.() ?? { kind: "response", httpStatus: 200, body: { status: { code: 10000 } } };
    },
    getTask: async () => ({ kind: "transport", timedOut: false, message: "not used here" }),
    listAnnotations: async (_app, query) => {
      calls.push(`GET page ${query.page ?? 1}${query.taskId ? ` task ${query.taskId}` : ""}`);
      const scriptedAnswer = options.list?.(query);
      if (scriptedAnswer) return scriptedAnswer;
      const size = query.perPage ?? 128;
      const page = held.slice(((query.page ?? 1) - 1) * size, (query.page ?? 1) * size);
      return { kind: "response", httpStatus: 200, body: { status: { code: 10000 }, annotations: page } };
    },
  };
  return { client, calls };
}

const deliverOptions = {
  maxAnnotationsPerRequest: 128,
  maxConcurrentRequests: 2,
  requestTimeoutMs: () => 5_000,
};
const member = (id: string): ClarifaiAnnotation => ({
  id,
  input_id: "in-1",
  data: { concepts: [{ id: "c", value: 1 }] },
});
const change = (
  kind: "replace" | "delete",
  occurredAt: string,
  annotations: ClarifaiAnnotation[] = [],
): Change =>
  kind === "replace"
    ? {
        kind,
        app: null,
        taskId: "t",
        baseId: "cab-1",
        eventId: `e-${occurredAt}`,
        occurredAt,
        inputId: "in-1",
        annotations,
      }
    : { kind, app: null, taskId: "t", baseId: "cab-1", eventId: `e-${occurredAt}`, occurredAt };
const item = (key: string, c: Change): ChangeItem => ({ key, change: c });

describe("applyChanges: failure paths", () => {
  test("a throttled lookup retries the change and writes nothing", async () => {
    const { client, calls } = scripted({
      list: () => ({
        kind: "response",
        httpStatus: 429,
        body: { status: { code: 11005, description: "Making too many requests" } },
        retryAfterSeconds: 3,
      }),
    });
    const outcomes = await applyChanges(
      [item("m1#c0", change("replace", "2026-11-20T10:00:00Z", [member("cab-1")]))],
      client,
      deliverOptions,
    );
    expect(outcomes.get("m1#c0")).toMatchObject({
      kind: "retryable",
      code: "clarifai-throttled",
      retryAfterSeconds: 3,
    });
    expect(calls).toEqual(["GET page 1"]);
  });

  test("a delete without an input pages through the task's annotations until a short page", async () => {
    const others = Array.from({ length: 500 }, (_, i) => ({ id: `other-${i}`, input_id: `in-${i}` }));
    const { client, calls } = scripted({ held: [...others, { id: "cab-1-r-abc", input_id: "in-7" }] });
    const outcomes = await applyChanges(
      [item("m1#c0", change("delete", "2026-11-20T10:00:00Z"))],
      client,
      deliverOptions,
    );
    expect(outcomes.get("m1#c0")).toEqual({ kind: "delivered" });
    expect(calls).toEqual(["GET page 1 task t", "GET page 2 task t", "DELETE cab-1-r-abc"]);
  });

  test("a failed DELETE retries the change, and an older change to the same annotation in the batch shares that outcome", async () => {
    const { client, calls } = scripted({
      held: [{ id: "cab-1", input_id: "in-1" }],
      remove: () => ({ kind: "response", httpStatus: 503, body: "Service Unavailable" }),
    });
    const outcomes = await applyChanges(
      [
        item("m1#c0", change("replace", "2026-11-20T10:00:00Z", [member("cab-1")])),
        item("m2#c0", change("replace", "2026-11-20T11:00:00Z", [])),
      ],
      client,
      deliverOptions,
    );
    expect(calls).toEqual(["GET page 1", "DELETE cab-1"]); // only the newer change is applied
    expect(outcomes.get("m2#c0")).toMatchObject({ kind: "retryable", code: "clarifai-server-error" });
    expect(outcomes.get("m1#c0")).toEqual(outcomes.get("m2#c0"));
  });

  test("a PATCH that Clarifai refuses per annotation as invalid dead-letters the change", async () => {
    const { client } = scripted({
      held: [{ id: "cab-1", input_id: "in-1" }],
      patch: (annotations) => ({
        kind: "response",
        httpStatus: 400,
        body: {
          status: { code: 10020 },
          annotations: annotations.map((a) => ({
            id: a.id,
            status: { code: 24155, description: "invalid" },
          })),
        },
      }),
    });
    const outcomes = await applyChanges(
      [item("m1#c0", change("replace", "2026-11-20T10:00:00Z", [member("cab-1")]))],
      client,
      deliverOptions,
    );
    expect(outcomes.get("m1#c0")).toMatchObject({ kind: "permanent", code: "clarifai-invalid-argument" });
  });
});

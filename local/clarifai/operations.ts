// Over 300 lines: each Clarifai endpoint the stand-in answers, as Clarifai does; one table of operations reads best whole.
import { randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";
import type protobuf from "protobufjs";
import type { Behaviour } from "./profiles.js";
import { checkMessage } from "./proto-contract.js";
import { checkAnnotation, type Rules } from "./rules.js";
import type { Faults, PendingRecord, StoredAnnotation } from "./types.js";

export type { PendingRecord } from "./types.js";

export interface OperationsContext {
  readonly root: protobuf.Root;
  readonly codeNames: Record<number, string>;
  readonly faults: Faults;
  /** The answers to Clarifai's unconfirmed behaviours (profiles.ts); read at each request, so it can change. */
  readonly behaviour: Behaviour;
  readonly maxPerRequest: number;
  readonly inputExists: (inputId: string) => boolean;
  readonly taskExists: (taskId: string) => boolean;
  /** Checks the stand-in may relax (rules.ts); read at each request, so it can change. */
  readonly rules: Rules;
  /** A task's review strategy, for the state a plain POST gets under the `from-task` profile switch. */
  readonly reviewOf: (taskId: string) => "NONE" | "MANUAL" | "CONSENSUS";
  status(code: number, description: string, details?: string): { code: number | string };
  send(
    res: ServerResponse | undefined,
    httpStatus: number,
    body: unknown,
    headers: Record<string, string>,
    record: PendingRecord,
  ): void;
  refuse(
    res: ServerResponse | undefined,
    httpStatus: number,
    code: number,
    description: string,
    details: string,
    record: PendingRecord,
  ): void;
}

/** Item codes that refuse an annotation (as opposed to a transient failure): a whole-request profile refuses all. */
const REFUSALS: ReadonlySet<number> = new Set([24155, 24156, 40010, 30102, 30104, 54102, 24252]);
/** Item codes of a stored annotation: a result or a state. */
const SUCCESSES: ReadonlySet<number> = new Set([24150, 24151, 24157, 24158, 24159, 24250, 24251]);

/** Who the request's key is: the user Clarifai credits, and whether it may name another user as the worker. */
export interface KeyUser {
  readonly user: string;
  readonly mayPostAs: (userId: string) => boolean;
}

/** The state each review strategy leaves new work in, under Clarifai's own flow. */
const STATE_BY_REVIEW = { NONE: 24150, MANUAL: 24157, CONSENSUS: 24159 } as const;
const STATE_DESCRIPTIONS: Readonly<Record<number, string>> = {
  24150: "Annotation success",
  24151: "Annotation pending",
  24157: "Annotation awaiting review",
  24158: "Annotation review denied",
  24159: "Annotation awaiting consensus review",
};

/**
 * The stand-in's annotation operations (PostAnnotations, PatchAnnotations, DeleteAnnotations, ListAnnotations) on
 * one app's store, answering through the plumbing the server hands over (`send`, `refuse`, `status`).
 */
export function createOperations(ctx: OperationsContext) {
  const {
    root,
    codeNames,
    faults,
    behaviour,
    maxPerRequest,
    inputExists,
    taskExists,
    rules,
    reviewOf,
    status,
    send,
    refuse,
  } = ctx;

  /**
   * The checks PostAnnotations and PatchAnnotations share: the body against the request's proto type
   * (deprecated fields taken), 1 to 128 annotations. Returns the annotations, or undefined once it has refused.
   */
  function checkedList(
    res: ServerResponse | undefined,
    type: string,
    body: Record<string, unknown>,
    record: PendingRecord,
  ): Record<string, unknown>[] | undefined {
    const problems = checkMessage(root, type, body);
    const list = Array.isArray(body.annotations) ? (body.annotations as Record<string, unknown>[]) : [];
    record.annotations = list.length;
    if (problems.length > 0) {
      send(
        res,
        400,
        { status: status(11100, "Bad request format", problems.slice(0, 5).join("; ")) },
        {},
        record,
      );
      return undefined;
    }
    // Deprecated fields (user_id, trusted, ...) are taken: the proto only marks them, and Clarifai's own doc
    // examples still send them. The bridge sends none (its tests check the bodies it sends).
    if (list.length < 1 || list.length > maxPerRequest) {
      refuse(
        res,
        400,
        11100,
        "Bad request format",
        `between 1 and ${maxPerRequest} annotations per request, got ${list.length}`,
        record,
      );
      return undefined;
    }
    return list;
  }

  /**
   * Per-annotation results as one answer: SUCCESS (200), FAILURE (400) or MIXED_STATUS (207); or, when the
   * profile refuses whole requests, the first refused annotation's status for the whole request (400, no items).
   */
  function answerItems(
    res: ServerResponse | undefined,
    results: { status: { code: number | string } }[],
    record: PendingRecord,
  ) {
    const refused = results.find((r) => REFUSALS.has(codeOf(r.status.code)));
    if (refused && behaviour.refusal === "whole-request")
      return send(res, 400, { status: refused.status }, {}, record);
    const ok = results.filter((r) => SUCCESSES.has(codeOf(r.status.code))).length;
    if (ok === results.length)
      return send(res, 200, { status: status(10000, "Ok"), annotations: results }, {}, record);
    if (ok === 0)
      return send(res, 400, { status: status(10020, "Failure"), annotations: results }, {}, record);
    return send(res, 207, { status: status(10010, "Mixed Success"), annotations: results }, {}, record);
  }

  const numberOf = new Map(Object.entries(codeNames).map(([n, name]) => [name, Number(n)]));
  const codeOf = (code: number | string) => (typeof code === "number" ? code : (numberOf.get(code) ?? -1));
  /** The item status of a stored annotation: its result, or (profile `state`) the state it is stored in. */
  const stored = (modify: boolean, state: number) =>
    behaviour.itemStatus === "state"
      ? status(state, STATE_DESCRIPTIONS[state] ?? "Annotation state")
      : modify
        ? status(24250, "Annotation modify success")
        : status(24150, "Annotation success");
  const taskOf = (a: Record<string, unknown>) =>
    String(a.task_id || (a.annotation_info as { task_id?: unknown } | undefined)?.task_id || "");
  /**
   * The state an annotation is stored in: the `status` it was sent with; without one, what it had (a patch), or
   * what a plain POST gets under the profile (ANNOTATION_SUCCESS, or the task's review state).
   */
  const stateOf = (input: Record<string, unknown>, held?: Record<string, unknown>): number => {
    const sent = (input.status as { code?: number | string } | undefined)?.code;
    if (sent !== undefined) return codeOf(sent);
    const had = (held?.status as { code?: number | string } | undefined)?.code;
    if (had !== undefined) return codeOf(had);
    if (behaviour.plainPostStatus === "from-task") return STATE_BY_REVIEW[reviewOf(taskOf(input))];
    return behaviour.itemStatus === "state" ? 24151 : 24150;
  };
  /** What Clarifai holds: the state as a status, and the worker credited (the key's user unless another was named). */
  const holding = (input: Record<string, unknown>, state: number, worker: unknown) => ({
    ...input,
    status: { code: state, description: STATE_DESCRIPTIONS[state] ?? "Annotation state" },
    worker: worker ?? { user: { id: "" } },
  });

  /**
   * PatchAnnotations with `action: "overwrite"` (the only action the bridge sends; merge and remove are refused
   * here rather than imitated). Each annotation must exist on the input it names. What Clarifai answers for a
   * patch of a missing annotation is unconfirmed; the stand-in says ANNOTATION_MODIFY_FAILED, which the bridge
   * retries (its next attempt looks the set up again and creates what is missing).
   */
  function patchAnnotations(
    res: ServerResponse | undefined,
    body: Record<string, unknown>,
    annotations: Map<string, StoredAnnotation>,
    appId: string,
    record: PendingRecord,
    who: KeyUser,
  ) {
    const list = checkedList(res, "clarifai.api.PatchAnnotationsRequest", body, record);
    if (!list) return;
    if (body.action !== "overwrite")
      return refuse(
        res,
        400,
        11100,
        "Bad request format",
        `action ${JSON.stringify(body.action)}: the stand-in implements "overwrite" only`,
        record,
      );
    const now = new Date().toISOString();
    const results = list.map((input) => {
      const id = String(input.id ?? "");
      const held = id ? annotations.get(id) : undefined;
      if (!held || held.input_id !== input.input_id)
        return { ...input, status: status(24252, "Annotation modify failed", `annotation ${id} not found`) };
      const problem = checkAnnotation(input, { inputExists, taskExists, mayPostAs: who.mayPostAs, rules });
      if (problem) return { ...input, status: status(problem.code, problem.description, problem.details) };
      if (Math.random() < faults.mixedTransientRate)
        return {
          ...input,
          status: status(24252, "Annotation modify failed", "transient failure (stand-in fault)"),
        };
      const state = stateOf(input, held.annotation);
      // `data` is replaced either way; annotation_info and task_id only where the profile says overwrite does.
      const kept =
        behaviour.overwrite === "keeps"
          ? { annotation_info: held.annotation.annotation_info, task_id: held.annotation.task_id }
          : {};
      const annotation = {
        ...holding(input, state, input.worker ?? held.annotation.worker),
        ...kept,
        created_at: held.annotation.created_at,
        modified_at: now,
      };
      return { annotation, status: stored(true, state) };
    });
    const refusedWhole =
      behaviour.refusal === "whole-request" && results.some((r) => REFUSALS.has(codeOf(r.status.code)));
    if (!refusedWhole)
      for (const r of results)
        if ("annotation" in r && r.annotation) {
          const a = r.annotation as unknown as Record<string, unknown> & { id: string; input_id: string };
          annotations.set(a.id, { app: appId, id: a.id, input_id: a.input_id, annotation: a });
        }
    answerItems(
      res,
      results.map((r) => ("annotation" in r ? { ...r.annotation, status: r.status } : r)),
      record,
    );
  }

  /**
   * DeleteAnnotations, batch form: `ids` and `input_ids` pair up; `input_ids` alone deletes those inputs'
   * annotations. Ids that are not there are passed over (what Clarifai does with them is unconfirmed; the bridge
   * deletes only what it has just listed, and treats "already gone" as done).
   */
  function deleteAnnotations(
    res: ServerResponse | undefined,
    body: Record<string, unknown>,
    annotations: Map<string, StoredAnnotation>,
    record: PendingRecord,
  ) {
    const problems = checkMessage(root, "clarifai.api.DeleteAnnotationsRequest", body);
    if (problems.length > 0)
      return send(
        res,
        400,
        { status: status(11100, "Bad request format", problems.slice(0, 5).join("; ")) },
        {},
        record,
      );
    const ids = (body.ids ?? []) as string[];
    const inputIds = (body.input_ids ?? []) as string[];
    record.annotations = ids.length || inputIds.length;
    if (inputIds.length === 0)
      return refuse(res, 400, 11100, "Bad request format", "input_ids are required", record);
    if (ids.length > 0 && ids.length !== inputIds.length)
      return refuse(res, 400, 11100, "Bad request format", "ids and input_ids must pair up", record);
    if (ids.length === 0) {
      const inputs = new Set(inputIds);
      for (const [id, a] of annotations) if (inputs.has(a.input_id)) annotations.delete(id);
    } else {
      ids.forEach((id, i) => {
        if (annotations.get(id)?.input_id === inputIds[i]) annotations.delete(id);
      });
    }
    return send(res, 200, { status: status(10000, "Ok") }, {}, record);
  }

  function postAnnotations(
    res: ServerResponse | undefined,
    body: Record<string, unknown>,
    annotations: Map<string, StoredAnnotation>,
    appId: string,
    record: PendingRecord,
    who: KeyUser,
  ) {
    const list = checkedList(res, "clarifai.api.PostAnnotationsRequest", body, record);
    if (!list) return;
    const now = new Date().toISOString();
    const seenInRequest = new Set<string>();
    const results = list.map((input) => {
      const id = typeof input.id === "string" && input.id ? input.id : randomUUID().replaceAll("-", "");
      const problem = checkAnnotation(input, { inputExists, taskExists, mayPostAs: who.mayPostAs, rules });
      const state = stateOf(input);
      const echo = {
        ...holding(input, state, input.worker ?? { user: { id: who.user } }),
        id,
        created_at: now,
        modified_at: now,
      };
      if (problem) return { ...echo, status: status(problem.code, problem.description, problem.details) };
      if (annotations.has(id) || seenInRequest.has(id)) {
        // What Clarifai answers for an existing id is unconfirmed: the profile picks one of the plausible answers.
        const held = annotations.get(id)?.annotation;
        if (behaviour.duplicateId === "success")
          return { ...echo, status: stored(false, held ? stateOf({}, held) : state), keep: true };
        return {
          ...echo,
          status:
            behaviour.duplicateId === "24155"
              ? status(24155, "Annotation invalid argument", `annotation ${id} already exists`)
              : status(40010, "Object has a duplicate ID", `annotation ${id} already exists`),
        };
      }
      if (Math.random() < faults.mixedTransientRate)
        return { ...echo, status: status(24152, "Annotation failed", "transient failure (stand-in fault)") };
      seenInRequest.add(id);
      return { ...echo, status: stored(false, state), state };
    });
    const refusedWhole =
      behaviour.refusal === "whole-request" && results.some((r) => REFUSALS.has(codeOf(r.status.code)));
    if (!refusedWhole)
      for (const result of results) {
        if ("keep" in result || !SUCCESSES.has(codeOf(result.status.code))) continue;
        const { status: _s, state: stateCode, ...rest } = result as Record<string, unknown> & { id: string };
        const annotation: Record<string, unknown> = {
          ...rest,
          status: {
            code: stateCode,
            description: STATE_DESCRIPTIONS[stateCode as number] ?? "Annotation state",
          },
        };
        annotations.set(result.id, {
          app: appId,
          id: result.id,
          input_id: String(annotation.input_id),
          annotation,
        });
      }
    return answerItems(
      res,
      results.map(
        ({ keep: _k, state: _st, ...r }: { keep?: boolean; state?: number } & (typeof results)[number]) => r,
      ),
      record,
    );
  }

  /**
   * ListAnnotations: query parameters are the request's fields (checked against ListAnnotationsRequest); `ids` and
   * `input_ids` pair up in order, `input_ids` alone lists those inputs' annotations, `task_id` keeps a task's,
   * `per_page` and `page` page.
   */
  function listAnnotations(
    res: ServerResponse,
    query: URLSearchParams,
    annotations: Map<string, StoredAnnotation>,
    record: PendingRecord,
  ) {
    const fields = root.lookupType("clarifai.api.ListAnnotationsRequest").fields;
    const unknown = [...new Set(query.keys())].filter((k) => !(k in fields));
    if (unknown.length > 0) {
      return send(
        res,
        400,
        { status: status(11100, "Bad request format", `unknown query parameters: ${unknown.join(", ")}`) },
        {},
        record,
      );
    }
    const ids = query.getAll("ids");
    const inputIds = query.getAll("input_ids");
    if (ids.length > 0 && inputIds.length > 0 && ids.length !== inputIds.length) {
      return send(
        res,
        400,
        { status: status(11100, "Bad request format", "ids and input_ids must pair up") },
        {},
        record,
      );
    }
    let perPage = Number(query.get("per_page") ?? 128);
    const page = Number(query.get("page") ?? 1);
    if (behaviour.paging === "strict") {
      if (!Number.isInteger(page) || page < 1 || !Number.isInteger(perPage) || perPage < 1)
        return send(
          res,
          400,
          { status: status(11100, "Bad request format", "page and per_page must be positive integers") },
          {},
          record,
        );
      perPage = Math.min(perPage, 1_000);
    }
    let found: StoredAnnotation[];
    if (ids.length > 0) {
      found = ids.flatMap((id, i) => {
        const a = annotations.get(id);
        return a && (inputIds.length === 0 || a.input_id === inputIds[i]) ? [a] : [];
      });
    } else if (inputIds.length > 0) {
      const wanted = new Set(inputIds);
      found = [...annotations.values()].filter((a) => wanted.has(a.input_id));
    } else {
      found = [...annotations.values()];
    }
    const taskId = query.get("task_id");
    if (taskId) found = found.filter((a) => taskMatches(a.annotation, taskId));
    record.annotations = ids.length;
    const pageOf = found.slice((page - 1) * perPage, page * perPage).map((a) => a.annotation);
    return send(res, 200, { status: status(10000, "Ok"), annotations: pageOf }, {}, record);
  }

  // ListAnnotations' task_id filter: which field it reads is unconfirmed; the profile picks.
  const taskMatches = (a: Record<string, unknown>, taskId: string) => {
    const own = a.task_id === taskId;
    const info = (a.annotation_info as { task_id?: unknown } | undefined)?.task_id === taskId;
    return behaviour.taskFilter === "task_id"
      ? own
      : behaviour.taskFilter === "annotation_info"
        ? info
        : own || info;
  };

  return { postAnnotations, patchAnnotations, deleteAnnotations, listAnnotations };
}

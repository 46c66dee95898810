import { randomBytes } from "node:crypto";
import { statusFor } from "../../lambda/clarifai/attribution.js";
import { classifyWhole, type HttpResult } from "../../lambda/clarifai/classify.js";
import { appPrefix, type ClarifaiCall, type ClarifaiClient } from "../../lambda/clarifai/client.js";
import { statusCodeOf, statusLabel } from "../../lambda/clarifai/status-codes.js";
import { readTaskAnswer } from "../../lambda/clarifai/task-info.js";
import {
  type AppRef,
  type ClarifaiAnnotation,
  type TaskLinkMode,
  VERSION_KEY,
} from "../../lambda/clarifai/to-annotation.js";
import { budgetChunks, MAX_QUERY_BYTES, queryBytes } from "../../lambda/delivery/requests.js";
import { type Behaviour, PROFILE_NAMES, PROFILES, type ProfileName } from "../../local/clarifai/profiles.js";

/**
 * `clarifai-bridge doctor`: run once with the real key before going live. It checks that the key reaches the app
 * and may do what the bridge does (create, patch, list and delete annotations; read the task), then probes each
 * behaviour of Clarifai's that the docs leave open, with annotations whose ids start `cab-doctor-`, deletes them
 * again whatever happens, and says which stand-in profile Clarifai matches and whether the bridge's
 * configuration is safe with it.
 */
export interface DoctorOptions {
  readonly client: ClarifaiClient;
  /** The raw exchange under the client, for the one probe the client would never send (`page=abc`). */
  readonly call: ClarifaiCall;
  readonly app: AppRef | null;
  readonly taskId: string;
  /** An existing input the probes may annotate (their annotations are deleted afterwards). */
  readonly inputId: string;
  /** The bridge's CLARIFAI_TASK_LINK. @default "both" */
  readonly taskLink?: TaskLinkMode;
  /** @default 10 s */
  readonly timeoutMs?: number;
}

export interface Finding {
  readonly behaviour: string;
  readonly answered: string;
  /** The profile value this answer is, when it is one of the modelled ones. */
  readonly value?: string;
  readonly safe: boolean;
  readonly note?: string;
}

export interface DoctorReport {
  readonly findings: Finding[];
  /** The behaviours observed, where each could be told. */
  readonly behaviour: Partial<Behaviour>;
  /** The stand-in profile whose every behaviour matches, if one does. */
  readonly profile?: ProfileName;
  readonly safe: boolean;
}

const T1 = "2026-01-01T00:00:00.000Z";
const T2 = "2026-01-02T00:00:00.000Z";

export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const { client, app, taskId, inputId } = options;
  const taskLink = options.taskLink ?? "both";
  const timeout = options.timeoutMs ?? 10_000;
  const prefix = `cab-doctor-${randomBytes(4).toString("hex")}`;
  const findings: Finding[] = [];
  const behaviour: { -readonly [K in keyof Behaviour]?: Behaviour[K] } = {};
  const created = new Set<string>();
  const probe = (suffix: string, extra: Partial<ClarifaiAnnotation> = {}): ClarifaiAnnotation => ({
    id: `${prefix}-${suffix}`,
    input_id: inputId,
    task_id: taskId,
    annotation_info: { task_id: taskId, occurred_at: T1, source: "clarifai-bridge-doctor" },
    data: { concepts: [{ id: "clarifai-bridge-doctor", value: 1 }], metadata: { [VERSION_KEY]: T1 } },
    ...extra,
  });
  const post = async (annotations: ClarifaiAnnotation[]) => {
    for (const a of annotations) created.add(a.id);
    return client.postAnnotations(app, annotations, timeout);
  };
  const held = async (ids: string[]) => {
    const result = await client.listAnnotations(app, { ids, inputIds: ids.map(() => inputId) }, timeout);
    return listOf(result);
  };

  try {
    // The key reaches the app and may list.
    const reach = await client.listAnnotations(app, { inputIds: [inputId], perPage: 1 }, timeout);
    const reached = classifyWhole(reach);
    findings.push({
      behaviour: "key reaches the app (list)",
      answered: describe(reach),
      safe: reached.kind === "delivered",
      ...(reached.kind !== "delivered" ? { note: reached.reason } : {}),
    });
    if (reached.kind !== "delivered") return report(findings, behaviour);

    const task = await client.getTask(app, taskId, timeout);
    const taskOk = classifyWhole(task).kind === "delivered";
    const read = readTaskAnswer(task, taskId);
    findings.push({
      behaviour: `task ${taskId} readable`,
      answered: describe(task),
      safe: taskOk,
      note:
        read.kind === "found"
          ? `review ${read.task.review}: from-task posts ${statusFor("from-task", read.task.review)}; ${read.task.workers.size} worker(s) listed`
          : read.kind === "missing"
            ? "the task does not exist: the bridge would dead-letter its annotations as unknown-task"
            : read.kind === "unreadable"
              ? "the key may not read the task: from-task annotations would go without a status"
              : "the task must exist and the key need the Tasks read scope",
    });

    // A task that does not exist: what Clarifai answers, and whether the bridge reads it as unknown.
    const noTask = `${prefix}-no-such-task`;
    const missing = await client.getTask(app, noTask, timeout);
    const missingRead = readTaskAnswer(missing, noTask);
    const missingCode = topCode(missing);
    behaviour.unknownTask =
      missing.kind === "response" && missingCode === 54102
        ? missing.httpStatus === 400
          ? "task-missing-400"
          : "task-missing"
        : missing.kind === "response" && missing.httpStatus === 404 && missingCode === 10020
          ? "failure-404"
          : undefined;
    findings.push({
      behaviour: "a task that does not exist",
      answered: describe(missing),
      ...(behaviour.unknownTask ? { value: behaviour.unknownTask } : {}),
      safe: true,
      note:
        missingRead.kind === "missing"
          ? "the bridge dead-letters such a task's annotations on their first receive (unknown-task)"
          : "the bridge does not read this answer as a missing task: such annotations are retried until the queue's last receive",
    });

    // Create: what item statuses under SUCCESS say.
    const a = probe("a");
    const first = await post([a]);
    const firstTop = topCode(first);
    const firstItem = itemCodes(first)[0];
    if (firstTop !== 10000) {
      findings.push({
        behaviour: "create an annotation",
        answered: describe(first),
        safe: false,
        note: "the key needs the Annotations add scope, and the input must exist",
      });
      return report(findings, behaviour);
    }
    behaviour.itemStatus = firstItem === undefined || firstItem === 24150 ? "result" : "state";
    findings.push({
      behaviour: "item statuses under SUCCESS",
      answered: firstItem === undefined ? "no item statuses" : statusLabel(firstItem),
      value: behaviour.itemStatus,
      safe: true,
      note: "the bridge counts every annotation of a SUCCESS answer as delivered, whatever state its item names",
    });

    // The same id again.
    const again = await post([a]);
    const againCode = itemCodes(again)[0] ?? topCode(again);
    behaviour.duplicateId =
      topCode(again) === 10000
        ? "success"
        : againCode === 40010
          ? "40010"
          : againCode === 24155
            ? "24155"
            : undefined;
    findings.push({
      behaviour: "a duplicate annotation id",
      answered: describe(again),
      ...(behaviour.duplicateId ? { value: behaviour.duplicateId } : {}),
      // Whatever the answer, the bridge looks the id up before acting on a failure, and retries when it cannot.
      safe: true,
    });

    // One refused annotation among good ones.
    const good = probe("b");
    const bad = probe("c", {
      data: {
        regions: [
          { region_info: { bounding_box: { top_row: 0.9, left_col: 0.1, bottom_row: 0.2, right_col: 0.5 } } },
        ],
      },
    });
    const mixed = await post([good, bad]);
    const mixedTop = topCode(mixed);
    behaviour.refusal =
      itemCodes(mixed).length > 0 ? "per-item" : mixedTop !== 10000 ? "whole-request" : undefined;
    findings.push({
      behaviour: "one refused annotation among good ones",
      answered: describe(mixed),
      ...(behaviour.refusal ? { value: behaviour.refusal } : {}),
      safe: true,
      note: "the bridge halves a request refused as a whole until the refused annotation stands alone",
    });

    // Overwrite: does it replace annotation_info, and does data.metadata hold the version?
    const patched = await client.patchAnnotations(
      app,
      [
        probe("a", {
          annotation_info: { task_id: taskId, occurred_at: T2, source: "clarifai-bridge-doctor" },
          data: { concepts: [{ id: "clarifai-bridge-doctor", value: 0 }], metadata: { [VERSION_KEY]: T2 } },
        }),
      ],
      timeout,
    );
    const afterPatch = (await held([a.id]))?.find((h) => h.id === a.id);
    const infoAt = (afterPatch?.annotation_info as { occurred_at?: unknown } | undefined)?.occurred_at;
    const dataAt = (afterPatch?.data as { metadata?: Record<string, unknown> } | undefined)?.metadata?.[
      VERSION_KEY
    ];
    behaviour.overwrite = infoAt === T2 ? "replaces" : infoAt === T1 ? "keeps" : undefined;
    const orderingSafe = infoAt === T2 || dataAt === T2;
    findings.push({
      behaviour: "PATCH overwrite and annotation_info",
      answered: `${describe(patched)}; annotation_info.occurred_at ${infoAt === T2 ? "replaced" : infoAt === T1 ? "kept" : "missing"}, data.metadata ${dataAt === T2 ? "replaced" : "not kept"}`,
      ...(behaviour.overwrite ? { value: behaviour.overwrite } : {}),
      safe: orderingSafe,
      ...(orderingSafe
        ? {}
        : {
            note: "neither annotation_info nor data.metadata holds the new version: late updates could win",
          }),
    });

    // Which field the task_id filter reads.
    const own = probe("d", { annotation_info: { occurred_at: T1 } });
    const info = probe("e", { task_id: undefined as unknown as string });
    delete (info as { task_id?: string }).task_id;
    await post([own, info]);
    const filtered = listOf(
      await client.listAnnotations(app, { taskId, inputIds: [inputId], perPage: 1000 }, timeout),
    );
    const ids = new Set((filtered ?? []).map((h) => h.id));
    const byOwn = ids.has(own.id);
    const byInfo = ids.has(info.id);
    behaviour.taskFilter =
      byOwn && byInfo ? "both" : byOwn ? "task_id" : byInfo ? "annotation_info" : undefined;
    const filterSafe =
      taskLink === "annotation_info" || // deletes without an input are refused by name in this mode
      (taskLink === "both" && (byOwn || byInfo)) ||
      (taskLink === "task_id" && byOwn);
    findings.push({
      behaviour: "ListAnnotations task_id filter",
      answered: filtered
        ? `matched ${[byOwn ? "task_id" : "", byInfo ? "annotation_info.task_id" : ""].filter(Boolean).join(" and ") || "neither"}`
        : "the filtered list failed",
      ...(behaviour.taskFilter ? { value: behaviour.taskFilter } : {}),
      safe: filterSafe,
      note: filterSafe
        ? `deletes that name no input find their annotations (CLARIFAI_TASK_LINK=${taskLink})`
        : `with CLARIFAI_TASK_LINK=${taskLink}, deletes that name no input would find nothing`,
    });

    // Paging and URL length, as the bridge uses them.
    const badPage = await client.listAnnotations(app, { inputIds: [inputId], page: 2, perPage: 1 }, timeout);
    const oddPage = await options.call(
      "GET",
      `${appPrefix(app)}/annotations?input_ids=${encodeURIComponent(inputId)}&page=abc`,
      undefined,
      timeout,
    );
    const strictPage = classifyWhole(oddPage).kind !== "delivered";
    behaviour.paging = strictPage ? "strict" : "lax";
    findings.push({
      behaviour: "paging",
      answered: `page 2 ${describe(badPage)}; page=abc ${strictPage ? "refused" : "taken"}`,
      value: behaviour.paging,
      safe: classifyWhole(badPage).kind === "delivered",
      note: "the bridge sends numeric pages of at most 500",
    });
    const longIds = Array.from({ length: 200 }, (_, i) => `${prefix}-url-${i}`.padEnd(40, "x"));
    // The largest lookup the bridge makes: as many ids as fit its query budget.
    const fitting =
      budgetChunks(
        longIds,
        longIds.length,
        (id) => queryBytes(id) + queryBytes(inputId),
        MAX_QUERY_BYTES,
      )[0] ?? [];
    const asBridge = await client.listAnnotations(
      app,
      { ids: fitting, inputIds: fitting.map(() => inputId) },
      timeout,
    );
    const overLimit = await client.listAnnotations(
      app,
      { ids: longIds, inputIds: longIds.map(() => inputId) },
      timeout,
    );
    const bridgeFits = classifyWhole(asBridge).kind === "delivered";
    const overOk = classifyWhole(overLimit).kind === "delivered";
    findings.push({
      behaviour: "URL length",
      answered: `${MAX_QUERY_BYTES} B of ids ${bridgeFits ? "taken" : describe(asBridge)}; ~16 KB ${overOk ? "taken" : describe(overLimit)}`,
      value: overOk ? "no limit seen" : "limited",
      safe: bridgeFits,
      note: "the bridge keeps a lookup's ids within 6 KB",
    });
    if (!overOk) behaviour.maxUrlBytes = 8_192;
  } finally {
    // Clean up whatever was created, even after a failed step.
    const ids = [...created];
    let left: string[] | undefined;
    if (ids.length > 0) {
      const deleted = await client
        .deleteAnnotations(
          app,
          ids,
          ids.map(() => inputId),
          timeout,
        )
        .catch(() => undefined);
      left = (await held(ids).catch(() => undefined))?.map((h) => h.id);
      findings.push({
        behaviour: "clean-up",
        answered: `${deleted ? describe(deleted) : "DELETE failed"}; ${left ? `${left.length} of ${ids.length} probe annotations left` : "could not list what is left"}`,
        safe: left !== undefined && left.length === 0,
        ...(left?.length ? { note: `delete by hand: ${left.join(", ")}` } : {}),
      });
    }
  }
  return report(findings, behaviour);
}

function report(findings: Finding[], behaviour: Partial<Behaviour>): DoctorReport {
  const profile = PROFILE_NAMES.find((name) => {
    const p: Behaviour = PROFILES[name];
    return (
      p.refusal === behaviour.refusal &&
      p.itemStatus === behaviour.itemStatus &&
      p.overwrite === behaviour.overwrite &&
      p.taskFilter === behaviour.taskFilter &&
      p.duplicateId === behaviour.duplicateId &&
      p.paging === behaviour.paging &&
      (p.unknownTask ?? "task-missing") === behaviour.unknownTask &&
      (p.maxUrlBytes !== undefined) === (behaviour.maxUrlBytes !== undefined)
    );
  });
  return { findings, behaviour, ...(profile ? { profile } : {}), safe: findings.every((f) => f.safe) };
}

/** The report as a table a person reads, and the verdict. */
export function formatReport(r: DoctorReport): string[] {
  const rows = r.findings.map((f) => [
    f.behaviour,
    f.answered,
    f.value ?? "",
    f.safe ? "yes" : "NO",
    f.note ?? "",
  ]);
  const head = ["behaviour", "Clarifai answered", "profile value", "safe", "note"];
  const widths = head.map((h, i) =>
    Math.min(60, Math.max(h.length, ...rows.map((row) => (row[i] ?? "").length))),
  );
  const line = (cells: string[]) => cells.map((c, i) => (i < 4 ? c.padEnd(widths[i] ?? 0) : c)).join("  ");
  return [
    line(head),
    ...rows.map(line),
    "",
    r.profile ? `matches stand-in profile: ${r.profile}` : "matches no stand-in profile exactly",
    r.safe
      ? "the bridge's configuration is safe with this Clarifai"
      : "NOT SAFE: fix what the rows marked NO say before going live",
  ];
}

function describe(result: HttpResult): string {
  if (result.kind === "transport") return `no answer (${result.message})`;
  const code = topCode(result);
  return code === undefined ? `HTTP ${result.httpStatus}` : `HTTP ${result.httpStatus} ${statusLabel(code)}`;
}

function topCode(result: HttpResult): number | undefined {
  if (result.kind !== "response") return undefined;
  return statusCodeOf((result.body as { status?: { code?: unknown } } | undefined)?.status?.code);
}

function itemCodes(result: HttpResult): number[] {
  if (result.kind !== "response") return [];
  const items = (result.body as { annotations?: { status?: { code?: unknown } }[] } | undefined)?.annotations;
  return Array.isArray(items)
    ? items.map((i) => statusCodeOf(i?.status?.code)).filter((c): c is number => c !== undefined)
    : [];
}

function listOf(result: HttpResult): (ClarifaiAnnotation & Record<string, unknown>)[] | undefined {
  if (classifyWhole(result).kind !== "delivered" || result.kind !== "response") return undefined;
  const list = (result.body as { annotations?: unknown } | undefined)?.annotations;
  return Array.isArray(list) ? (list as (ClarifaiAnnotation & Record<string, unknown>)[]) : [];
}

// Over 300 lines: the doctor command: each check of a deployment in the order it runs.
import { randomBytes } from "node:crypto";
import { statusFor } from "../../lambda/clarifai/attribution.js";
import { classifyWhole, type HttpResult } from "../../lambda/clarifai/classify.js";
import { appPrefix, type ClarifaiCall, type ClarifaiClient } from "../../lambda/clarifai/client.js";
import { statusLabel } from "../../lambda/clarifai/status-codes.js";
import { readTaskAnswer } from "../../lambda/clarifai/task-info.js";
import {
  type AppRef,
  type ClarifaiAnnotation,
  type TaskLinkMode,
  VERSION_KEY,
} from "../../lambda/clarifai/to-annotation.js";
import { budgetChunks, MAX_QUERY_BYTES, queryBytes } from "../../lambda/delivery/requests.js";
import type { Behaviour } from "../../local/clarifai/profiles.js";
import { kindProbes } from "./doctor-kinds.js";
import {
  describe,
  itemCode,
  type Reading,
  readDuplicate,
  readKind,
  readOverwrite,
  readPaging,
  readRefusal,
  readTaskFilter,
  readUnknownTask,
  readUrlLength,
  topCode,
} from "./doctor-readers.js";
import { type DoctorReport, type Finding, report } from "./doctor-report.js";

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
  /** A video input for the video-frame probe. @default not probed */
  readonly videoInputId?: string;
  /** A text input for the text-span probe. @default not probed */
  readonly textInputId?: string;
  /** The bridge's CLARIFAI_TASK_LINK. @default "both" */
  readonly taskLink?: TaskLinkMode;
  /** @default 10 s */
  readonly timeoutMs?: number;
}

const T1 = "2026-01-01T00:00:00.000Z";
const T2 = "2026-01-02T00:00:00.000Z";

export { DOCTOR_EXIT, type DoctorReport, type Finding, formatReport } from "./doctor-report.js";

export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const { client, app, taskId, inputId } = options;
  const taskLink = options.taskLink ?? "both";
  const timeout = options.timeoutMs ?? 10_000;
  const prefix = `cab-doctor-${randomBytes(4).toString("hex")}`;
  const findings: Finding[] = [];
  const behaviour: { -readonly [K in keyof Behaviour]?: Behaviour[K] } = {};
  const created = new Map<string, string>(); // probe id -> its input

  const probe = (suffix: string, extra: Partial<ClarifaiAnnotation> = {}): ClarifaiAnnotation => ({
    id: `${prefix}-${suffix}`,
    input_id: inputId,
    task_id: taskId,
    annotation_info: { task_id: taskId, occurred_at: T1, source: "clarifai-bridge-doctor" },
    data: { concepts: [{ id: "clarifai-bridge-doctor", value: 1 }], metadata: { [VERSION_KEY]: T1 } },
    ...extra,
  });
  const post = async (annotations: ClarifaiAnnotation[]) => {
    for (const a of annotations) created.set(a.id, a.input_id);
    return client.postAnnotations(app, annotations, timeout);
  };
  const add = (name: string, premise: string, r: Reading) =>
    findings.push({
      behaviour: name,
      premise,
      answered: r.answered,
      ...(r.value ? { value: r.value } : {}),
      verdict: r.verdict,
      ...(r.note ? { note: r.note } : {}),
    });
  const held = async (ids: string[]) => {
    const inputIds = ids.map((id) => created.get(id) ?? inputId);
    const result = await client.listAnnotations(app, { ids, inputIds }, timeout);
    return listOf(result);
  };

  try {
    // The key reaches the app and may list.
    const reach = await client.listAnnotations(app, { inputIds: [inputId], perPage: 1 }, timeout);
    const reached = classifyWhole(reach);
    findings.push({
      behaviour: "key reaches the app (list)",
      answered: describe(reach),
      verdict: reached.kind === "delivered" ? "safe" : "unsafe",
      ...(reached.kind !== "delivered" ? { note: reached.reason } : {}),
    });
    if (reached.kind !== "delivered") return report(findings, behaviour);

    const task = await client.getTask(app, taskId, timeout);
    const taskOk = classifyWhole(task).kind === "delivered";
    const read = readTaskAnswer(task, taskId);
    findings.push({
      behaviour: `task ${taskId} readable`,
      answered: describe(task),
      verdict: taskOk ? "safe" : "unsafe",
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
    const unknown = readUnknownTask(missing, readTaskAnswer(missing, noTask).kind === "missing");
    behaviour.unknownTask = unknown.value;
    add("a task that does not exist", "GetTask of a made-up task id finds no task", unknown);

    // Create: what item statuses under SUCCESS say.
    const a = probe("a");
    const first = await post([a]);
    const firstItem = itemCode(first, a.id, 0);
    if (topCode(first) !== 10000) {
      findings.push({
        behaviour: "create an annotation",
        answered: describe(first),
        verdict: "unsafe",
        note: "the key needs the Annotations add scope, and the input must exist",
      });
      return report(findings, behaviour);
    }
    behaviour.itemStatus = firstItem === undefined || firstItem === 24150 ? "result" : "state";
    findings.push({
      behaviour: "item statuses under SUCCESS",
      premise: "the create answered SUCCESS",
      answered: firstItem === undefined ? "no item statuses" : statusLabel(firstItem),
      value: behaviour.itemStatus,
      verdict: "safe",
      note: "the bridge counts every annotation of a SUCCESS answer as delivered, whatever state its item names",
    });

    // The same id again, with another value, so an answer of success can tell "kept" from "replaced".
    const storedBefore = (await held([a.id]))?.some((h) => h.id === a.id) ?? false;
    const again = await post([
      probe("a", {
        data: { concepts: [{ id: "clarifai-bridge-doctor", value: 0.5 }], metadata: { [VERSION_KEY]: T1 } },
      }),
    ]);
    const afterAgain = (await held([a.id]))?.find((h) => h.id === a.id);
    const valueAfter = (afterAgain?.data as { concepts?: { value?: unknown }[] } | undefined)?.concepts?.[0]
      ?.value;
    const duplicate = readDuplicate(
      again,
      a.id,
      storedBefore,
      afterAgain === undefined ? undefined : valueAfter !== 0.5,
    );
    behaviour.duplicateId = duplicate.value;
    add("a duplicate annotation id", "the id already exists (listed back after the first create)", duplicate);

    // One refused annotation among good ones: first a refusal Clarifai documents (an input that does not exist),
    // then a box with top_row > bottom_row, which a Clarifai that checks no geometry accepts.
    const refusals: Reading<Behaviour["refusal"]>[] = [];
    for (const [suffix, name, what, bad] of [
      [
        "c",
        "missing input",
        "an annotation on an input that does not exist",
        probe("c", { input_id: `${prefix}-no-such-input` }),
      ],
      [
        "f",
        "inverted box",
        "an inverted box (top_row 0.9 > bottom_row 0.2)",
        probe("f", {
          data: {
            regions: [
              {
                region_info: {
                  bounding_box: { top_row: 0.9, left_col: 0.1, bottom_row: 0.2, right_col: 0.5 },
                },
              },
            ],
          },
        }),
      ],
    ] as const) {
      const good = probe(`${suffix}-good`);
      const answer = await post([good, bad]);
      const reading = readRefusal(answer, [good.id, bad.id], 1, what);
      refusals.push(reading);
      add(`one refused among good ones (${name})`, `Clarifai refuses ${what}`, reading);
    }
    const proved = refusals.map((r) => r.value).filter((v) => v !== undefined);
    behaviour.refusal = new Set(proved).size === 1 ? proved[0] : undefined;

    // One annotation of each label kind beyond boxes and polygons, on an input that can hold it.
    for (const [suffix, what, input, region, sizeUnknown] of kindProbes(options)) {
      const annotation = probe(suffix, {
        input_id: input,
        data:
          suffix === "k-video"
            ? { frames: [{ frame_info: { number: 0, time: 0 }, data: { regions: [region] } }] }
            : { regions: [region] },
      });
      const answer = await post([annotation]);
      const listed = (await held([annotation.id]))?.some((h) => h.id === annotation.id) ?? false;
      add(
        `label kind: ${what}`,
        `the app holds ${what} on ${input}`,
        readKind(answer, annotation.id, listed, what, sizeUnknown),
      );
    }

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
    const overwrite = readOverwrite(
      patched,
      afterPatch && {
        infoAt: (afterPatch.annotation_info as { occurred_at?: unknown } | undefined)?.occurred_at,
        dataAt: (afterPatch.data as { metadata?: Record<string, unknown> } | undefined)?.metadata?.[
          VERSION_KEY
        ],
      },
      T1,
      T2,
    );
    behaviour.overwrite = overwrite.value;
    add(
      "PATCH overwrite and annotation_info",
      "the PATCH was accepted and the annotation listed back",
      overwrite,
    );

    // Which field the task_id filter reads.
    const own = probe("d", { annotation_info: { occurred_at: T1 } });
    const info = probe("e", { task_id: undefined as unknown as string });
    delete (info as { task_id?: string }).task_id;
    await post([own, info]);
    const stored = new Set((await held([own.id, info.id]))?.map((h) => h.id));
    const perPage = 1000;
    const filtered = listOf(
      await client.listAnnotations(app, { taskId, inputIds: [inputId], perPage }, timeout),
    );
    const ids = new Set((filtered ?? []).map((h) => h.id));
    const filter = readTaskFilter(
      filtered && { byOwn: ids.has(own.id), byInfo: ids.has(info.id), pageFull: filtered.length >= perPage },
      { own: stored.has(own.id), info: stored.has(info.id) },
      taskLink,
    );
    behaviour.taskFilter = filter.value;
    add("ListAnnotations task_id filter", "both probes were stored (listed back by id)", filter);

    // Paging and URL length, as the bridge uses them.
    const page2 = await client.listAnnotations(app, { inputIds: [inputId], page: 2, perPage: 1 }, timeout);
    const oddPage = await options.call(
      "GET",
      `${appPrefix(app)}/annotations?input_ids=${encodeURIComponent(inputId)}&page=abc`,
      undefined,
      timeout,
    );
    const paging = readPaging(page2, oddPage);
    behaviour.paging = paging.value;
    add("paging", "numeric paging is taken, so a refused page=abc is about its value", paging);
    const longIds = Array.from({ length: 200 }, (_, i) => `${prefix}-url-${i}`.padEnd(40, "x"));
    const idBytes = (id: string) => queryBytes(id) + queryBytes(inputId);
    // The largest lookup the bridge makes: as many ids as fit its query budget.
    const fitting = budgetChunks(longIds, longIds.length, idBytes, MAX_QUERY_BYTES)[0] ?? [];
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
    const overBytes = longIds.reduce((sum, id) => sum + idBytes(id), 0);
    const url = readUrlLength(asBridge, overLimit, MAX_QUERY_BYTES, overBytes);
    add("URL length", "the long lookup was answered (not lost in transport)", url);
    if (url.value === "limited") behaviour.maxUrlBytes = 8_192;
  } finally {
    // Clean up whatever was created, even after a failed step.
    // One DELETE and one check per input, so a probe on the made-up input cannot fail the real input's clean-up.
    const byInput = new Map<string, string[]>();
    for (const [id, input] of created) byInput.set(input, [...(byInput.get(input) ?? []), id]);
    const answers: string[] = [];
    let left: string[] | undefined = [];
    for (const [input, group] of byInput) {
      const deleted = await client
        .deleteAnnotations(
          app,
          group,
          group.map(() => input),
          timeout,
        )
        .catch(() => undefined);
      answers.push(deleted ? describe(deleted) : "DELETE failed");
      const still = (await held(group).catch(() => undefined))?.map((h) => h.id);
      // A list refused for the made-up input means nothing could be stored on it.
      left =
        left && (still ?? (input === inputId ? undefined : [])) ? [...left, ...(still ?? [])] : undefined;
    }
    if (created.size > 0)
      findings.push({
        behaviour: "clean-up",
        answered: `${[...new Set(answers)].join(", ")}; ${left ? `${left.length} of ${created.size} probe annotations left` : "could not list what is left"}`,
        verdict: left !== undefined && left.length === 0 ? "safe" : "unsafe",
        ...(left?.length ? { note: `delete by hand: ${left.join(", ")}` } : {}),
      });
  }
  return report(findings, behaviour);
}

function listOf(result: HttpResult): (ClarifaiAnnotation & Record<string, unknown>)[] | undefined {
  if (classifyWhole(result).kind !== "delivered" || result.kind !== "response") return undefined;
  const list = (result.body as { annotations?: unknown } | undefined)?.annotations;
  return Array.isArray(list) ? (list as (ClarifaiAnnotation & Record<string, unknown>)[]) : [];
}

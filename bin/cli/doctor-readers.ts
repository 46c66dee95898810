// Over 300 lines: the doctor's readers of a deployment (queue, DLQ, secret, task, stand-in behaviour), one job: reading what it checks.
import {
  classifyBatch,
  classifyWhole,
  DELIVERED_CODES,
  type HttpResult,
} from "../../lambda/clarifai/classify.js";
import { STATUS_CODES as S, statusCodeOf, statusLabel } from "../../lambda/clarifai/status-codes.js";
import type { Behaviour } from "../../local/clarifai/profiles.js";

/**
 * What each `doctor` probe's answer proves. A probe is built on a premise (the bad annotation was refused, the
 * id already existed, the probes were stored, the made-up task does not exist): when the premise did not happen,
 * the answer proves nothing about the behaviour, and the row says `inconclusive` and what stays unconfirmed
 * rather than reading a profile value into it. Plain functions of Clarifai's answers, so each premise's failure
 * is unit-tested.
 */
export type Verdict = "safe" | "unsafe" | "inconclusive";

export interface Reading<V extends string = string> {
  /** The profile value the answer proves, when it proves one. */
  readonly value?: V;
  readonly verdict: Verdict;
  /** What the answer was, in a person's words. */
  readonly answered: string;
  readonly note?: string;
}

/** Item codes of an annotation Clarifai accepted (a result or the state it stored): what the bridge counts delivered. */
const ACCEPTED = DELIVERED_CODES;

/** One line for an exchange: the HTTP status and Clarifai's top-level status, or why there was no answer. */
export function describe(result: HttpResult): string {
  if (result.kind === "transport") return `no answer (${result.message})`;
  const code = topCode(result);
  return code === undefined ? `HTTP ${result.httpStatus}` : `HTTP ${result.httpStatus} ${statusLabel(code)}`;
}

export function topCode(result: HttpResult): number | undefined {
  if (result.kind !== "response") return undefined;
  return statusCodeOf((result.body as { status?: { code?: unknown } } | undefined)?.status?.code);
}

/** The item status code Clarifai gave the annotation `id` (by id; by position when no item carries an id). */
export function itemCode(result: HttpResult, id: string, index: number): number | undefined {
  if (result.kind !== "response") return undefined;
  const items = (result.body as { annotations?: unknown } | undefined)?.annotations;
  if (!Array.isArray(items)) return undefined;
  const objects = items.filter(
    (i): i is { id?: unknown; status?: { code?: unknown } } => !!i && typeof i === "object",
  );
  const withIds = objects.some((i) => typeof i.id === "string");
  const item = withIds ? objects.find((i) => i.id === id) : objects[index];
  return statusCodeOf(item?.status?.code);
}

/**
 * A request of good annotations and one Clarifai should refuse (`sentIds[badIndex]`). Premise: the bad one was
 * refused, by an item status of its own (`per-item`) or by refusing the request as a whole (`whole-request`).
 * Accepted, or failed for a reason that is no refusal (throttled, no answer), it proves neither.
 */
export function readRefusal(
  answer: HttpResult,
  sentIds: readonly string[],
  badIndex: number,
  what: string,
): Reading<Behaviour["refusal"]> {
  const badId = sentIds[badIndex] ?? "";
  const unconfirmed =
    "how Clarifai refuses one annotation of a request stays unconfirmed; the bridge handles both shapes (it halves a request refused whole)";
  if (answer.kind === "transport")
    return { verdict: "inconclusive", answered: describe(answer), note: `no answer: ${unconfirmed}` };
  const bad = itemCode(answer, badId, badIndex);
  if (bad !== undefined && !ACCEPTED.has(bad))
    return {
      value: "per-item",
      verdict: "safe",
      answered: `${describe(answer)}; ${what} refused alone (${statusLabel(bad)})`,
      note: "the bridge dead-letters or retries the refused annotation alone",
    };
  if (classifyBatch(answer, sentIds).kind === "split")
    return {
      value: "whole-request",
      verdict: "safe",
      answered: `${describe(answer)}; the whole request refused for ${what}`,
      note: "the bridge halves a request refused as a whole until the refused annotation stands alone",
    };
  const top = topCode(answer);
  if (top === S.SUCCESS || top === S.MIXED_STATUS || ACCEPTED.has(bad ?? S.SUCCESS))
    return {
      verdict: "inconclusive",
      answered: `${describe(answer)}; Clarifai accepted ${what}`,
      note: `nothing was refused, so ${unconfirmed}`,
    };
  return {
    verdict: "inconclusive",
    answered: `${describe(answer)}; the request failed for a reason that is no refusal of ${what}`,
    note: `run the doctor again later: ${unconfirmed}`,
  };
}

/**
 * A second create of an id. Premise: the first create was stored (`storedBefore`, listed back), so this one is a
 * duplicate. `stillFirst` says whether the stored annotation is still the first one's afterwards (the second
 * carried another concept value), which tells "success, stored one unchanged" from a create that replaced it.
 */
export function readDuplicate(
  answer: HttpResult,
  id: string,
  storedBefore: boolean,
  stillFirst: boolean | undefined,
): Reading<Behaviour["duplicateId"]> {
  const unconfirmed =
    "the answer to a duplicate id stays unconfirmed; the bridge looks an id up before acting on any failure, and retries when it cannot";
  if (!storedBefore)
    return {
      verdict: "inconclusive",
      answered: `${describe(answer)}; the first create was not listed back`,
      note: `the id did not exist, so this was no duplicate: ${unconfirmed}`,
    };
  if (answer.kind === "transport")
    return { verdict: "inconclusive", answered: describe(answer), note: unconfirmed };
  const top = topCode(answer);
  const code = itemCode(answer, id, 0) ?? top;
  if (top === S.SUCCESS) {
    if (stillFirst === true)
      return {
        value: "success",
        verdict: "safe",
        answered: `${describe(answer)}; the stored annotation unchanged`,
      };
    return {
      verdict: stillFirst === false ? "safe" : "inconclusive",
      answered: `${describe(answer)}; ${stillFirst === false ? "the stored annotation replaced" : "the annotation was not listed back"}`,
      note:
        stillFirst === false
          ? "a create of an existing id overwrote it (no stand-in profile models this): safe, the bridge's creates carry the current data"
          : unconfirmed,
    };
  }
  if (code === S.DATABASE_DUPLICATE_KEY || code === S.ANNOTATION_INVALID_ARGUMENT)
    return {
      value: code === S.DATABASE_DUPLICATE_KEY ? "40010" : "24155",
      verdict: "safe",
      answered: `${describe(answer)}; the duplicate refused (${statusLabel(code)})`,
      note: "the bridge looks the id up and counts it delivered when it exists",
    };
  const outcome = classifyWhole(answer);
  return {
    verdict: outcome.kind === "retryable" ? "inconclusive" : "safe",
    answered: `${describe(answer)}; the duplicate refused (${statusLabel(code)})`,
    note:
      outcome.kind === "retryable"
        ? `the request failed for a reason that is no duplicate: ${unconfirmed}`
        : "no stand-in profile refuses a duplicate with this code; the bridge looks the id up before acting on it",
  };
}

/**
 * PATCH overwrite of a stored probe whose version moved from `before` to `after`. Premise: the PATCH was
 * accepted and the annotation is listed back; then what annotation_info and data.metadata hold decides.
 */
export function readOverwrite(
  patched: HttpResult,
  listed: { readonly infoAt?: unknown; readonly dataAt?: unknown } | undefined,
  before: string,
  after: string,
): Reading<Behaviour["overwrite"]> {
  const unconfirmed =
    "whether an overwrite replaces annotation_info stays unconfirmed, and so does which of two late updates wins";
  const outcome = classifyWhole(patched);
  const item = itemCode(patched, "", 0);
  if (outcome.kind !== "delivered" || (item !== undefined && !ACCEPTED.has(item)))
    return outcome.kind === "permanent" || (item !== undefined && outcome.kind === "delivered")
      ? {
          verdict: "unsafe",
          answered: `${describe(patched)}${item !== undefined ? ` (${statusLabel(item)})` : ""}`,
          note: "the PATCH was refused: the key needs the Annotations patch scope, or updates will fail",
        }
      : {
          verdict: "inconclusive",
          answered: describe(patched),
          note: `the PATCH did not go through: ${unconfirmed}`,
        };
  if (!listed)
    return {
      verdict: "inconclusive",
      answered: `${describe(patched)}; the patched annotation was not listed back`,
      note: unconfirmed,
    };
  const { infoAt, dataAt } = listed;
  const value = infoAt === after ? "replaces" : infoAt === before ? "keeps" : undefined;
  const safe = infoAt === after || dataAt === after;
  return {
    ...(value ? { value } : {}),
    verdict: safe ? "safe" : "unsafe",
    answered: `${describe(patched)}; annotation_info.occurred_at ${infoAt === after ? "replaced" : infoAt === before ? "kept" : "missing"}, data.metadata ${dataAt === after ? "replaced" : "not kept"}`,
    ...(safe
      ? {}
      : { note: "neither annotation_info nor data.metadata holds the new version: late updates could win" }),
  };
}

/**
 * ListAnnotations filtered by the task, after two probes were stored: one linked by `task_id` only, one by
 * `annotation_info.task_id` only. Premise: both were stored (listed back by id), and the filtered page was not
 * full (else they may sit on a later page). `matched` is undefined when the filtered list failed.
 */
export function readTaskFilter(
  matched: { readonly byOwn: boolean; readonly byInfo: boolean; readonly pageFull: boolean } | undefined,
  stored: { readonly own: boolean; readonly info: boolean },
  taskLink: "both" | "task_id" | "annotation_info",
): Reading<Behaviour["taskFilter"]> {
  // Deletes that name no input are refused by name with annotation_info only, so nothing rides on the filter.
  const infoOnly = taskLink === "annotation_info";
  if (!matched)
    return {
      verdict: infoOnly ? "safe" : "unsafe",
      answered: "the filtered list failed",
      note: infoOnly
        ? "not used with CLARIFAI_TASK_LINK=annotation_info"
        : "deletes that name no input would fail",
    };
  const { byOwn, byInfo, pageFull } = matched;
  const answered = `matched ${[byOwn ? "task_id" : "", byInfo ? "annotation_info.task_id" : ""].filter(Boolean).join(" and ") || "neither"}`;
  const unconfirmed = `which field the task filter reads stays unconfirmed (CLARIFAI_TASK_LINK=${taskLink})`;
  if (!stored.own || !stored.info)
    return {
      verdict: "inconclusive",
      answered: `${answered}; ${!stored.own && !stored.info ? "neither probe was" : "one probe was not"} stored`,
      note: `a filter cannot match what was never stored: ${unconfirmed}`,
    };
  if (pageFull && !(byOwn && byInfo))
    return {
      verdict: "inconclusive",
      answered: `${answered}; the page was full`,
      note: `the input holds more of this task's annotations than one page: ${unconfirmed}`,
    };
  const value = byOwn && byInfo ? "both" : byOwn ? "task_id" : byInfo ? "annotation_info" : undefined;
  const safe = infoOnly || (taskLink === "both" && (byOwn || byInfo)) || (taskLink === "task_id" && byOwn);
  return {
    ...(value ? { value } : {}),
    verdict: safe ? "safe" : "unsafe",
    answered,
    note: safe
      ? `deletes that name no input find their annotations (CLARIFAI_TASK_LINK=${taskLink})`
      : `with CLARIFAI_TASK_LINK=${taskLink}, deletes that name no input would find nothing`,
  };
}

/**
 * Page 2 as the bridge asks for it, then `page=abc`. Premise: numeric paging works, so a refused `page=abc` is
 * about the page value (`strict`), not about the request.
 */
export function readPaging(page2: HttpResult, odd: HttpResult): Reading<Behaviour["paging"]> {
  const numeric = classifyWhole(page2).kind === "delivered";
  if (!numeric)
    return {
      verdict: page2.kind === "transport" ? "inconclusive" : "unsafe",
      answered: `page 2 ${describe(page2)}`,
      note: "the bridge pages its lookups numerically: a refused page 2 breaks long lookups",
    };
  if (odd.kind === "transport")
    return {
      verdict: "inconclusive",
      answered: `page 2 taken; page=abc ${describe(odd)}`,
      note: "whether Clarifai checks page values stays unconfirmed; the bridge sends numeric pages of at most 500",
    };
  const value = classifyWhole(odd).kind === "delivered" ? "lax" : "strict";
  return {
    value,
    verdict: "safe",
    answered: `page 2 taken; page=abc ${value === "strict" ? "refused" : "taken"}`,
    note: "the bridge sends numeric pages of at most 500",
  };
}

/**
 * The largest lookup the bridge makes, then one of about `overBytes`. Premise for "limited": the long one was
 * refused with an answer (a 414 or a Clarifai status), not lost in transport.
 */
export function readUrlLength(
  asBridge: HttpResult,
  over: HttpResult,
  bridgeBytes: number,
  overBytes: number,
): Reading<"no limit seen" | "limited"> {
  const fits = classifyWhole(asBridge).kind === "delivered";
  const note = `the bridge keeps a lookup's ids within ${Math.round(bridgeBytes / 1024)} KB`;
  if (!fits)
    return {
      verdict: asBridge.kind === "transport" ? "inconclusive" : "unsafe",
      answered: `${bridgeBytes} B of ids ${describe(asBridge)}`,
      note: `the bridge's own lookups are refused: ${note}`,
    };
  if (over.kind === "transport")
    return {
      verdict: "inconclusive",
      answered: `${bridgeBytes} B of ids taken; ~${Math.round(overBytes / 1024)} KB ${describe(over)}`,
      note: `the longer URL's fate stays unconfirmed; ${note}`,
    };
  const overOk = classifyWhole(over).kind === "delivered";
  return {
    value: overOk ? "no limit seen" : "limited",
    verdict: "safe",
    answered: `${bridgeBytes} B of ids taken; ~${Math.round(overBytes / 1024)} KB ${overOk ? "taken" : describe(over)}`,
    note,
  };
}

/**
 * GetTask of a made-up task id. Premise: Clarifai answered, and did not find it (a task that cannot exist).
 * `missing` says whether the bridge reads the answer as a missing task.
 */
export function readUnknownTask(
  answer: HttpResult,
  missing: boolean,
): Reading<NonNullable<Behaviour["unknownTask"]>> {
  if (answer.kind === "transport" || classifyWhole(answer).kind === "delivered")
    return {
      verdict: "inconclusive",
      answered:
        answer.kind === "transport" ? describe(answer) : `${describe(answer)}: a made-up task id was found`,
      note: "how Clarifai answers for a missing task stays unconfirmed: unknown-task annotations may be retried until the queue's last receive before they are dead-lettered",
    };
  const code = topCode(answer);
  const value =
    code === S.TASK_MISSING
      ? answer.httpStatus === 400
        ? "task-missing-400"
        : "task-missing"
      : answer.httpStatus === 404 && code === S.FAILURE
        ? "failure-404"
        : undefined;
  return {
    ...(value ? { value } : {}),
    verdict: "safe",
    answered: describe(answer),
    note: missing
      ? "the bridge dead-letters such a task's annotations on their first receive (unknown-task)"
      : "the bridge does not read this answer as a missing task: such annotations are retried until the queue's last receive",
  };
}

/**
 * One annotation of a label kind (a point, keypoints, a mask, a span, a video frame) posted on an input that can
 * hold it. Premise: Clarifai answered, and for a refusal, that the probe itself could be right (`sizeUnknown`: a
 * mask must be the input's size, which the doctor cannot know, so a refused mask proves nothing). Accepted and
 * listed back: the kind is carried. Refused for the annotation: annotations of this kind would be dead-lettered.
 */
export function readKind(
  answer: HttpResult,
  id: string,
  listedBack: boolean,
  what: string,
  sizeUnknown = false,
): Reading<"accepted" | "refused"> {
  if (answer.kind === "transport")
    return {
      verdict: "inconclusive",
      answered: describe(answer),
      note: `whether the app holds ${what} stays unconfirmed`,
    };
  const item = itemCode(answer, id, 0);
  const top = topCode(answer);
  const accepted = top === S.SUCCESS && (item === undefined || ACCEPTED.has(item));
  if (accepted && listedBack)
    return {
      value: "accepted",
      verdict: "safe",
      answered: `${describe(answer)}; listed back`,
      note: `${what} reach Clarifai`,
    };
  if (accepted)
    return {
      verdict: "inconclusive",
      answered: `${describe(answer)}; not listed back`,
      note: `Clarifai answered success but did not list the annotation: whether it holds ${what} stays unconfirmed`,
    };
  const outcome = classifyWhole(answer);
  const refusedForIt = outcome.kind === "permanent" || (item !== undefined && !ACCEPTED.has(item));
  if (!refusedForIt || sizeUnknown)
    return {
      verdict: "inconclusive",
      answered: `${describe(answer)}${item !== undefined ? ` (${statusLabel(item)})` : ""}`,
      note: sizeUnknown
        ? `the probe's ${what.replace(/s$/, "")} may not match the input's size: whether the app holds ${what} stays unconfirmed`
        : `the request failed for a reason that is no refusal of ${what}: run the doctor again later`,
    };
  return {
    value: "refused",
    verdict: "unsafe",
    answered: `${describe(answer)}${item !== undefined ? ` (${statusLabel(item)})` : ""}`,
    note: `${what} would be dead-lettered: check that the input's type holds them, or map them out (unsupported: skip)`,
  };
}

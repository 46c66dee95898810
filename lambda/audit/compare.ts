import { DERIVED_ID_PREFIX } from "../events/annotation-id.js";
import {
  baseOf,
  type ExpectedAnnotation,
  type ExpectedWork,
  identityOf,
  type LabelerIdentity,
  labelerOf,
  laterTime,
  scopeOf,
  versionOf,
} from "./expected.js";

/**
 * The audit's comparison, pure: what the tool holds (as the annotations the bridge derives from it) against what
 * Clarifai holds for the task, by the bridge's derived ids, per labeler:
 * - missing: derived from the tool, not in Clarifai (a webhook never sent, a dead letter, a hand deletion);
 * - stale: in Clarifai with an older upstream version than the tool's (an update that never arrived);
 * - extra: the bridge's annotation from this tool's project in Clarifai, which the tool no longer holds.
 * Clarifai's annotations from other sources, or not made by the bridge, are not the audit's business: counted, not
 * judged. A missing annotation whose set waits in the dead-letter queue says so, with the dead letter's reason.
 */
export interface DeadLetterRef {
  readonly messageId: string;
  readonly errorCode: string;
  readonly reason: string;
  readonly ids: readonly string[];
  readonly baseIds: readonly string[];
}

export interface MissingAnnotation {
  readonly id: string;
  readonly inputId: string;
  /** The dead letter holding it, when one does. */
  readonly deadLetter?: { readonly messageId: string; readonly errorCode: string; readonly reason: string };
}

export interface LabelerAudit {
  /** `<tool>:<labeler id>` as the tool names the labeler (else `clarifai:<worker>`). */
  readonly labeler: string;
  /** The labeler's email, where the tool gave one. */
  readonly email?: string;
  /** The Clarifai user the labeler's work is credited to (the mapping's `labelers`), where there is one. */
  readonly worker?: string;
  readonly inTool: number;
  readonly inClarifai: number;
  readonly missing: MissingAnnotation[];
  readonly stale: { readonly id: string; readonly clarifai: string; readonly tool: string }[];
  readonly extra: { readonly id: string; readonly inputId: string }[];
}

export interface AuditReport {
  readonly taskId: string;
  readonly labelers: LabelerAudit[];
  readonly totals: {
    readonly inTool: number;
    readonly inClarifai: number;
    readonly missing: number;
    readonly stale: number;
    readonly extra: number;
    /** Of the missing, how many wait in the dead-letter queue. */
    readonly inDeadLetters: number;
    /** Clarifai's annotations in the task not made by the bridge from this source (left alone). */
    readonly otherInTask: number;
    /** The tool's annotations the mapping sends to another Clarifai task (not compared here). */
    readonly otherTask: number;
  };
  /** Bodies of the tool's the bridge would refuse: they can only reach Clarifai once the cause is fixed. */
  readonly refused: ExpectedWork["refused"];
  /** Body indexes whose annotations are missing or stale: what `--repair` queues. */
  readonly repairBodies: number[];
}

export function compareWork(
  taskId: string,
  expected: ExpectedWork,
  held: readonly Record<string, unknown>[],
  deadLetters: readonly DeadLetterRef[],
  declaredScopes: readonly string[] = [],
): AuditReport {
  const scopes = new Set(declaredScopes);
  for (const e of expected.annotations.values()) if (e.scope) scopes.add(e.scope);
  const byLabeler = new Map<string, LabelerAudit>();
  const row = (labeler: string, identity: LabelerIdentity = {}): LabelerAudit => {
    let r = byLabeler.get(labeler);
    if (!r) {
      r = { labeler, inTool: 0, inClarifai: 0, missing: [], stale: [], extra: [] };
      byLabeler.set(labeler, r);
    }
    const known = r as { email?: string; worker?: string };
    known.email ??= identity.email;
    known.worker ??= identity.worker;
    if (known.email === undefined) delete known.email;
    if (known.worker === undefined) delete known.worker;
    return r;
  };
  const heldById = new Map<string, Record<string, unknown>>();
  let otherInTask = 0;
  for (const annotation of held) {
    const id = annotation.id;
    if (typeof id !== "string") continue;
    heldById.set(id, annotation);
  }
  const byDeadLetterId = new Map<string, DeadLetterRef>();
  const byDeadLetterBase = new Map<string, DeadLetterRef>();
  for (const d of deadLetters) {
    for (const id of d.ids) byDeadLetterId.set(id, d);
    for (const base of d.baseIds) byDeadLetterBase.set(base, d);
  }

  const repair = new Set<number>();
  let otherTask = 0;
  for (const e of expected.annotations.values()) {
    if (e.taskId !== taskId) {
      otherTask += 1;
      continue;
    }
    const r = row(e.labeler, e.identity);
    (r as { inTool: number }).inTool += 1;
    const annotation = heldById.get(e.id);
    if (!annotation) {
      const d = byDeadLetterId.get(e.id) ?? byDeadLetterBase.get(baseOf(e.id));
      r.missing.push({
        id: e.id,
        inputId: e.inputId,
        ...(d ? { deadLetter: { messageId: d.messageId, errorCode: d.errorCode, reason: d.reason } } : {}),
      });
      repair.add(e.body);
      continue;
    }
    const version = versionOf(annotation) ?? "";
    if (isStale(version, e)) {
      r.stale.push({ id: e.id, clarifai: version, tool: e.version });
      repair.add(e.body);
    }
  }
  for (const [id, annotation] of heldById) {
    const ours = id.startsWith(DERIVED_ID_PREFIX) && scopes.has(scopeOf(annotation));
    if (!ours) {
      otherInTask += 1;
      continue;
    }
    const r = row(labelerOf(annotation), identityOf(annotation));
    (r as { inClarifai: number }).inClarifai += 1;
    if (!expected.annotations.has(id))
      r.extra.push({ id, inputId: typeof annotation.input_id === "string" ? annotation.input_id : "" });
  }

  const labelers = [...byLabeler.values()].sort((a, b) => (a.labeler < b.labeler ? -1 : 1));
  for (const r of labelers) {
    r.missing.sort((a, b) => (a.id < b.id ? -1 : 1));
    r.stale.sort((a, b) => (a.id < b.id ? -1 : 1));
    r.extra.sort((a, b) => (a.id < b.id ? -1 : 1));
  }
  const sum = (f: (r: LabelerAudit) => number) => labelers.reduce((n, r) => n + f(r), 0);
  return {
    taskId,
    labelers,
    totals: {
      inTool: sum((r) => r.inTool),
      inClarifai: sum((r) => r.inClarifai),
      missing: sum((r) => r.missing.length),
      stale: sum((r) => r.stale.length),
      extra: sum((r) => r.extra.length),
      inDeadLetters: sum((r) => r.missing.filter((m) => m.deadLetter).length),
      otherInTask,
      otherTask,
    },
    refused: expected.refused,
    repairBodies: [...repair].sort((a, b) => a - b),
  };
}

/** Clarifai holds an older upstream version than the tool (a version it cannot read counts as older). */
function isStale(held: string, expected: ExpectedAnnotation): boolean {
  if (!expected.version) return false;
  if (!held) return true;
  return laterTime(expected.version, held);
}

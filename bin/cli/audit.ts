import type { Message, SQSClient } from "@aws-sdk/client-sqs";
import { type AuditReport, compareWork, type DeadLetterRef } from "../../lambda/audit/compare.js";
import { deadLetterIds, expectedFromBodiesFetching, type SourceBody } from "../../lambda/audit/expected.js";
import { listTaskAnnotations, type TaskListing } from "../../lambda/audit/read-clarifai.js";
import type { SourceRead } from "../../lambda/audit/sources.js";
import { WORK_STATUSES, type WorkerRow } from "../../lambda/audit/work.js";
import { classifyWhole } from "../../lambda/clarifai/classify.js";
import type { ClarifaiClient } from "../../lambda/clarifai/client.js";
import type { AppRef } from "../../lambda/clarifai/to-annotation.js";
import type { ParseOptions } from "../../lambda/delivery/parse-record.js";
import type { RateLimiter } from "../../lambda/delivery/rate-limiter.js";
import type { FetchedMask, MaskRef } from "../../lambda/events/contract/mask-files.js";
import { peekDeadLetters } from "./dlq.js";
import type { Progress } from "./progress.js";
import { sendBodies } from "./send.js";

/**
 * `clarifai-bridge audit`: the tool's work against Clarifai's, by labeler (lambda/audit/compare.ts), with what waits
 * in the dead-letter queue, and `--repair` (queue the tool's current body of what is missing or stale, through the
 * same adapters) and `--delete-extra` (delete the bridge's annotations the tool no longer holds). Reading is
 * bounded (pages per run); repairing is idempotent, so a run cut short is resumed by running it again.
 */
export interface AuditRun {
  readonly taskId: string;
  readonly app: AppRef | null;
  readonly client: ClarifaiClient;
  readonly limiter: RateLimiter;
  readonly parse: ParseOptions;
  readonly readSource: () => Promise<SourceRead>;
  readonly maxPages?: number;
  readonly sqs?: () => SQSClient;
  readonly dlqUrl?: string;
  /** Peeked at most. @default 1000 */
  readonly maxDeadLetters?: number;
  readonly repair?: { readonly queueUrl: string } | undefined;
  readonly deleteExtra?: boolean;
  readonly progress?: (label: string) => Progress;
  /** Fetches the mask files bodies point at (Labelbox, Scale, Ground Truth), as the handler does. @default none: such bodies are listed as refused */
  readonly fetchMasks?: (refs: readonly MaskRef[]) => Promise<ReadonlyMap<string, FetchedMask>>;
}

export interface AuditOutcome {
  readonly report: AuditReport;
  readonly complete: { readonly tool: boolean; readonly clarifai: boolean };
  readonly deadLettersRead: number;
  readonly repaired?: { readonly queued: number; readonly failed: { origin: string; reason: string }[] };
  readonly deleted?: { readonly count: number; readonly failed: string[] };
}

export async function runAudit(run: AuditRun): Promise<AuditOutcome> {
  const source = await run.readSource();
  const listing: TaskListing = await listTaskAnnotations(run.client, run.app, run.taskId, {
    limiter: run.limiter,
    ...(run.maxPages ? { maxPages: run.maxPages } : {}),
    ...(run.progress
      ? {
          onPage: (() => {
            const p = run.progress("Clarifai annotations read");
            return (n: number) => p.update(n);
          })(),
        }
      : {}),
  });
  const messages: Message[] =
    run.dlqUrl && run.sqs ? await peekDeadLetters(run.sqs(), run.dlqUrl, run.maxDeadLetters ?? 1000) : [];
  const deadLetters: DeadLetterRef[] = messages.map((m) => {
    const format = m.MessageAttributes?.format?.StringValue;
    const ids = deadLetterIds(m.Body ?? "", {
      ...run.parse,
      ...(format ? { attributes: { ...run.parse.attributes, format } } : {}),
    });
    return {
      messageId: m.MessageId ?? "",
      errorCode: m.MessageAttributes?.errorCode?.StringValue ?? "(moved by the queue's redrive policy)",
      reason: m.MessageAttributes?.reason?.StringValue ?? "",
      ...ids,
    };
  });
  const parsed = await expectedFromBodiesFetching(source.bodies, run.parse, run.fetchMasks);
  const expected = {
    ...parsed,
    refused: [
      ...source.refused.map((r) => ({ origin: r.origin, errorCode: "not-queueable", reason: r.reason })),
      ...parsed.refused,
    ],
  };
  const report = compareWork(run.taskId, expected, listing.annotations, deadLetters, [source.scope]);
  const outcome: AuditOutcome = {
    report,
    complete: { tool: source.complete, clarifai: listing.complete },
    deadLettersRead: messages.length,
  };
  const repaired = run.repair && run.sqs ? await repair(run, source.bodies, report) : undefined;
  const deleted = run.deleteExtra ? await deleteExtra(run, report, outcome.complete) : undefined;
  return { ...outcome, ...(repaired ? { repaired } : {}), ...(deleted ? { deleted } : {}) };
}

/** Queues the tool's current body of each missing or stale annotation, grouped by format (its attribute). */
async function repair(run: AuditRun, bodies: readonly SourceBody[], report: AuditReport) {
  const chosen = report.repairBodies.map((i) => bodies[i]).filter((b): b is SourceBody => b !== undefined);
  const byFormat = new Map<string, SourceBody[]>();
  for (const b of chosen) byFormat.set(b.format ?? "", [...(byFormat.get(b.format ?? "") ?? []), b]);
  const failed: { origin: string; reason: string }[] = [];
  for (const [format, group] of byFormat)
    failed.push(
      ...(await sendBodies(
        (run.sqs as () => SQSClient)(),
        (run.repair as { queueUrl: string }).queueUrl,
        group,
        run.progress?.("queued"),
        (b) => (b as SourceBody).groupId,
        format ? { format } : {},
      )),
    );
  return { queued: chosen.length - failed.length, failed };
}

/** Deletes the extras (DeleteAnnotations, 128 a request): only after a complete read of the tool. */
async function deleteExtra(run: AuditRun, report: AuditReport, complete: AuditOutcome["complete"]) {
  if (!complete.tool)
    return { count: 0, failed: ["not deleted: the tool was not read to the end (raise --max-pages)"] };
  const extras = report.labelers.flatMap((l) => l.extra);
  const failed: string[] = [];
  let count = 0;
  for (let i = 0; i < extras.length; i += 128) {
    const slice = extras.slice(i, i + 128);
    await run.limiter.acquire();
    const result = await run.client.deleteAnnotations(
      run.app,
      slice.map((e) => e.id),
      slice.map((e) => e.inputId),
      20_000,
    );
    const outcome = classifyWhole(result);
    if (outcome.kind === "delivered") count += slice.length;
    else failed.push(`${slice.length} not deleted: ${outcome.reason}`);
  }
  return { count, failed };
}

/** The audit as a table per labeler, then the ids of each finding (at most `idsShown` per kind and labeler). */
export function formatAudit(outcome: AuditOutcome, idsShown = 20): string[] {
  const { report } = outcome;
  const t = report.totals;
  const lines = [
    `Audit of Clarifai task ${report.taskId}`,
    `${"labeler".padEnd(36)} ${"in tool".padStart(8)} ${"in Clarifai".padStart(11)} ${"missing".padStart(8)} ${"stale".padStart(6)} ${"extra".padStart(6)}`,
  ];
  const name = (l: (typeof report.labelers)[number]) =>
    [l.labeler, l.email, l.worker ? `-> ${l.worker}` : undefined].filter(Boolean).join(" ");
  for (const l of report.labelers)
    lines.push(
      `${name(l).slice(0, 36).padEnd(36)} ${String(l.inTool).padStart(8)} ${String(l.inClarifai).padStart(11)} ${String(l.missing.length).padStart(8)} ${String(l.stale.length).padStart(6)} ${String(l.extra.length).padStart(6)}`,
    );
  lines.push(
    `${"all".padEnd(36)} ${String(t.inTool).padStart(8)} ${String(t.inClarifai).padStart(11)} ${String(t.missing).padStart(8)} ${String(t.stale).padStart(6)} ${String(t.extra).padStart(6)}`,
  );
  for (const l of report.labelers) {
    const shown = <T>(list: readonly T[]) => list.slice(0, idsShown);
    const more = (list: readonly unknown[]) =>
      list.length > idsShown ? [`    ... and ${list.length - idsShown} more (--json lists all)`] : [];
    for (const m of shown(l.missing))
      lines.push(
        `  missing ${l.labeler}: ${m.id} on ${m.inputId}${m.deadLetter ? ` (in the DLQ: ${m.deadLetter.errorCode}: ${m.deadLetter.reason})` : ""}`,
      );
    lines.push(...more(l.missing));
    for (const s of shown(l.stale))
      lines.push(`  stale   ${l.labeler}: ${s.id} (Clarifai ${s.clarifai || "no version"}, tool ${s.tool})`);
    lines.push(...more(l.stale));
    for (const e of shown(l.extra)) lines.push(`  extra   ${l.labeler}: ${e.id} on ${e.inputId}`);
    lines.push(...more(l.extra));
  }
  if (t.inDeadLetters)
    lines.push(`${t.inDeadLetters} of the missing wait in the dead-letter queue (reasons above)`);
  if (outcome.deadLettersRead === 0)
    lines.push("dead-letter queue not read (give --dlq-url to see what waits there)");
  for (const r of report.refused.slice(0, idsShown))
    lines.push(`  the bridge refuses ${r.origin}: ${r.errorCode}: ${r.reason}`);
  if (t.otherTask) lines.push(`${t.otherTask} of the tool's annotations are mapped to another Clarifai task`);
  if (t.otherInTask)
    lines.push(`${t.otherInTask} other annotation(s) in the task (not the bridge's from this source)`);
  if (!outcome.complete.tool) lines.push("NOT COMPLETE: the tool was not read to the end (--max-pages)");
  if (!outcome.complete.clarifai) lines.push("NOT COMPLETE: Clarifai was not read to the end (--max-pages)");
  if (outcome.repaired)
    lines.push(
      `repair: queued ${outcome.repaired.queued} body(ies) for what is missing or stale${outcome.repaired.failed.length ? `; ${outcome.repaired.failed.length} refused by SQS` : ""}`,
    );
  if (outcome.deleted)
    lines.push(
      `delete-extra: deleted ${outcome.deleted.count}${outcome.deleted.failed.map((f) => `; ${f}`).join("")}`,
    );
  if (t.missing + t.stale + t.extra === 0 && outcome.complete.tool && outcome.complete.clarifai)
    lines.push("nothing missing, stale or extra");
  return lines;
}

/** `clarifai-bridge work`: per worker, annotations by status, the newest time, and the upstream labelers. */
export function formatWork(taskId: string, rows: readonly WorkerRow[], listing: TaskListing): string[] {
  const head = [
    "worker".padEnd(24),
    "total".padStart(7),
    ...WORK_STATUSES.map((s) => s.padStart(s.length + 1)),
  ];
  const lines = [
    `Work in Clarifai task ${taskId}`,
    `${head.join(" ")}  newest                    upstream labelers`,
  ];
  for (const r of rows) {
    const upstream = Object.entries(r.upstream)
      .map(([k, n]) => `${k} (${n})`)
      .join(", ");
    lines.push(
      `${[
        r.worker.slice(0, 24).padEnd(24),
        String(r.total).padStart(7),
        ...WORK_STATUSES.map((s) => String(r.byStatus[s]).padStart(s.length + 1)),
      ].join(" ")}  ${(r.newest || "-").padEnd(24)}  ${upstream || "-"}`,
    );
  }
  lines.push(
    `${rows.reduce((n, r) => n + r.total, 0)} annotation(s) from ${rows.length} worker(s), ${listing.pages} page(s) read`,
  );
  if (!listing.complete) lines.push("NOT COMPLETE: stopped at --max-pages");
  return lines;
}

import { readFileSync } from "node:fs";
import { type AuditOutcome, runAudit } from "../bin/cli/audit.js";
import { readLabelStudioProject } from "../lambda/audit/sources.js";
import { createClarifaiClient } from "../lambda/clarifai/client.js";
import { createRateLimiter } from "../lambda/delivery/rate-limiter.js";
import { mappingConfigSchema } from "../lambda/events/contract/mapping-config.js";
import { createJsonGetter } from "../lambda/pull/edges.js";
import { LOCAL_APP, LOCAL_PAT, LOCAL_USER } from "./environment.js";
import { drainQueue, type LocalRun } from "./local-run.js";
import { LABEL_STUDIO_TOKEN } from "./pull-demo.js";
import type { LabelStudioTask, UpstreamApis } from "./upstream-apis.js";

/**
 * `npm start`'s audit: the Label Studio stand-in holds what the run's Label Studio examples made (their projects
 * 12, 14, 15 and 16, each annotation in its final state) and the annotation the puller recovered; the code of
 * `clarifai-bridge audit` compares each project with its Clarifai task (nothing missing or stale). Then a webhook is
 * dropped (an annotation Label Studio holds that never reached the queue): the audit finds it, by labeler, `--repair`
 * queues it, and the next audit is clean. Project 12's task also holds the canonical examples 01-03, which name
 * Label Studio annotations 4521-4523 this stand-in does not hold: the audit shows them as extra, as it would an
 * exporter's events for annotations the tool no longer has.
 */
export interface AuditDemo {
  readonly projects: { readonly projectId: number; readonly outcome: AuditOutcome }[];
  readonly dropped: AuditOutcome;
  readonly repaired: AuditOutcome;
  readonly after: AuditOutcome;
}

/** The Label Studio examples, by project (an annotation created then updated appears in its last state). */
const EXAMPLES: Record<number, string[]> = {
  12: ["12-label-studio-updated.json", "17-label-studio-brush-mask.json"],
  14: ["18-label-studio-keypoints.json"],
  15: ["16-label-studio-video-track.json"],
  16: ["19-label-studio-ner.json"],
};

/** A Label Studio webhook body (an example) as the task list holds it: the task with this annotation. */
function asTask(file: string): LabelStudioTask {
  const body = JSON.parse(readFileSync(`examples/events/${file}`, "utf8"));
  return {
    ...body.task,
    updated_at: body.annotation.updated_at,
    annotations: [{ ...body.annotation, task: body.task.id }],
  };
}

export async function auditDemo(run: LocalRun, apis: UpstreamApis): Promise<AuditDemo> {
  const standIn = run.env.standIn;
  if (!standIn) throw new Error("the audit demo needs the Clarifai stand-in");
  const mapping = mappingConfigSchema.parse(JSON.parse(process.env.BRIDGE_MAPPING ?? "{}"));
  for (const [project, files] of Object.entries(EXAMPLES))
    apis.labelStudio.set(Number(project), [
      ...files.map(asTask),
      ...(apis.labelStudio.get(Number(project)) ?? []),
    ]);
  const app = { userId: LOCAL_USER, appId: LOCAL_APP };
  const client = createClarifaiClient(standIn.url, LOCAL_PAT);
  const audit = (project: number, repair = false) =>
    runAudit({
      taskId: mapping.projects[`label-studio:${project}`]?.taskId as string,
      app,
      client,
      limiter: createRateLimiter(10),
      parse: { taskLink: "both", defaultApp: app, upstream: mapping },
      readSource: () =>
        readLabelStudioProject(apis.url, project, {
          getJson: createJsonGetter(50, 5000),
          token: LABEL_STUDIO_TOKEN,
        }),
      sqs: () => run.env.sqs,
      dlqUrl: run.env.dlqUrl,
      ...(repair ? { repair: { queueUrl: run.env.queueUrl } } : {}),
    });
  try {
    const projects = [];
    for (const projectId of Object.keys(EXAMPLES).map(Number))
      projects.push({ projectId, outcome: await audit(projectId) });
    // A labeler (Label Studio user 9) boxes a car on a new task; its webhook never reaches the ingress.
    const example = asTask("12-label-studio-updated.json");
    const at = new Date().toISOString();
    apis.labelStudio.get(12)?.push({
      ...example,
      id: 3398,
      updated_at: at,
      data: { ...example.data, clarifai_input_id: "sku-street-0398" },
      annotations: example.annotations.map((a) => ({
        ...a,
        id: 5001,
        task: 3398,
        completed_by: 9,
        updated_at: at,
      })),
    });
    const dropped = await audit(12);
    const repaired = await audit(12, true);
    await drainQueue(run);
    const after = await audit(12);
    return { projects, dropped, repaired, after };
  } finally {
    client.close();
  }
}

const whole = (o: AuditOutcome) => o.report.totals.missing + o.report.totals.stale === 0;

export function formatAuditDemo(d: AuditDemo): string {
  const lines = [
    "\nAudit of this run (clarifai-bridge audit --task <task> --source label-studio:<project>):",
  ];
  for (const { projectId, outcome } of d.projects) {
    const t = outcome.report.totals;
    lines.push(
      `  project ${String(projectId).padEnd(3)} -> ${outcome.report.taskId.padEnd(22)} ${t.inTool} in Label Studio, ${t.inClarifai} in Clarifai: ${
        whole(outcome) ? "nothing missing or stale" : `NOT WHOLE (${t.missing} missing, ${t.stale} stale)`
      }${t.extra ? `; ${t.extra} extra (the canonical examples 01-03 name Label Studio annotations the stand-in does not hold)` : ""}`,
    );
  }
  const missing = d.dropped.report.labelers.flatMap((l) => l.missing.map(() => l.labeler));
  lines.push(
    `  A dropped webhook: the audit finds ${missing.length} annotation(s) of ${[...new Set(missing)].join(", ")} missing; --repair queued ${d.repaired.repaired?.queued ?? 0} body; the next audit: ${whole(d.after) ? "nothing missing or stale" : "NOT WHOLE"}.`,
  );
  return lines.join("\n");
}

export const auditDemoClean = (d: AuditDemo) =>
  d.projects.every((p) => whole(p.outcome)) &&
  d.dropped.report.totals.missing > 0 &&
  d.repaired.repaired?.queued === 1 &&
  whole(d.after);

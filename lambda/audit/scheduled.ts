import type { ClarifaiClient } from "../clarifai/client.js";
import type { AppRef, TaskLinkMode } from "../clarifai/to-annotation.js";
import type { RateLimiter } from "../delivery/rate-limiter.js";
import type { MappingConfig } from "../events/contract/mapping-config.js";
import { type AuditReport, compareWork } from "./compare.js";
import { expectedFromBodies } from "./expected.js";
import { listTaskAnnotations } from "./read-clarifai.js";
import { type GetJson, readLabelStudioProject } from "./sources.js";

/**
 * The puller's scheduled audit (off unless `puller.audit` is set): once per schedule, each configured Label Studio
 * project against the Clarifai task its mapping names, counted as `AuditMissing`, `AuditStale` and `AuditExtra`
 * per task. Only a complete comparison is counted: a project or task read only in part (its pages bound, the run's
 * time) is logged and left uncounted, so a partial read never shows as missing work. It does not read the
 * dead-letter queue (what waits there is counted missing here; `clarifai-bridge audit --dlq-url` says which).
 */
export type AuditMetric = "AuditMissing" | "AuditStale" | "AuditExtra";

export interface ScheduledAuditDeps {
  readonly projects: readonly number[];
  readonly labelStudioUrl: string;
  readonly token: string;
  readonly getJson: GetJson;
  readonly mapping: MappingConfig;
  readonly taskLink: TaskLinkMode;
  readonly client: ClarifaiClient;
  readonly app: AppRef | null;
  readonly limiter: RateLimiter;
  readonly maxPages: number;
  readonly put: (metric: AuditMetric, taskId: string, n: number) => void;
  readonly log: (level: "info" | "warn" | "error", message: string, extra?: Record<string, unknown>) => void;
  /** Below 60 s left, no further project is started. @default no limit */
  readonly remainingMs?: () => number;
}

export interface ScheduledAuditResult {
  readonly audited: {
    readonly projectId: number;
    readonly taskId: string;
    readonly totals: AuditReport["totals"];
  }[];
  /** Projects read only in part, or not reached in the run's time: not counted. */
  readonly incomplete: number[];
  readonly failed: number[];
}

export async function auditProjects(deps: ScheduledAuditDeps): Promise<ScheduledAuditResult> {
  const result: ScheduledAuditResult = { audited: [], incomplete: [], failed: [] };
  for (const projectId of deps.projects) {
    if (deps.remainingMs && deps.remainingMs() < 60_000) {
      result.incomplete.push(projectId);
      deps.log("warn", "audit: too little time left for this project; it is audited next time", {
        projectId,
      });
      continue;
    }
    const taskId = deps.mapping.projects[`label-studio:${projectId}`]?.taskId;
    if (!taskId) {
      result.failed.push(projectId);
      deps.log("error", "audit: the project has no taskId in the mapping", { projectId });
      continue;
    }
    try {
      const source = await readLabelStudioProject(deps.labelStudioUrl, projectId, {
        getJson: deps.getJson,
        token: deps.token,
        maxPages: deps.maxPages,
      });
      const listing = await listTaskAnnotations(deps.client, deps.app, taskId, {
        limiter: deps.limiter,
        maxPages: deps.maxPages,
      });
      if (!source.complete || !listing.complete) {
        result.incomplete.push(projectId);
        deps.log("warn", "audit: read only in part (maxPages); not counted", {
          projectId,
          taskId,
          tool: source.complete,
          clarifai: listing.complete,
        });
        continue;
      }
      const expected = expectedFromBodies(source.bodies, {
        taskLink: deps.taskLink,
        defaultApp: deps.app,
        upstream: deps.mapping,
      });
      const report = compareWork(taskId, expected, listing.annotations, [], [source.scope]);
      deps.put("AuditMissing", taskId, report.totals.missing);
      deps.put("AuditStale", taskId, report.totals.stale);
      deps.put("AuditExtra", taskId, report.totals.extra);
      result.audited.push({ projectId, taskId, totals: report.totals });
      deps.log(report.totals.missing + report.totals.stale > 0 ? "warn" : "info", "audit: project compared", {
        projectId,
        taskId,
        ...report.totals,
        // A few ids to start from; `clarifai-bridge audit` lists them all, with the DLQ's reasons.
        missingIds: report.labelers.flatMap((l) => l.missing.map((m) => m.id)).slice(0, 20),
        staleIds: report.labelers.flatMap((l) => l.stale.map((s) => s.id)).slice(0, 20),
      });
    } catch (error) {
      result.failed.push(projectId);
      deps.log("error", "audit: the project could not be compared", {
        projectId,
        taskId,
        error: (error instanceof Error ? error.message : String(error)).slice(0, 500),
      });
    }
  }
  return result;
}

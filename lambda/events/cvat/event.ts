import * as z from "zod/mini";
import { AdapterError, idLike, opt, projectMapping, idText as text } from "../contract/adapter-result.js";
import type { MappingConfig, ProjectMapping } from "../contract/mapping-config.js";
import type { Skipped } from "../contract/skip.js";
import type { LabelingEvent, Region } from "../event-schema.js";
import type { LabelNames } from "./shapes.js";

/**
 * What the CVAT bodies (a frame of an image job, cvat/index.ts; a video job, cvat/video.ts) share: the job's mapping,
 * its label names, and the event they become (an update of the whole set, ordered by the job's `updated_date`).
 */
/** The job as both bodies carry it. */
export const jobFields = {
  id: idLike,
  task_id: idLike,
  project_id: opt(idLike),
  updated_date: z.string(),
  assignee: opt(z.looseObject({ id: opt(idLike), username: opt(z.string()), email: opt(z.string()) })),
};

export interface CvatJob {
  readonly id: string | number;
  readonly task_id: string | number;
  readonly project_id?: string | number | null | undefined;
  readonly updated_date: string;
  readonly assignee?: {
    id?: unknown;
    username?: string | null | undefined;
    email?: string | null | undefined;
  } | null;
}

/** The job's ids and its mapping: `cvat:task:<task id>`, else `cvat:<project id>`. */
export function jobMapping(job: CvatJob, config: MappingConfig) {
  const jobId = text(job.id);
  const taskId = text(job.task_id);
  const projectId = job.project_id != null ? text(job.project_id) : "";
  const keys = [`cvat:task:${taskId}`, ...(projectId ? [`cvat:${projectId}`] : [])];
  const key = keys.find((k) => config.projects[k]) ?? keys[keys.length - 1] ?? `cvat:task:${taskId}`;
  return { jobId, taskId, projectId, key, mapping: projectMapping(config, key) };
}

/** Looks a label id up among the job's labels, or refuses naming the object that carries it. */
export function labelNames(
  labels: readonly { id: string | number; name: string }[],
  what: string,
): LabelNames {
  const names = new Map(labels.map((l) => [text(l.id), l.name]));
  return (labelId, object) => {
    const name = names.get(text(labelId));
    if (name === undefined)
      throw new AdapterError(
        "invalid-upstream",
        `${what}: ${object} has label_id ${text(labelId).slice(0, 32)}, which is not among the job's labels`,
      );
    return name;
  };
}

/** The event a CVAT body becomes: the set as it is now, with the assignee as the labeler. */
export function cvatEvent(parts: {
  readonly job: CvatJob;
  readonly what: string;
  readonly ids: ReturnType<typeof jobMapping>;
  readonly mapping: ProjectMapping;
  readonly inputId: string;
  readonly annotationId: string;
  /** What the event id names after the job: the frame number, or `video`. */
  readonly eventPart: string;
  readonly assetRef: string | null | undefined;
  readonly concepts?: NonNullable<LabelingEvent["concepts"]>;
  readonly regions: readonly Region[];
  readonly skipped: Skipped;
}): LabelingEvent {
  const { job, ids, mapping, concepts = [], regions, skipped, assetRef } = parts;
  if (Number.isNaN(Date.parse(job.updated_date)))
    throw new AdapterError("invalid-upstream", `${parts.what}: job.updated_date is not a time`);
  const assignee = job.assignee;
  const labelerId = assignee
    ? text(assignee.id as string | number | undefined) || text(assignee.username)
    : "";
  return {
    specVersion: "1",
    eventId: `cvat:${ids.jobId}:${parts.eventPart}:${job.updated_date}`.slice(0, 512),
    type: "annotation.updated",
    occurredAt: new Date(job.updated_date).toISOString(),
    source: "cvat",
    taskId: mapping.taskId,
    inputId: parts.inputId,
    ...(mapping.app ? { app: mapping.app } : {}),
    ...(labelerId
      ? {
          labeler: {
            id: labelerId.slice(0, 255),
            ...(assignee?.email ? { email: assignee.email.slice(0, 320) } : {}),
            ...(assignee?.username ? { name: assignee.username.slice(0, 255) } : {}),
          },
        }
      : {}),
    ...(concepts.length ? { concepts } : {}),
    ...(regions.length ? { regions: [...regions] } : {}),
    upstream: {
      system: "cvat",
      projectId: ids.key.slice("cvat:".length).slice(0, 255),
      taskId: ids.taskId.slice(0, 255),
      annotationId: parts.annotationId,
      ...(assetRef ? { assetRef: assetRef.slice(0, 2048) } : {}),
      revision: job.updated_date.slice(0, 64),
      timeSource: "upstream",
    },
    ...(skipped.length ? { metadata: { bridge_skipped: skipped } } : {}),
  };
}

import type { MappingConfig, StatusPolicy } from "../events/contract/mapping-config.js";
import type { LabelingEvent } from "../events/event-schema.js";
import { type Failure, permanent } from "../failure.js";
import type { StatusName } from "./status-codes.js";

/**
 * Whose work an annotation is, and the status it is posted with: plain functions of the event and the mapping
 * (BRIDGE_MAPPING). Clarifai's Task Annotations page asks that "all the annotations of this user related to this
 * task should be linked to the task id"; the worker makes them that user's.
 */

/** Who the annotation is posted as. */
export type Attribution =
  /** A Clarifai user: the annotation carries `worker.user.id`. */
  | { readonly kind: "worker"; readonly userId: string }
  /** The key's owner (no worker sent); `unmapped` names the upstream labeler that had no Clarifai user. */
  | { readonly kind: "bridge-user"; readonly unmapped?: string }
  | { readonly kind: "refused"; readonly failure: Failure };

/** Mapping keys in lower case, for the email lookup; built once per mapping. */
const lowerKeys = new WeakMap<object, Map<string, string>>();

function lowerIndex(labelers: Readonly<Record<string, string>>): Map<string, string> {
  let index = lowerKeys.get(labelers);
  if (!index) {
    index = new Map();
    for (const [k, v] of Object.entries(labelers))
      if (!index.has(k.toLowerCase())) index.set(k.toLowerCase(), v);
    lowerKeys.set(labelers, index);
  }
  return index;
}

/** The labeler as the logs and dead-letter reasons name it: `<source>:<id>` and the email when there is one. */
export function labelerName(event: LabelingEvent): string | undefined {
  const labeler = event.labeler;
  if (!labeler) return undefined;
  const email = labeler.email && labeler.email !== labeler.id ? ` (${labeler.email})` : "";
  return `${event.source}:${labeler.id}${email}`;
}

/**
 * A `labelers` key that names a source (`label-studio:7`, `labelbox:ana@example.com`): the part before its first
 * `:` has the form of an event's `source`. Such a key matches only events from that source; emails and bare ids are
 * looked up among the other keys alone, so a labeler id that holds a `:` (`"labelbox:ana@example.com"` sent as a
 * Label Studio `completed_by`) is data, never a way to borrow another tool's Clarifai user.
 */
const SOURCE_PREFIX = /^[a-z0-9][a-z0-9._-]{0,63}:/i;
const unprefixed = (k: string) => !SOURCE_PREFIX.test(k);

/**
 * The Clarifai user an event's annotations are posted as: the producer's `labeler.clarifaiUserId`, else the
 * mapping's `labelers` by `<source>:<id>` (then `<source>:<email>`, any case), then among keys that name no source:
 * the email (any case; a Labelbox labeler id is its email), then the id alone. A labeler found nowhere follows
 * `unmappedLabelers`: `bridge-user` (the default) posts as the key's owner, `dead-letter` refuses the event. An
 * event without a labeler is the bridge's own under either policy only when the policy is `bridge-user`.
 */
export function attribute(event: LabelingEvent, mapping: MappingConfig): Attribution {
  const labeler = event.labeler;
  if (labeler?.clarifaiUserId) return { kind: "worker", userId: labeler.clarifaiUserId };
  const table = mapping.labelers ?? {};
  if (labeler) {
    const emails = [labeler.email, labeler.id.includes("@") ? labeler.id : undefined].filter(
      (e): e is string => typeof e === "string" && e !== "",
    );
    const index = emails.length > 0 ? lowerIndex(table) : undefined;
    const found =
      own(table, `${event.source}:${labeler.id}`) ??
      emails.map((e) => index?.get(`${event.source}:${e}`.toLowerCase())).find((u) => u !== undefined) ??
      emails
        .filter(unprefixed)
        .map((e) => index?.get(e.toLowerCase()))
        .find((u) => u !== undefined) ??
      (unprefixed(labeler.id) ? own(table, labeler.id) : undefined);
    if (found) return { kind: "worker", userId: found };
  }
  const name = labelerName(event);
  if ((mapping.unmappedLabelers ?? "bridge-user") === "dead-letter")
    return {
      kind: "refused",
      failure: permanent(
        "unmapped-labeler",
        name
          ? `labeler ${name} has no Clarifai user in the mapping's labelers, and unmappedLabelers is "dead-letter": add "${event.source}:${labeler?.id}" (or the email) to labelers, then redrive`
          : `this event names no labeler, and unmappedLabelers is "dead-letter": the producer must say who labeled it`,
      ),
    };
  return name ? { kind: "bridge-user", unmapped: name } : { kind: "bridge-user" };
}

const own = (table: Readonly<Record<string, string>>, k: string): string | undefined =>
  Object.hasOwn(table, k) ? table[k] : undefined;

/**
 * The status policy for an annotation in `taskId`: the mapping's `tasks[taskId].status`, else the project's
 * `status` (for upstream payloads; `projectKey` is `<source>:<project id>`), else the mapping's `status`, else
 * `from-task`.
 */
export function statusPolicyOf(
  mapping: MappingConfig,
  taskId: string,
  projectKey: string | undefined,
): StatusPolicy {
  const tasks = mapping.tasks ?? {};
  const task = Object.hasOwn(tasks, taskId) ? tasks[taskId]?.status : undefined;
  const project =
    projectKey !== undefined && Object.hasOwn(mapping.projects, projectKey)
      ? mapping.projects[projectKey]?.status
      : undefined;
  return task ?? project ?? mapping.status ?? "from-task";
}

/** A task's review strategy, as GetTask names it (`NOT_SET` when the task says nothing). */
export type ReviewStrategy = "NOT_SET" | "NONE" | "MANUAL" | "CONSENSUS";

const FIXED: Readonly<Record<Exclude<StatusPolicy, "from-task">, StatusName>> = {
  success: "ANNOTATION_SUCCESS",
  pending: "ANNOTATION_PENDING",
  "awaiting-review": "ANNOTATION_AWAITING_REVIEW",
  "awaiting-consensus-review": "ANNOTATION_AWAITING_CONSENSUS_REVIEW",
};

/** Under Clarifai's own flow: NONE ends in SUCCESS, MANUAL in AWAITING_REVIEW, CONSENSUS in AWAITING_CONSENSUS_REVIEW. */
const BY_REVIEW: Readonly<Record<ReviewStrategy, StatusName>> = {
  NOT_SET: "ANNOTATION_SUCCESS",
  NONE: "ANNOTATION_SUCCESS",
  MANUAL: "ANNOTATION_AWAITING_REVIEW",
  CONSENSUS: "ANNOTATION_AWAITING_CONSENSUS_REVIEW",
};

/**
 * The status to post: the fixed one a policy names, or for `from-task` the one the task's review strategy implies.
 * `undefined` when the policy is `from-task` and the task could not be read: the annotation is posted without a
 * status, and Clarifai applies its own default.
 */
export function statusFor(policy: StatusPolicy, review: ReviewStrategy | undefined): StatusName | undefined {
  if (policy !== "from-task") return FIXED[policy];
  return review === undefined ? undefined : BY_REVIEW[review];
}

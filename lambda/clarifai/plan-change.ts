import { type Change, type ClarifaiAnnotation, VERSION_KEY } from "./to-annotation.js";

/** An annotation Clarifai holds, as ListAnnotations returns it (only the fields a plan reads). */
export interface HeldAnnotation {
  readonly id: string;
  readonly input_id: string;
  readonly annotation_info?: Record<string, unknown>;
  readonly data?: { readonly metadata?: Record<string, unknown> };
}

/** The requests that turn what Clarifai holds into what a change asks for. */
export interface ChangePlan {
  /** Clarifai holds a newer version of the set (an update that arrived late): nothing is sent. */
  readonly stale: boolean;
  /** Members Clarifai holds and the change keeps: PATCH with `action: "overwrite"`. */
  readonly patch: readonly ClarifaiAnnotation[];
  /** Members Clarifai does not hold yet: POST (an update of an annotation Clarifai never got becomes a create). */
  readonly post: readonly ClarifaiAnnotation[];
  /** Members Clarifai holds that the change drops: DELETE. */
  readonly remove: readonly { readonly id: string; readonly inputId: string }[];
}

/** Whether an annotation id belongs to the set of an upstream annotation: the base id, or a region member of it. */
export const isMemberOf = (id: string, baseId: string): boolean =>
  id === baseId || id.startsWith(`${baseId}-r-`);

/**
 * Diffs a change against the annotations Clarifai holds (../shared/upstream-events.md 7.7): kept members are
 * overwritten, new ones created, vanished ones deleted. An update older than the held set (by `occurred_at` in
 * `annotation_info`) changes nothing; a delete always applies. Deleting what is not there is nothing to do.
 */
export function planChange(change: Change, held: readonly HeldAnnotation[]): ChangePlan {
  const members = held.filter(
    (a) => isMemberOf(a.id, change.baseId) && (change.inputId === undefined || a.input_id === change.inputId),
  );
  if (change.kind === "replace" && members.some((m) => heldIsNewer(m, change.occurredAt)))
    return { stale: true, patch: [], post: [], remove: [] };
  const wanted = change.kind === "replace" ? change.annotations : [];
  const heldIds = new Set(members.map((m) => m.id));
  // A member already written by this very change (its event id and version) is done: a change redelivered after
  // a timeout (a video track of thousands of annotations) goes on where it stopped instead of starting again.
  const done = new Set(
    members.filter((m) => change.kind === "replace" && isFrom(m, change)).map((m) => m.id),
  );
  const wantedIds = new Set(wanted.map((a) => a.id));
  return {
    stale: false,
    patch: wanted.filter((a) => heldIds.has(a.id) && !done.has(a.id)),
    post: wanted.filter((a) => !heldIds.has(a.id)),
    remove: members.filter((m) => !wantedIds.has(m.id)).map((m) => ({ id: m.id, inputId: m.input_id })),
  };
}

/**
 * Whether a held member is this change's own writing: `data.metadata` holds its version (an overwrite certainly
 * writes `data`) and `annotation_info` its event id. Under a Clarifai whose overwrite keeps `annotation_info`, a
 * patched member still names the event that created it, so it is patched again: safe, only not skipped.
 */
function isFrom(held: HeldAnnotation, change: Change): boolean {
  return (
    held.data?.metadata?.[VERSION_KEY] === change.occurredAt &&
    held.annotation_info?.event_id === change.eventId
  );
}

/**
 * Whether the held member is a newer version than `occurredAt`. Its version is the later of
 * `annotation_info.occurred_at` and `data.metadata.bridge_occurred_at`: an overwrite certainly writes `data`, and
 * may or may not write `annotation_info`, so under either behaviour the later one is the last version applied.
 */
function heldIsNewer(held: HeldAnnotation, occurredAt: string): boolean {
  const times = [held.annotation_info?.occurred_at, held.data?.metadata?.[VERSION_KEY]]
    .map((t) => (typeof t === "string" ? Date.parse(t) : Number.NaN))
    .filter(Number.isFinite);
  const at = Date.parse(occurredAt);
  return times.length > 0 && Number.isFinite(at) && Math.max(...times) > at;
}

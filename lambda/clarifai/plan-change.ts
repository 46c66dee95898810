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
  // A member Clarifai holds at this very version is done, whatever event wrote it: a change redelivered after a
  // timeout (a video track of thousands of annotations) goes on where it stopped instead of starting again, and
  // the same version arriving under another name (the puller re-reading what the webhook delivered, as an update
  // at the same updated_at) writes nothing: no new event id, no new region ids. A newer version always writes.
  const at = Date.parse(change.occurredAt);
  const done = new Set(
    members
      .filter((m) => change.kind === "replace" && Number.isFinite(at) && writtenVersion(m) === at)
      .map((m) => m.id),
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
 * The version a held member's content certainly is: `data.metadata.bridge_occurred_at`, which every write sets
 * (an overwrite certainly writes `data`), else `annotation_info.occurred_at`; NaN when it has neither.
 */
export function writtenVersion(held: HeldAnnotation): number {
  const data = held.data?.metadata?.[VERSION_KEY];
  const info = held.annotation_info?.occurred_at;
  const t = typeof data === "string" ? data : typeof info === "string" ? info : undefined;
  return t === undefined ? Number.NaN : Date.parse(t);
}

/**
 * A held member's version: the later of `annotation_info.occurred_at` and `data.metadata.bridge_occurred_at` (an
 * overwrite certainly writes `data`, and may or may not write `annotation_info`, so under either behaviour the
 * later one is the last version applied); NaN when it has neither.
 */
export function heldVersion(held: HeldAnnotation): number {
  const times = [held.annotation_info?.occurred_at, held.data?.metadata?.[VERSION_KEY]]
    .map((t) => (typeof t === "string" ? Date.parse(t) : Number.NaN))
    .filter(Number.isFinite);
  return times.length > 0 ? Math.max(...times) : Number.NaN;
}

/**
 * Whether the held member is a newer version than `occurredAt`. Its version is the later of
 * `annotation_info.occurred_at` and `data.metadata.bridge_occurred_at`: an overwrite certainly writes `data`, and
 * may or may not write `annotation_info`, so under either behaviour the later one is the last version applied.
 */
function heldIsNewer(held: HeldAnnotation, occurredAt: string): boolean {
  const version = heldVersion(held);
  const at = Date.parse(occurredAt);
  return Number.isFinite(version) && Number.isFinite(at) && version > at;
}

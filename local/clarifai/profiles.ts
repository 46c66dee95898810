/**
 * How the stand-in answers where Clarifai's real behaviour is unconfirmed (../shared/clarifai-api.md and the
 * protos leave these open). Each behaviour has the plausible answers; a profile picks one of each. The bridge's
 * tests run under every profile, and `clarifai-bridge doctor` tells which profile the real Clarifai matches.
 */
export interface Behaviour {
  /**
   * A request holding an annotation Clarifai refuses (an invalid box, a duplicate id, a missing input): only that
   * one is refused, in a MIXED_STATUS answer with a status per item (`per-item`), or the whole request is
   * refused with that annotation's code and no item statuses (`whole-request`), and nothing of it is stored.
   */
  readonly refusal: "per-item" | "whole-request";
  /**
   * What item statuses say when the top-level status is SUCCESS: the operation's result, ANNOTATION_SUCCESS
   * (`result`), or the stored annotation's state, ANNOTATION_PENDING, as a task with review would (`state`).
   */
  readonly itemStatus: "result" | "state";
  /**
   * PatchAnnotations with `action: "overwrite"` replaces `data`; whether it also replaces `annotation_info` and
   * `task_id` (`replaces`) or keeps the stored ones (`keeps`) is undocumented.
   */
  readonly overwrite: "replaces" | "keeps";
  /** Which field ListAnnotations' `task_id` filter reads. */
  readonly taskFilter: "task_id" | "annotation_info" | "both";
  /** The answer to a POST of an annotation id that exists: 40010, 24155, or success (the stored one unchanged). */
  readonly duplicateId: "40010" | "24155" | "success";
  /** `per_page` capped at 1,000 and a non-numeric `page` refused (`strict`), or anything taken (`lax`). */
  readonly paging: "lax" | "strict";
  /** Request URLs longer than this are answered 414 without a Clarifai status. @default no limit */
  readonly maxUrlBytes?: number;
  /**
   * GetTask of a task that does not exist: HTTP 404 with TASK_MISSING (`task-missing`), HTTP 404 with FAILURE and
   * "Resource does not exist" (`failure-404`), or HTTP 400 with TASK_MISSING (`task-missing-400`). Unconfirmed.
   * @default "task-missing"
   */
  readonly unknownTask?: "task-missing" | "failure-404" | "task-missing-400";
  /**
   * The state a POST without `status` leaves an annotation in: the same whatever the task (`default`:
   * ANNOTATION_SUCCESS, or ANNOTATION_PENDING where item statuses are states), or the state the task's review
   * implies (`from-task`). Unconfirmed. @default "default"
   */
  readonly plainPostStatus?: "default" | "from-task";
}

export const DEFAULT_BEHAVIOUR: Behaviour = {
  refusal: "per-item",
  itemStatus: "result",
  overwrite: "replaces",
  taskFilter: "task_id",
  duplicateId: "40010",
  paging: "lax",
};

/** The profiles the tests run under: one unconfirmed behaviour changed at a time, and all the hard ones at once. */
export const PROFILES = {
  default: DEFAULT_BEHAVIOUR,
  "whole-request": { ...DEFAULT_BEHAVIOUR, refusal: "whole-request" },
  states: { ...DEFAULT_BEHAVIOUR, itemStatus: "state" },
  "overwrite-keeps-info": { ...DEFAULT_BEHAVIOUR, overwrite: "keeps" },
  "task-filter-info": { ...DEFAULT_BEHAVIOUR, taskFilter: "annotation_info" },
  "task-filter-both": { ...DEFAULT_BEHAVIOUR, taskFilter: "both" },
  "duplicate-24155": { ...DEFAULT_BEHAVIOUR, duplicateId: "24155" },
  "duplicate-success": { ...DEFAULT_BEHAVIOUR, duplicateId: "success" },
  strict: { ...DEFAULT_BEHAVIOUR, paging: "strict", maxUrlBytes: 8_192, unknownTask: "task-missing-400" },
  harsh: {
    refusal: "whole-request",
    itemStatus: "state",
    overwrite: "keeps",
    taskFilter: "annotation_info",
    duplicateId: "24155",
    paging: "strict",
    maxUrlBytes: 8_192,
    unknownTask: "failure-404",
  },
} as const satisfies Record<string, Behaviour>;

export type ProfileName = keyof typeof PROFILES;
export const PROFILE_NAMES = Object.keys(PROFILES) as ProfileName[];

/** The environment variable that picks the stand-in's profile (the tests, `npm start`, the soak). */
export const PROFILE_ENV = "CLARIFAI_STAND_IN_PROFILE";

/** A profile by name; an error listing the names for an unknown one. */
export function profile(name: string | undefined): Behaviour {
  if (name === undefined || name === "") return DEFAULT_BEHAVIOUR;
  if (name in PROFILES) return PROFILES[name as ProfileName];
  throw new Error(`unknown stand-in profile "${name}": one of ${PROFILE_NAMES.join(", ")}`);
}

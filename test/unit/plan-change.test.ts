import { describe, expect, test } from "@jest/globals";
import { type HeldAnnotation, isMemberOf, planChange } from "../../lambda/clarifai/plan-change.js";
import type { Change, ClarifaiAnnotation } from "../../lambda/clarifai/to-annotation.js";

const base = "cab-0123";
const member = (id: string, occurredAt = "2026-11-20T09:00:00Z"): ClarifaiAnnotation => ({
  id,
  input_id: "in-1",
  annotation_info: { occurred_at: occurredAt },
  data: { concepts: [{ id: "c", value: 1 }] },
});
const held = (id: string, occurredAt = "2026-11-20T09:00:00Z", inputId = "in-1"): HeldAnnotation => ({
  id,
  input_id: inputId,
  annotation_info: { occurred_at: occurredAt },
});
const replace = (annotations: ClarifaiAnnotation[], occurredAt = "2026-11-20T10:00:00Z"): Change => ({
  kind: "replace",
  app: null,
  taskId: "t",
  baseId: base,
  eventId: "e",
  occurredAt,
  inputId: "in-1",
  annotations,
});
const remove = (inputId?: string): Change => ({
  kind: "delete",
  app: null,
  taskId: "t",
  baseId: base,
  eventId: "e",
  occurredAt: "2026-11-20T08:00:00Z",
  ...(inputId ? { inputId } : {}),
});

describe("planChange: an update or delete against what Clarifai holds", () => {
  test("the held version is the later of annotation_info and data.metadata, so the ordering holds whether an overwrite replaces annotation_info or keeps it", () => {
    // An overwrite that kept annotation_info from the create (09:00) but wrote data (the 11:00 version):
    const kept: HeldAnnotation = {
      ...held(base, "2026-11-20T09:00:00Z"),
      data: { metadata: { bridge_occurred_at: "2026-11-20T11:00:00Z" } },
    };
    expect(planChange(replace([member(base)], "2026-11-20T10:00:00Z"), [kept]).stale).toBe(true);
    expect(planChange(replace([member(base)], "2026-11-20T12:00:00Z"), [kept]).stale).toBe(false);
    // One that replaced both: the same answers.
    const replaced: HeldAnnotation = {
      ...held(base, "2026-11-20T11:00:00Z"),
      data: { metadata: { bridge_occurred_at: "2026-11-20T11:00:00Z" } },
    };
    expect(planChange(replace([member(base)], "2026-11-20T10:00:00Z"), [replaced]).stale).toBe(true);
    expect(planChange(replace([member(base)], "2026-11-20T12:00:00Z"), [replaced]).stale).toBe(false);
  });

  test("membership is the base id or a region member of it, nothing else", () => {
    expect(isMemberOf(base, base)).toBe(true);
    expect(isMemberOf(`${base}-r-abc`, base)).toBe(true);
    expect(isMemberOf(`${base}9`, base)).toBe(false);
    expect(isMemberOf(`${base}-x`, base)).toBe(false);
    expect(isMemberOf("other", base)).toBe(false);
  });

  test("kept members are overwritten, new ones created, vanished ones deleted; others' annotations untouched", () => {
    const plan = planChange(replace([member(base), member(`${base}-r-new`)]), [
      held(base),
      held(`${base}-r-old`),
      held("someone-else"),
      held(`${base}9`),
    ]);
    expect(plan.stale).toBe(false);
    expect(plan.patch.map((a) => a.id)).toEqual([base]);
    expect(plan.post.map((a) => a.id)).toEqual([`${base}-r-new`]);
    expect(plan.remove).toEqual([{ id: `${base}-r-old`, inputId: "in-1" }]);
  });

  test("an update of an annotation Clarifai does not hold becomes a create", () => {
    const plan = planChange(replace([member(base), member(`${base}-r-1`)]), []);
    expect(plan.post.map((a) => a.id)).toEqual([base, `${base}-r-1`]);
    expect(plan.patch).toEqual([]);
    expect(plan.remove).toEqual([]);
  });

  test("an update with nothing left deletes the whole set", () => {
    const plan = planChange(replace([]), [held(base), held(`${base}-r-1`)]);
    expect(plan.remove.map((r) => r.id)).toEqual([base, `${base}-r-1`]);
    expect([...plan.post, ...plan.patch]).toEqual([]);
  });

  test("an update older than the held set changes nothing, nor does the same version; a newer one applies", () => {
    const older = planChange(replace([member(base)], "2026-11-20T08:59:59Z"), [held(base)]);
    expect(older).toEqual({ stale: true, patch: [], post: [], remove: [] });
    // The same version (issue 32: a no-op whatever the action is called). Microsecond timestamps (Label Studio's
    // updated_at) compare by their milliseconds.
    const same = planChange(replace([member(base)], "2026-11-20T09:00:00.000400Z"), [held(base)]);
    expect(same).toEqual({ stale: false, patch: [], post: [], remove: [] });
    const newer = planChange(replace([member(base)], "2026-11-20T09:00:00.001Z"), [held(base)]);
    expect(newer.patch.map((a) => a.id)).toEqual([base]);
  });

  test("a delete removes every member, whatever its age, on the named input only", () => {
    const plan = planChange(remove("in-1"), [
      held(base, "2030-01-01T00:00:00Z"),
      held(`${base}-r-1`),
      held(`${base}-r-2`, undefined, "in-2"),
    ]);
    expect(plan.stale).toBe(false);
    expect(plan.remove).toEqual([
      { id: base, inputId: "in-1" },
      { id: `${base}-r-1`, inputId: "in-1" },
    ]);
  });

  test("a delete without an input finds the members on any input; nothing held is nothing to do", () => {
    expect(planChange(remove(), [held(`${base}-r-2`, undefined, "in-2")]).remove).toEqual([
      { id: `${base}-r-2`, inputId: "in-2" },
    ]);
    expect(planChange(remove(), [held("unrelated")])).toEqual({
      stale: false,
      patch: [],
      post: [],
      remove: [],
    });
  });
});

describe("planChange: a change redelivered after a timeout goes on where it stopped", () => {
  const at = "2026-11-20T10:00:00Z";
  const written = (id: string, eventId = "e", version = at): HeldAnnotation => ({
    id,
    input_id: "in-1",
    annotation_info: { occurred_at: version, event_id: eventId },
    data: { metadata: { bridge_occurred_at: version } },
  });
  const wanted = [member(`${base}-r-1`), member(`${base}-r-2`), member(`${base}-r-3`)];

  test("members this change already wrote (its event id and version) are neither patched nor posted again", () => {
    const plan = planChange(replace(wanted, at), [written(`${base}-r-1`), written(`${base}-r-2`)]);
    expect(plan.post.map((a) => a.id)).toEqual([`${base}-r-3`]);
    expect(plan.patch).toEqual([]);
    expect(plan.remove).toEqual([]);
  });

  test("the same version under another event (the puller re-reading what the webhook delivered) writes nothing", () => {
    const plan = planChange(replace(wanted, at), [
      written(`${base}-r-1`, "label-studio:4521:created:t"),
      written(`${base}-r-2`, "label-studio:4521:created:t"),
      written(`${base}-r-3`, "label-studio:4521:created:t"),
    ]);
    expect(plan).toEqual({ stale: false, patch: [], post: [], remove: [] });
    // A newer version always writes.
    expect(planChange(replace(wanted, "2026-11-20T10:00:01Z"), [written(`${base}-r-1`)]).patch).toHaveLength(
      1,
    );
  });

  test("a member of an earlier version, or one whose data holds another version, is patched", () => {
    const plan = planChange(replace(wanted, at), [
      written(`${base}-r-1`, "an-earlier-event", "2026-11-20T09:00:00Z"),
      // annotation_info names this event (an overwrite that kept it), data an earlier version: not this change's.
      { ...written(`${base}-r-2`), data: { metadata: { bridge_occurred_at: "2026-11-20T09:00:00Z" } } },
    ]);
    expect(plan.patch.map((a) => a.id)).toEqual([`${base}-r-1`, `${base}-r-2`]);
    expect(plan.post.map((a) => a.id)).toEqual([`${base}-r-3`]);
  });
});

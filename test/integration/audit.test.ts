import { describe, expect, test } from "@jest/globals";
import { PROFILE_NAMES } from "../../local/clarifai/profiles.js";
import { LOCAL_APP, LOCAL_USER } from "../../local/environment.js";
import type { LabelStudioTask } from "../../local/upstream-apis.js";
import {
  audit,
  bodiesOf,
  cli,
  deliver,
  idsOf,
  labelerOf,
  lsAnnotation,
  project,
  TASK,
  time,
  useAuditWorld,
} from "../support/audit.js";
import { deleteByHand, standInOf } from "../support/bridge.js";
import { deadLetters, drain } from "../support/sqs.js";

/**
 * `clarifai-bridge work` and `audit` through the CLI, against a Label Studio API stand-in, the Clarifai stand-in and
 * the local SQS, with the real handler delivering: a project of 1,000 annotations by 5 labelers where 7 never
 * reached Clarifai, 3 are stale, 2 were deleted by hand in Clarifai and 4 wait in the dead-letter queue. The audit
 * must name exactly those, per labeler; `--repair` must make the next audit clean, and queue nothing when run again.
 * And work and audit count the same under every profile of the Clarifai stand-in.
 */
const world = useAuditWorld();

describe("clarifai-bridge audit", () => {
  test("1,000 annotations by 5 labelers: exactly the 7 never sent, 3 stale, 2 deleted by hand and 4 dead-lettered; --repair makes it whole, once", async () => {
    // 198 tasks of 5, one of 4 (its input is missing in Clarifai: all 4 are dead-lettered), one of 6: 1,000.
    const tasks = project([...Array(198).fill(5), 4, 6]);
    world.apis.labelStudio.set(12, tasks);
    const dlqTask = tasks[198] as LabelStudioTask;
    world.absentInputs.add(String(dlqTask.data.clarifai_input_id));
    const all = tasks.flatMap((t) => t.annotations as { id: number; completed_by: number }[]);
    expect(all).toHaveLength(1000);
    const never = new Set([100_003, 100_111, 100_222, 100_333, 100_444, 100_555, 100_999]);
    const bodies = bodiesOf(tasks).filter((b) => !never.has(JSON.parse(b).annotation.id));
    await deliver(world, bodies);
    expect(deadLetters(world.env)).toHaveLength(4);

    // Held by Clarifai now; ids to plant the rest on, read back from the stand-in.
    const held = standInOf(world.env).annotations();
    expect(held).toHaveLength(1000 - 7 - 4);
    const idOf = (annotationId: number) =>
      held.find(
        (a) =>
          String(
            (a.annotation.annotation_info as { upstream?: { annotationId?: unknown } }).upstream
              ?.annotationId,
          ) === String(annotationId),
      )?.id as string;
    // Two deleted by hand in Clarifai.
    const deleted = [100_010, 100_021];
    const deletedIds = deleted.map(idOf);
    await deleteByHand(
      world.env,
      deleted.map((n, i) => ({
        id: deletedIds[i] as string,
        input_id: String(tasks.find((t) => t.annotations.some((a) => a.id === n))?.data.clarifai_input_id),
      })),
    );
    // Three updated in Label Studio whose webhooks never came: Clarifai holds the older version.
    const stale = [100_100, 100_202, 100_304];
    for (const task of tasks)
      task.annotations = task.annotations.map((a) =>
        stale.includes(a.id as number)
          ? lsAnnotation(a.id as number, task.id, (a.id as number) - 100_000, time(30), "Water")
          : a,
      );

    const first = await audit(world);
    expect(first.code).toBe(1);
    expect(first.complete).toEqual({ tool: true, clarifai: true });
    const expectMissing = [...never, ...dlqTask.annotations.map((a) => a.id as number), ...deleted];
    const byLabeler = (ids: readonly number[], idFor: (n: number) => string) => {
      const out: Record<string, string[]> = {};
      for (const n of ids) {
        const labeler = labelerOf(n - 100_000);
        out[labeler] = [...(out[labeler] ?? []), idFor(n)];
      }
      for (const list of Object.values(out)) list.sort();
      return out;
    };
    // The derived id of an annotation never delivered: what the stand-in holds after the repair (checked below).
    const missing = idsOf(first.report, "missing");
    expect(first.report.totals).toMatchObject({
      inTool: 1000,
      inClarifai: 1000 - 13,
      missing: 13,
      stale: 3,
      extra: 0,
      inDeadLetters: 4,
    });
    expect(idsOf(first.report, "stale")).toEqual(byLabeler(stale, idOf));
    // The labelers of the 13 missing, and which 4 wait in the DLQ with the handler's reason.
    expect(
      Object.fromEntries(Object.entries(missing).map(([labeler, ids]) => [labeler, ids.length])),
    ).toEqual(
      Object.fromEntries(
        Object.entries(byLabeler(expectMissing, (n) => String(n))).map(([l, ids]) => [l, ids.length]),
      ),
    );
    const inDlq = first.report.labelers.flatMap((l) => l.missing.filter((m) => m.deadLetter));
    expect(inDlq.map((m) => m.inputId)).toEqual(Array(4).fill(dlqTask.data.clarifai_input_id));
    for (const m of inDlq) expect(m.deadLetter?.reason).toMatch(/input/i);
    expect(
      first.report.labelers.flatMap((l) => l.missing.filter((m) => !m.deadLetter).map((m) => m.id)),
    ).toEqual(expect.arrayContaining(deletedIds));
    expect(first.report.repairBodies).toHaveLength(7 + 4 + 2 + 3);

    // The operator creates the missing input, then repairs: the tool's current bodies go through the bridge.
    world.absentInputs.clear();
    const repaired = await audit(world, "--repair", "--queue-url", world.env.queueUrl);
    expect(repaired.repaired).toEqual({ queued: 16, failed: [] });
    await drain(world.env, world.poller, 60_000);

    const second = await audit(world, "--repair", "--queue-url", world.env.queueUrl);
    expect(second.report.totals).toMatchObject({
      inTool: 1000,
      inClarifai: 1000,
      missing: 0,
      stale: 0,
      extra: 0,
    });
    expect(second.repaired).toEqual({ queued: 0, failed: [] });
    expect(second.code).toBe(0);
    // Every id the first audit called missing is now held, by the labeler it named.
    const now = new Map(
      standInOf(world.env)
        .annotations()
        .map((a) => [a.id, a]),
    );
    for (const [labeler, ids] of Object.entries(missing))
      for (const id of ids) {
        const info = now.get(id)?.annotation.annotation_info as { labeler?: { id?: string } } | undefined;
        expect(`label-studio:${info?.labeler?.id}`).toBe(labeler);
      }
  }, 240_000);
});

describe("work and audit under every Clarifai profile", () => {
  test.each(PROFILE_NAMES)(
    "%s: the same counts",
    async (profile) => {
      standInOf(world.env).setProfile(profile);
      const tasks = project([5, 5, 5, 5]);
      world.apis.labelStudio.set(12, tasks);
      await deliver(world, bodiesOf(tasks));
      // One annotation removed in Label Studio since: Clarifai's copy is extra; --delete-extra removes it.
      const gone = tasks[0]?.annotations.pop() as { id: number };
      const work = await cli([
        "work",
        "--task",
        TASK,
        "--api-base",
        standInOf(world.env).url,
        "--app",
        `${LOCAL_USER}/${LOCAL_APP}`,
        "--rate",
        "200",
        "--json",
      ]);
      expect(work.code).toBe(0);
      const rows = JSON.parse(work.out.join("")).workers as {
        worker: string;
        total: number;
        upstream: object;
      }[];
      // The stand-in's own count per worker, as npm start prints it.
      const own = standInOf(world.env)
        .work()
        .filter((r) => r.taskId === TASK);
      expect(rows.reduce((n, r) => n + r.total, 0)).toBe(own.reduce((n, r) => n + r.count, 0));
      expect(rows.reduce((n, r) => n + r.total, 0)).toBe(20);
      expect(Object.keys(rows[0]?.upstream ?? {}).sort()).toEqual(
        [1, 2, 3, 4, 5].map((n) => `label-studio:${n}`),
      );

      const found = await audit(world, "--delete-extra");
      expect(found.report.totals).toMatchObject({
        inTool: 19,
        inClarifai: 20,
        missing: 0,
        stale: 0,
        extra: 1,
      });
      expect(found.report.labelers.find((l) => l.extra.length)?.labeler).toBe(labelerOf(gone.id - 100_000));
      expect(found.deleted).toEqual({ count: 1, failed: [] });
      const after = await audit(world);
      expect(after.report.totals).toMatchObject({
        inTool: 19,
        inClarifai: 19,
        missing: 0,
        stale: 0,
        extra: 0,
      });
      expect(after.code).toBe(0);
    },
    60_000,
  );
});

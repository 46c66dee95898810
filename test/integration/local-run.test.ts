import { readFile } from "node:fs/promises";
import { afterAll, expect, test } from "@jest/globals";
import { auditDemo, auditDemoClean } from "../../local/audit-demo.js";
import {
  buildReport,
  compareWithExpected,
  drainQueue,
  type LocalRun,
  readExampleBodies,
  sendExamples,
  startLocalRun,
} from "../../local/local-run.js";
import { LABEL_STUDIO_TOKEN, recoverLostWebhook } from "../../local/pull-demo.js";
import { startUpstreamApis } from "../../local/upstream-apis.js";

let run: LocalRun | undefined;
afterAll(() => run?.close());

test("npm start's path: the report matches the stand-in's annotations, the DLQ and examples/expected.json", async () => {
  const startedAt = Date.now();
  run = await startLocalRun();
  const examples = await readExampleBodies("examples/events");
  const fileByMessageId = await sendExamples(run, examples);
  await drainQueue(run);
  const report = buildReport(run, fileByMessageId, startedAt);

  const expected = JSON.parse(await readFile("examples/expected.json", "utf8"));
  expect(compareWithExpected(report, expected)).toEqual([]);

  // The report's figures against the sources of truth, not against themselves.
  const stored = run.env.standIn?.annotations() ?? [];
  expect(Object.values(report.annotationsPerTask).reduce((a, b) => a + b, 0)).toBe(stored.length);
  expect(new Set(stored.map((s) => s.id)).size).toBe(stored.length);
  const dlq = run.env.sqsServer.inspectQueue(run.env.dlqName)?.messages.ready ?? [];
  expect(report.deadLettered).toHaveLength(dlq.length);
  const bodies = new Map(examples.map((e) => [e.file, e.body]));
  for (const message of dlq) {
    const file = fileByMessageId.get(message.messageAttributes?.sourceMessageId?.StringValue ?? "") ?? "";
    expect(message.body).toBe(bodies.get(file)); // the original body, unchanged
  }
  // Every message sent is accounted for: each either produced annotations or sits in the DLQ.
  expect(report.sent).toBe(examples.length);
  expect(report.retries).toBeGreaterThan(0); // the first call was throttled on purpose

  // npm start's last step: the lost Label Studio webhook, recovered by the puller's reconciliation.
  const labelStudio = await startUpstreamApis(LABEL_STUDIO_TOKEN);
  try {
    const recovered = await recoverLostWebhook(run, labelStudio);
    expect(recovered.enqueued).toBe(1);
    expect(recovered.annotations).toBe(3); // the scene's choice, the box, the polygon

    // The audit of the run: each Label Studio example's project whole in Clarifai; a dropped webhook found, repaired.
    const audited = await auditDemo(run, labelStudio);
    expect(auditDemoClean(audited)).toBe(true);
    const stored = run.env.standIn?.annotations() ?? [];
    // (Project 12 as the last audit saw it, after the repair.)
    for (const outcome of [...audited.projects.slice(1).map((p) => p.outcome), audited.after]) {
      const inTask = stored.filter(
        (a) => (a.annotation as { task_id?: string }).task_id === outcome.report.taskId,
      );
      // Everything in the task is the bridge's from that project, or counted as other (project 12's Ground Truth
      // and Labelbox examples), and nothing is left out of the count.
      expect(outcome.report.totals.inClarifai + outcome.report.totals.otherInTask).toBe(inTask.length);
    }
    expect(audited.dropped.report.labelers.filter((l) => l.missing.length).map((l) => l.labeler)).toEqual([
      "label-studio:9",
    ]);
    expect(audited.after.report.totals.inTool).toBe(audited.dropped.report.totals.inTool);
  } finally {
    await labelStudio.close();
  }
  // The unknown task is dead-lettered on its first receive, once.
  const unknown = dlq.filter((m) => m.messageAttributes?.errorCode?.StringValue === "unknown-task");
  expect(unknown).toHaveLength(1);
  expect(unknown[0]?.messageAttributes?.receiveCount?.StringValue).toBe("1");
  // Two Clarifai users' work, in tasks of three review strategies, with the states those reviews imply.
  const workers = new Set(report.work?.map((r) => r.worker));
  expect(workers).toEqual(new Set(["ana-clarifai", "ben-clarifai", "local-user"]));
  expect(new Set(report.work?.map((r) => r.status))).toEqual(
    new Set(["ANNOTATION_SUCCESS", "ANNOTATION_AWAITING_REVIEW", "ANNOTATION_AWAITING_CONSENSUS_REVIEW"]),
  );
}, 120_000); // npm start's whole path: 19 examples with a 5 s batching window, the puller, then the audits

test("compareWithExpected reports each difference", () => {
  const report = {
    sent: 2,
    annotationsPerTask: { a: 1 },
    annotationsPerKind: { box: 1 },
    clarifaiRequests: 1,
    invocations: 1,
    retries: 0,
    deadLettered: [{ file: "x.json", errorCode: "invalid-json", reason: "" }],
    work: undefined,
    elapsedMs: 1,
  };
  expect(
    compareWithExpected(report, {
      annotationsPerTask: { a: 2 },
      annotationsPerKind: { box: 1, mask: 1 },
      deadLettered: { "y.json": "invalid-event" },
    }),
  ).toEqual([
    "task a: expected 2 annotations, found 1",
    "y.json: expected dead-letter invalid-event, found none",
    "x.json: dead-lettered unexpectedly",
    "kind mask: expected 1 annotations, found 0",
  ]);
});

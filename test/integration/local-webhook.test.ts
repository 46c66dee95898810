import { readFile } from "node:fs/promises";
import { afterAll, expect, test } from "@jest/globals";
import { drainQueue, type LocalRun, startLocalRun } from "../../local/local-run.js";
import { startLocalWebhook } from "../../local/local-webhook.js";

let run: LocalRun | undefined;
let webhook: Awaited<ReturnType<typeof startLocalWebhook>> | undefined;
afterAll(async () => {
  await webhook?.close();
  await run?.close();
});

test("npm start -- --webhook: a Label Studio webhook posted to the local ingress with the printed secret reaches the stand-in", async () => {
  delete process.env.WEBHOOK_SECRETS;
  run = await startLocalRun({ throttleFirstCall: false });
  webhook = await startLocalWebhook(run.env.queueUrl, 0);
  expect(webhook.generated).toBe(true);
  expect(webhook.secret).toMatch(/^[0-9a-f]{48}$/);
  const body = await readFile("examples/events/10-label-studio-created.json");
  const post = (secret: string) =>
    fetch(`${webhook?.url}/label-studio`, {
      method: "POST",
      body,
      headers: { authorization: `Token ${secret}` },
    });

  expect((await post("not-the-secret-of-this-run-at-all")).status).toBe(401);
  const accepted = await post(webhook.secret);
  expect(accepted.status).toBe(202);
  await drainQueue(run);
  const stored = run.env.standIn?.annotations() ?? [];
  expect(stored.length).toBeGreaterThan(0);
  expect(stored.every((s) => (s.annotation as { task_id?: string }).task_id !== undefined)).toBe(true);
  expect(run.env.sqsServer.inspectQueue(run.env.dlqName)?.messages.ready).toHaveLength(0);
});

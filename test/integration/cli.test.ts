import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "@jest/globals";
import { redriveByCopy } from "../../bin/cli/dlq.js";
import { main } from "../../bin/cli.js";
import {
  LOCAL_AWS_CREDENTIALS,
  LOCAL_REGION,
  type LocalEnvironment,
  startLocalEnvironment,
} from "../../local/environment.js";
import { makeEvent } from "../support/events.js";
import { deadLetters, queueCounts } from "../support/sqs.js";

let env: LocalEnvironment;
let out: string[];
let err: string[];
const io = { out: (s: string) => out.push(s), err: (s: string) => err.push(s) };
const common = () => ["--endpoint", env.sqsServer.address, "--region", LOCAL_REGION];

beforeAll(async () => {
  env = await startLocalEnvironment({ standIn: false });
  process.env.AWS_ACCESS_KEY_ID = LOCAL_AWS_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = LOCAL_AWS_CREDENTIALS.secretAccessKey;
});
afterAll(() => env.close());
beforeEach(() => {
  env.sqsServer.reset();
  out = [];
  err = [];
});

const sourceBodies = () => {
  const q = env.sqsServer.inspectQueue(env.queueName);
  return [...(q?.messages.ready ?? []), ...(q?.messages.inflight ?? []).map((i) => i.message)].map(
    (m) => m.body,
  );
};

/** Dead letters as the handler writes them: the original body plus reason attributes. */
async function seedDeadLetters(
  n: number,
  errorCode = (i: number) => (i % 2 ? "invalid-event" : "clarifai-invalid-argument"),
) {
  for (let i = 0; i < n; i += 10) {
    await env.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: env.dlqUrl,
        Entries: Array.from({ length: Math.min(10, n - i) }, (_, j) => ({
          Id: String(j),
          MessageBody: JSON.stringify(
            makeEvent({ eventId: `dead-${i + j}`, taskId: "task-9", inputId: `in-${i + j}` }),
          ),
          MessageAttributes: {
            reason: { DataType: "String", StringValue: `reason number ${i + j}` },
            errorCode: { DataType: "String", StringValue: errorCode(i + j) },
            failedAt: { DataType: "String", StringValue: new Date(Date.now() - 90_000).toISOString() },
            format: { DataType: "String", StringValue: "canonical" },
          },
        })),
      }),
    );
  }
}

describe("send", () => {
  test("--attribute travels on every message and is used to validate; a Labelbox delete needs its topic", async () => {
    const mapping = path.join(await mkdtemp(path.join(tmpdir(), "bridge-map-")), "mapping.json");
    await writeFile(
      mapping,
      JSON.stringify({ projects: { "labelbox:clx0pr0000street": { taskId: "street-audit" } } }),
    );
    const file = "test/fixtures/upstream/labelbox-v1-deleted.json";
    // Without format=labelbox the bare delete body is not recognisable: refused, nothing sent.
    expect(
      await main(["send", file, "--queue-url", env.queueUrl, "--mapping", mapping, ...common()], io),
    ).toBe(1);
    expect(err.join("\n")).toContain("unsupported-format");
    expect(queueCounts(env).ready).toBe(0);

    const args = ["--attribute", "format=labelbox", "--attribute", "labelbox-event=LABEL_DELETED"];
    expect(
      await main(["send", file, "--queue-url", env.queueUrl, "--mapping", mapping, ...args, ...common()], io),
    ).toBe(0);
    const [message] = env.sqsServer.inspectQueue(env.queueName)?.messages.ready ?? [];
    expect(message?.messageAttributes).toMatchObject({
      format: { StringValue: "labelbox" },
      "labelbox-event": { StringValue: "LABEL_DELETED" },
    });
    await expect(main(["send", file, "--attribute", "novalue", "--dry-run"], io)).rejects.toThrow(
      '--attribute takes NAME=VALUE, got "novalue"',
    );
  });

  test("a Ground Truth segmentation line (masks in S3) is checked but its files and queued for the handler", async () => {
    const mapping = path.join(await mkdtemp(path.join(tmpdir(), "bridge-map-")), "mapping.json");
    await writeFile(
      mapping,
      JSON.stringify({
        projects: {
          "sagemaker-ground-truth:street-seg": {
            taskId: "street-seg",
            maskOrigins: ["s3://acme-gt-output/street-seg/"],
          },
        },
      }),
    );
    const file = "test/fixtures/upstream/ground-truth-segmentation.json";
    expect(await main(["send", file, "--dry-run", "--mapping", mapping], io)).toBe(0);
    expect(out.join("\n")).toMatch(
      /masks in files .*ground-truth-segmentation\.json.*: checked but its mask files, which the handler fetches/,
    );
    expect(out.join("\n")).toContain("1 valid, 0 invalid (dry run: nothing sent)");
    expect(
      await main(["send", file, "--queue-url", env.queueUrl, "--mapping", mapping, ...common()], io),
    ).toBe(0);
    expect(queueCounts(env).ready).toBe(1);
    // An origin the mapping does not list is still refused here, by name.
    await writeFile(
      mapping,
      JSON.stringify({ projects: { "sagemaker-ground-truth:street-seg": { taskId: "street-seg" } } }),
    );
    expect(await main(["send", file, "--dry-run", "--mapping", mapping], io)).toBe(1);
    expect(err.join("\n")).toContain("mask-origin-not-allowed");
  });

  test("a bad file is reported with the field and rule, and nothing from it is sent", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "bridge-send-"));
    await writeFile(path.join(dir, "good.json"), JSON.stringify(makeEvent()));
    await writeFile(
      path.join(dir, "mixed.jsonl"),
      `${JSON.stringify(makeEvent())}\n${JSON.stringify({ ...makeEvent(), taskId: "" })}\n`,
    );
    await writeFile(
      path.join(dir, "also-good.jsonl"),
      `${JSON.stringify(makeEvent())}\n\n${JSON.stringify(makeEvent())}\n`,
    );

    const code = await main(["send", dir, "--queue-url", env.queueUrl, ...common()], io);

    expect(code).toBe(1);
    expect(err).toEqual([
      expect.stringMatching(/^invalid {2}.*mixed\.jsonl:2: invalid-event: taskId: Too small/),
    ]);
    expect(out).toEqual(["sent 3 of 5 events; 1 invalid, 1 held back with their file, 0 refused by SQS"]);
    expect(queueCounts(env).ready).toBe(3);
  });

  test("valid events are sent, and --dry-run sends nothing", async () => {
    const file = path.join(await mkdtemp(path.join(tmpdir(), "bridge-send-")), "one.json");
    await writeFile(file, JSON.stringify(makeEvent()));
    expect(await main(["send", file, "--dry-run"], io)).toBe(0);
    expect(queueCounts(env).ready).toBe(0);
    expect(await main(["send", file, "--queue-url", env.queueUrl, ...common()], io)).toBe(0);
    expect(queueCounts(env).ready).toBe(1);
  });

  test("a missing --queue-url is a usage error naming the option", async () => {
    await expect(main(["send", "examples/events"], io)).rejects.toThrow(/--queue-url is required/);
  });
});

describe("dlq", () => {
  test("list shows reason, error code, task, input and age, and consumes nothing", async () => {
    await seedDeadLetters(12);
    expect(await main(["dlq", "list", "--dlq-url", env.dlqUrl, "--json", ...common()], io)).toBe(0);
    const views = out.map((l) => JSON.parse(l));
    expect(views).toHaveLength(12);
    expect(views[0]).toMatchObject({
      taskId: "task-9",
      errorCode: expect.any(String),
      reason: expect.stringMatching(/^reason number/),
    });
    expect(views[0].ageSeconds).toBeGreaterThanOrEqual(89);
    expect(env.sqsServer.inspectQueue(env.dlqName)?.messages.ready).toHaveLength(12); // all visible again
  });

  test("redrive moves every message exactly once, even when stopped between batches and run again", async () => {
    await seedDeadLetters(25);
    const original = deadLetters(env)
      .map((m) => m.body)
      .sort();
    const abort = new AbortController();
    const first = await redriveByCopy(env.sqs, {
      dlqUrl: env.dlqUrl,
      queueUrl: env.queueUrl,
      signal: abort.signal,
      progress: { update: () => abort.abort(), finish: () => undefined }, // Ctrl-C during the first batch
    });
    expect(first.moved).toBe(10);
    expect(queueCounts(env).ready + deadLetters(env).length).toBe(25); // nothing lost, nothing doubled

    expect(
      await main(["dlq", "redrive", "--dlq-url", env.dlqUrl, "--queue-url", env.queueUrl, ...common()], io),
    ).toBe(0);
    expect(out.at(-1)).toBe(`moved 15 message(s) to ${env.queueUrl}`);
    expect(deadLetters(env)).toHaveLength(0);
    expect(sourceBodies().sort()).toEqual(original);
    // The copy starts clean: the producer's attributes stay, the dead-letter reason does not.
    const attrs = env.sqsServer.inspectQueue(env.queueName)?.messages.ready[0]?.messageAttributes ?? {};
    expect(Object.keys(attrs)).toEqual(["format"]);
  });

  test("redrive --filter moves only the matching messages and leaves the rest visible", async () => {
    await seedDeadLetters(6);
    const code = await main(
      [
        "dlq",
        "redrive",
        "--dlq-url",
        env.dlqUrl,
        "--queue-url",
        env.queueUrl,
        "--filter",
        "errorCode=invalid-event",
        ...common(),
      ],
      io,
    );
    expect(code).toBe(0);
    expect(queueCounts(env).ready).toBe(3);
    const left = env.sqsServer.inspectQueue(env.dlqName)?.messages.ready ?? [];
    expect(left.map((m) => m.messageAttributes?.errorCode?.StringValue)).toEqual(
      Array(3).fill("clarifai-invalid-argument"),
    );
  });
});

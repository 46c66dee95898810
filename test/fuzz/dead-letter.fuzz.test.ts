import { describe, expect, test } from "@jest/globals";
import fc from "fast-check";
import { ConfigError, loadConfig } from "../../lambda/config.js";
import { deadLetterAttributes, entryProblem } from "../../lambda/delivery/sqs-actions.js";
import { MAX_MESSAGE_BYTES, sqsSafeText, sqsValueProblem } from "../../lambda/delivery/sqs-safe.js";
import { permanent } from "../../lambda/failure.js";
import { keyProblem, scrubberFor } from "../../lambda/redact.js";
import { sqsRecord } from "../support/record.js";

const runs = Number(process.env.FUZZ_RUNS ?? 300);
/** Any text at all: odd Unicode, lone surrogates, controls, U+FFFE/U+FFFF. */
const anyText = fc.oneof(
  fc.string({ unit: "binary", maxLength: 3_000 }),
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 500 }),
);

const record = (body: string, attributes: Record<string, string> = {}) => sqsRecord(body, 1, attributes);

describe("dead-letter attributes are what SQS accepts, whatever the failure says", () => {
  test("arbitrary codes and reasons: every value passes SQS's character rule, the entry fits the size limit", () => {
    fc.assert(
      fc.property(anyText, anyText, fc.nat({ max: 1_048_000 }), (code, reason, bodySize) => {
        const body = "b".repeat(bodySize);
        const attributes = deadLetterAttributes(
          record(body, { format: "label-studio" }),
          permanent(code, reason),
          new Date(),
        );
        for (const value of Object.values(attributes))
          expect(sqsValueProblem(value.StringValue ?? "")).toBeUndefined();
        expect(attributes.reason?.StringValue?.length).toBeGreaterThan(0);
        expect(attributes.errorCode?.StringValue).toMatch(/^[A-Za-z0-9._-]{1,64}$/);
        expect(entryProblem({ Id: "0", MessageBody: body, MessageAttributes: attributes })).toBeUndefined();
      }),
      { numRuns: runs },
    );
  });

  test("a body at SQS's limit still gets an errorCode and a reason that fit", () => {
    const body = "x".repeat(MAX_MESSAGE_BYTES - 200);
    const attributes = deadLetterAttributes(
      record(body),
      permanent("invalid-event", "r".repeat(5_000)),
      new Date(),
    );
    expect(entryProblem({ Id: "0", MessageBody: body, MessageAttributes: attributes })).toBeUndefined();
    expect(attributes.errorCode?.StringValue).toBe("invalid-event");
  });

  test("sqsSafeText never splits a surrogate pair and never grows past its limit", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "grapheme", maxLength: 300 }),
        fc.integer({ min: 1, max: 200 }),
        (text, max) => {
          const safe = sqsSafeText(text, max);
          expect(safe.length).toBeLessThanOrEqual(max);
          expect(sqsValueProblem(safe)).toBeUndefined();
        },
      ),
      { numRuns: runs },
    );
  });

  test("an entry real SQS would refuse is recognised (the check the local server does not make)", () => {
    const bad = {
      Id: "0",
      MessageBody: "b",
      MessageAttributes: { reason: { DataType: "String", StringValue: "a\uffffb" } },
    };
    expect(entryProblem(bad)).toMatch(/refuses/);
    expect(entryProblem({ Id: "0", MessageBody: "x".repeat(MAX_MESSAGE_BYTES + 1) })).toMatch(/more than/);
  });
});

describe("the key is in no text that leaves the function", () => {
  test("the scrubber removes every occurrence of the key, wherever it sits in the text", () => {
    const key = fc.string({
      unit: fc.constantFrom(..."abcdefABCDEF0123456789-_"),
      minLength: 8,
      maxLength: 40,
    });
    fc.assert(
      fc.property(key, anyText, anyText, (k, before, after) => {
        const scrubbed = scrubberFor([k])(`${before}${k}${after}Headers.append: "Key ${k}" is invalid`);
        expect(scrubbed).not.toContain(k);
      }),
      { numRuns: runs },
    );
  });

  test("a key that cannot go in a header is refused at cold start, naming the variable, quoting nothing", async () => {
    for (const key of ["pat-QZX1-part\nQZX2-line", "pat\rQZX1", "pat\u0000QZX1", "pat QZX1"]) {
      expect(keyProblem(key)).toBeDefined();
      let error: unknown;
      try {
        await loadConfig({
          DEAD_LETTER_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/1/dlq",
          CLARIFAI_PAT: key,
        });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toContain("CLARIFAI_PAT");
      expect((error as Error).message).not.toContain("QZX");
    }
  });
});

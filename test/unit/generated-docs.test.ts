import { readFileSync } from "node:fs";
import { expect, test } from "@jest/globals";
import { generatedDocs } from "../../bin/docs.js";
import { labelingEventSchema } from "../../lambda/events/event-schema.js";
import { makeEvent } from "../support/events.js";

test.each(Object.entries(generatedDocs()))(
  "%s is what npm run docs writes (run it after changing the schema)",
  (file, text) => {
    expect(readFileSync(file, "utf8")).toBe(text);
  },
);

test("the generated event schema describes what the code accepts: the README's example fields are all in it", () => {
  const schema = JSON.parse(readFileSync("schema/labeling-event.v1.schema.json", "utf8")) as {
    properties: Record<string, unknown>;
    required: string[];
    additionalProperties: boolean;
  };
  const event = makeEvent({ labeler: { id: "7", clarifaiUserId: "ana" } });
  expect(labelingEventSchema.safeParse(event).success).toBe(true);
  for (const key of Object.keys(event)) expect(Object.keys(schema.properties)).toContain(key);
  expect(schema.required).toEqual(
    expect.arrayContaining(["specVersion", "eventId", "type", "occurredAt", "source", "taskId"]),
  );
  expect(schema.additionalProperties).toBe(false);
});

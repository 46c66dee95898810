import type { LabelingEvent } from "../../lambda/events/event-schema.js";

let counter = 0;

/** A valid canonical event; each call gets a fresh event id unless one is given. */
export function makeEvent(overrides: Partial<LabelingEvent> = {}): LabelingEvent {
  counter += 1;
  return {
    specVersion: "1",
    eventId: `evt-${process.pid}-${counter}`,
    type: "annotation.created",
    occurredAt: "2026-11-20T09:31:27.902Z",
    source: "test-suite",
    taskId: "task-street-audit",
    inputId: `asset-${counter}`,
    concepts: [
      { id: "tree", value: 1 },
      { id: "water", value: 0 },
    ],
    ...overrides,
  };
}

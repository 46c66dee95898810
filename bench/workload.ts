import type { LabelingEvent } from "../lambda/events/event-schema.js";

const TASKS = ["street-audit", "shelf-compliance", "wildlife-review", "defect-triage"];

/** The benchmark's events: valid, in a few tasks and one app, two concepts each (one negative). */
export function benchEvent(n: number, run: string): LabelingEvent {
  return {
    specVersion: "1",
    eventId: `bench-${run}-${n}`,
    type: "annotation.created",
    occurredAt: "2026-11-20T09:31:27.902Z",
    source: "bench",
    taskId: TASKS[n % TASKS.length] as string,
    inputId: `input-${n}`,
    labeler: { id: `labeler-${n % 7}` },
    concepts: [
      { id: "tree", value: n % 2 },
      { id: "water", value: 1 - (n % 2) },
    ],
  };
}

/** Where the services process listens, as it prints on start (bench/services.ts). */
export interface BenchServices {
  readonly clarifai: string;
  readonly admin: string;
  readonly sqsEndpoint: string;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly dlqUrl: string;
}

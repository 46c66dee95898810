import type { ClarifaiAnnotation } from "../lambda/clarifai/to-annotation.js";
import { parseRecord } from "../lambda/delivery/parse-record.js";
import { LOCAL_APP, LOCAL_USER } from "./environment.js";

/** What the chaos soak sends: a varied mix of events, each with the Clarifai annotations it must end as. */
export type Kind = "valid" | "native" | "invalid" | "rejected";

export interface SentEvent {
  readonly body: string;
  readonly kind: Kind;
  readonly expected: ClarifaiAnnotation[];
}

const mapping = { taskLink: "both" as const, defaultApp: { userId: LOCAL_USER, appId: LOCAL_APP } };

/** A varied, realistic mix: canonical events with concepts and regions, Clarifai-native bodies, and bad ones. */
export function soakEvent(n: number, invalidShare: number, random: () => number = Math.random): SentEvent {
  const roll = random();
  const base = {
    specVersion: "1",
    eventId: `soak-${n}`,
    type: "annotation.created",
    occurredAt: "2026-11-20T09:31:27.902Z",
    source: "soak",
    taskId: `task-${n % 5}`,
    inputId: `input-${n}`,
    concepts: [
      { id: "tree", value: n % 2 },
      { id: "water", value: 1 - (n % 2) },
    ],
  };
  let body: string;
  let kind: Kind;
  if (roll < invalidShare * 0.8) {
    kind = "invalid";
    const broken = [
      "{not json",
      JSON.stringify({ ...base, concepts: [{ id: "tree", value: 2 }] }),
      JSON.stringify({ ...base, taskId: undefined }),
      JSON.stringify({ ...base, specVersion: "9" }),
      JSON.stringify({ ...base, inputId: "x".repeat(300) }),
      JSON.stringify([base]),
    ];
    body = broken[n % broken.length] as string;
  } else if (roll < invalidShare) {
    kind = "rejected"; // valid to the bridge, refused by Clarifai: a box with top below bottom
    body = JSON.stringify({
      annotations: [
        {
          input_id: `input-${n}`,
          annotation_info: { task_id: "task-native", event_id: `soak-${n}` },
          data: {
            regions: [
              {
                region_info: {
                  bounding_box: { top_row: 0.9, left_col: 0.1, bottom_row: 0.2, right_col: 0.5 },
                },
              },
            ],
          },
        },
      ],
    });
  } else if (roll < invalidShare + 0.1) {
    kind = "native";
    body = JSON.stringify({
      annotations: [
        {
          input_id: `input-${n}`,
          annotation_info: { task_id: "task-native", event_id: `soak-${n}` },
          data: { concepts: [{ id: "deer", value: 1 }] },
        },
      ],
    });
  } else {
    kind = "valid";
    const withRegion = n % 7 === 0;
    body = JSON.stringify(
      withRegion
        ? {
            ...base,
            regions: [
              {
                id: `r${n}`,
                boundingBox: { top: 0.1, left: 0.2, bottom: 0.5, right: 0.6 },
                concepts: [{ id: "car", value: 1 }],
              },
            ],
          }
        : base,
    );
  }
  const parsed = parseRecord(body, mapping);
  return { body, kind, expected: parsed.ok ? parsed.deliveries.map((d) => d.annotation) : [] };
}

import { readFileSync } from "node:fs";
import { makeEvent } from "./events.js";

/**
 * Bodies a hostile or careless upstream can send, one per class of problem found in review: nulls where objects
 * go, wrong types, ids that are objects with a `toString` key, nesting far past any limit, megabyte strings,
 * control characters and non-characters, `.` and `..` as ids. Each must end as one dead letter of its own record
 * (never a thrown batch); `fine` ones are odd but valid and must be delivered.
 */
export interface HostileBody {
  readonly name: string;
  readonly body: string;
  readonly attributes?: Record<string, string>;
  /** Valid after all: delivered, not dead-lettered. */
  readonly fine?: boolean;
}

type Json = Record<string, unknown>;
const fixture = (name: string): Json =>
  JSON.parse(readFileSync(`test/fixtures/upstream/${name}`, "utf8")) as Json;
/** JSON text nested `levels` deep (JSON.stringify itself overflows the stack on such a value, so it is text). */
const deepText = (levels: number) => `${'{"a":'.repeat(levels)}1${"}".repeat(levels)}`;
/** A placeholder value that `withDeep` replaces by 5,000 levels of nesting in the serialised body. */
const DEEP = "__deep__";
const withDeep = (text: string) => text.replace(`"${DEEP}"`, deepText(5_000));

function labelStudio(edit: (body: Json & { annotation: Json; task: Json }) => void): string {
  const body = fixture("label-studio-created.json") as Json & { annotation: Json; task: Json };
  edit(body);
  return withDeep(JSON.stringify(body));
}
function labelboxV2(edit: (body: Json) => void): string {
  const body = fixture("labelbox-v2-row.json");
  edit(body);
  return JSON.stringify(body);
}
const labelboxAttributes = { "labelbox-event": "LABEL_UPDATED" };

export function hostileBodies(): HostileBody[] {
  const list: HostileBody[] = [
    { name: "ls-annotation-null", body: labelStudio((b) => Object.assign(b, { annotation: [null] })) },
    {
      name: "ls-result-null-item",
      body: labelStudio((b) => Object.assign(b.annotation, { result: [null] })),
    },
    { name: "ls-result-object", body: labelStudio((b) => Object.assign(b.annotation, { result: {} })) },
    {
      name: "ls-points-null",
      body: labelStudio((b) => {
        const items = b.annotation.result as Json[];
        Object.assign(items[1]?.value as Json, { points: [null] });
      }),
    },
    {
      name: "ls-id-object-with-tostring",
      body: labelStudio((b) => Object.assign(b.annotation, { id: { toString: "x", valueOf: 1 } })),
    },
    {
      name: "ls-task-string",
      body: labelStudio((b) => Object.assign(b, { task: "3307" })),
    },
    {
      name: "ls-ground-truth-deep",
      body: labelStudio((b) => Object.assign(b.annotation, { ground_truth: DEEP })),
    },
    {
      name: "ls-labels-not-strings",
      body: labelStudio((b) => {
        const items = b.annotation.result as Json[];
        Object.assign(items[0]?.value as Json, { rectanglelabels: [{ toString: 1 }] });
      }),
    },
    {
      name: "ls-input-id-dot-dot",
      body: labelStudio((b) => Object.assign(b.task.data as Json, { clarifai_input_id: ".." })),
    },
    {
      name: "ls-input-id-control-chars",
      body: labelStudio((b) => Object.assign(b.task.data as Json, { clarifai_input_id: "a\u0000b\uffff" })),
    },
    {
      name: "ls-unsupported-type-with-control-chars",
      body: labelStudio((b) =>
        (b.annotation.result as Json[]).push({ id: "k", type: "key\u0001\uffff\ud800", from_name: "\u0007" }),
      ),
    },
    {
      name: "ls-percent-in-image-name",
      fine: true,
      body: labelStudio((b) => {
        b.task.data = { image: "s3://bucket/50%_crop.jpg" };
      }),
    },
    {
      name: "lb-project-null",
      body: labelboxV2((b) => Object.assign(b, { projects: { p: null } })),
      attributes: labelboxAttributes,
    },
    {
      name: "lb-labels-null-item",
      body: labelboxV2((b) => {
        const projects = b.projects as Record<string, Json>;
        for (const p of Object.values(projects)) p.labels = [null];
      }),
      attributes: labelboxAttributes,
    },
    {
      name: "lb-objects-null-item",
      body: labelboxV2((b) => {
        const projects = b.projects as Record<string, { labels: { annotations: Json }[] }>;
        for (const p of Object.values(projects)) for (const l of p.labels) l.annotations.objects = [null];
      }),
      attributes: labelboxAttributes,
    },
    {
      name: "lb-v1-label-deep",
      body: JSON.stringify({
        ...fixture("labelbox-v1-created.json"),
        label: `{"objects":[${deepText(5_000)}]}`,
      }),
      attributes: { "labelbox-event": "LABEL_CREATED" },
    },
    {
      name: "gt-annotations-null-item",
      body: JSON.stringify({
        ...fixture("ground-truth-boxes.json"),
        "street-boxes": { image_size: [{ width: 10, height: 10 }], annotations: [null] },
      }),
    },
    {
      name: "gt-metadata-wrong-types",
      body: JSON.stringify({
        ...fixture("ground-truth-boxes.json"),
        "street-boxes-metadata": { type: "groundtruth/object-detection", "class-map": [1], "job-name": 5 },
      }),
    },
    {
      name: "native-data-deep-no-id",
      body: `{"annotations":[{"input_id":"in-1","task_id":"t","data":${deepText(5_000)}}]}`,
    },
    {
      name: "native-user-app-dot-dot",
      body: JSON.stringify({
        user_app_id: { user_id: "..", app_id: "." },
        annotations: [{ input_id: "in-1", task_id: "t", data: { concepts: [{ id: "c", value: 1 }] } }],
      }),
    },
    {
      name: "canonical-metadata-deep",
      body: JSON.stringify({ ...makeEvent({ eventId: "hostile-meta" }) }).replace(
        /}$/,
        `,"metadata":${deepText(5_000)}}`,
      ),
    },
    {
      name: "canonical-app-slashes",
      body: JSON.stringify(
        makeEvent({ eventId: "hostile-app", app: { userId: "victim/apps/x", appId: ".." } }),
      ),
    },
    {
      name: "canonical-megabyte-string",
      body: JSON.stringify(makeEvent({ eventId: `x${"\u0001".repeat(200)}`, taskId: "t".repeat(900_000) })),
    },
    {
      name: "canonical-huge-many-members",
      // 1,000 regions each sharing 60 KB of metadata: 60 MB of annotations from one 70 KB body.
      body: JSON.stringify(
        makeEvent({
          eventId: "hostile-amplified",
          metadata: { blob: "y".repeat(60_000) },
          regions: Array.from({ length: 1_000 }, (_, i) => ({
            id: `r${i}`,
            boundingBox: { top: 0.1, left: 0.1, bottom: 0.2, right: 0.2 },
            concepts: [{ id: "c", value: 1 }],
          })),
        }),
      ),
    },
  ];
  // SQS refuses bodies with U+FFFF, lone surrogates or most C0 controls, so an upstream's JSON encoder escapes
  // them (`\uffff`): the same JSON, decoded to the same hostile strings by the handler.
  return list.map((h) => ({
    ...h,
    body: h.body.replace(
      // biome-ignore lint/suspicious/noControlCharactersInRegex: escaping control characters is the point
      /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff\ud800-\udfff]/gu,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
    ),
  }));
}

import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import * as z from "zod/mini";
import { mappingConfigSchema } from "../lambda/events/adapters/mapping-config.js";
import { labelingEventSchema } from "../lambda/events/event-schema.js";
import { PROJECT_ROOT } from "../lib/bundling.js";

/**
 * `npm run docs`: writes what can be generated from the code, so it cannot drift: the JSON Schemas of the
 * canonical event and of BRIDGE_MAPPING, from the zod schemas the Lambda validates with. A test fails when the
 * committed copies differ from what this would write. Rules zod checks in code (an update needs an input id, a
 * delete carries no concepts, ids refuse "." and ".."; see the README) are not expressible here and are not in it.
 */
const SCHEMA_BASE = "urn:clarifai-annotation-bridge:schema";

export function generatedDocs(): Record<string, string> {
  const schema = (value: z.ZodMiniType, id: string, title: string, description: string) =>
    `${JSON.stringify(
      {
        $id: `${SCHEMA_BASE}:${id}`,
        title,
        description,
        ...z.toJSONSchema(value, { target: "draft-2020-12", io: "input", unrepresentable: "any" }),
      },
      null,
      2,
    )}\n`;
  return {
    "schema/labeling-event.v1.schema.json": schema(
      labelingEventSchema,
      "labeling-event.v1.schema.json",
      "Labeling event, spec version 1",
      "One change to one upstream annotation (created, updated, deleted), as the bridge reads it from SQS. Generated from lambda/events/event-schema.ts by `npm run docs`; rules checked in code (an update or create needs inputId, a delete needs annotationId or upstream.annotationId and carries no concepts or regions, ids refuse '.', '..', '/', '\\\\' and control characters) are not all expressible here.",
    ),
    "schema/bridge-mapping.schema.json": schema(
      mappingConfigSchema,
      "bridge-mapping.schema.json",
      "BRIDGE_MAPPING",
      "Upstream projects to Clarifai tasks, labelers to Clarifai users, and annotation statuses. Generated from lambda/events/adapters/mapping-config.ts by `npm run docs`.",
    ),
  };
}

if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  const check = process.argv.includes("--check");
  let stale = 0;
  for (const [file, text] of Object.entries(generatedDocs())) {
    const target = path.join(PROJECT_ROOT, file);
    const current = await readFile(target, "utf8").catch(() => "");
    if (current === text) continue;
    if (check) {
      console.error(`${file} is stale: run npm run docs`);
      stale += 1;
    } else {
      await writeFile(target, text);
      console.log(`wrote ${file}`);
    }
  }
  process.exitCode = stale ? 1 : 0;
}

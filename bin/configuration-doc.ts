// Over 300 lines: one page, four tables (each function's environment, the context keys, the mapping, the puller settings), sharing one TSDoc reader.
import { readFileSync } from "node:fs";
import path from "node:path";
import ts from "typescript";
import { HANDLER_ENV } from "../lambda/config.js";
import type { EnvSetting } from "../lambda/env-settings.js";
import { STATUS_POLICIES, UNMAPPED_LABELER_POLICIES } from "../lambda/events/contract/mapping-config.js";
import { PROJECT_ROOT } from "../lib/bundling.js";
import { CONTEXT_KEYS } from "../lib/context-config.js";

/**
 * docs/configuration.md, generated from the code so it cannot drift: every environment variable each function
 * reads (from the zod schemas they parse their environment with, and the documented list of the puller's), every
 * CDK context key (from the context parser's key list and its interface), every field of BRIDGE_MAPPING and of
 * PULLER_CONFIG (from their zod schemas). Meanings come from each field's TSDoc, defaults from its `@default` or
 * its schema. A setting without a meaning, or a `process.env` read the page would not list, fails the
 * generation: `npm run docs -- --check` (and `npm test`) then fail until it is documented.
 */
interface Setting {
  readonly name: string;
  readonly meaning: string;
  readonly type: string;
  readonly defaultValue: string;
}

const ROOT = PROJECT_ROOT;

function source(file: string): ts.SourceFile {
  return ts.createSourceFile(file, readFileSync(path.join(ROOT, file), "utf8"), ts.ScriptTarget.Latest, true);
}

/** A node's TSDoc (or `//` comment) text, with `@default` split off. */
function docOf(node: ts.Node, file: ts.SourceFile): { text: string; defaultValue?: string } {
  // Only TSDoc (`/** */`): a `//` comment beside it says why, for the code's reader.
  const ranges = (ts.getLeadingCommentRanges(file.text, node.getFullStart()) ?? []).filter((r) =>
    file.text.startsWith("/**", r.pos),
  );
  const text = ranges
    .map((r) =>
      file.text
        .slice(r.pos, r.end)
        .replace(/^\/\*\*|\*\/$/g, "")
        .split("\n")
        .map((l) => l.replace(/^\s*\*\s?/, "").trim())
        .join(" "),
    )
    .join(" ")
    .replace(/\s+/g, " ")
    .trim();
  const match = /^(.*?)\s*@default\s+(.*)$/.exec(text);
  return match
    ? { text: (match[1] ?? "").trim(), defaultValue: (match[2] ?? "").trim().replace(/^"([^"]*)"/, "`$1`") }
    : { text };
}

/** The properties of the object literal passed to the call that initialises `variable` (z.object({...})). */
function schemaProperties(file: ts.SourceFile, variable: string): ts.PropertyAssignment[] {
  let found: ts.ObjectLiteralExpression | undefined;
  const visit = (node: ts.Node) => {
    if (ts.isVariableDeclaration(node) && node.name.getText(file) === variable && node.initializer) {
      const search = (n: ts.Node): void => {
        if (!found && ts.isObjectLiteralExpression(n)) found = n;
        else ts.forEachChild(n, search);
      };
      search(node.initializer);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  if (!found) throw new Error(`${file.fileName}: no object literal for ${variable}`);
  return found.properties.filter(ts.isPropertyAssignment);
}

/** Type and default from a zod initializer's text, for the common shapes; the meaning says the rest. */
function readZod(text: string): { type: string; defaultValue?: string } {
  const flat = text
    .replace(/\s+/g, " ")
    .replace(/,\s*\)/g, ")")
    .replace(/\(\s+/g, "(");
  const int = /^int\(([\d_]+), ([\d_]+), ([\d_]+)\)$/.exec(flat);
  if (int) return { type: `integer, ${num(int[1])} to ${num(int[2])}`, defaultValue: num(int[3]) };
  const withDefault = /^z\._default\((.*), ([^,]+)\)$/.exec(flat);
  const inner = withDefault ? (withDefault[1] as string) : flat;
  const defaultValue = withDefault ? (withDefault[2] as string).trim() : undefined;
  const enumMatch = /z\.enum\(\[([^\]]*)\]\)/.exec(inner);
  const range = /z\.gte\(([\d_]+)\), z\.lte\(([\d_A-Z]+)\)/.exec(inner);
  let type = "text";
  if (enumMatch) type = `one of ${enumMatch[1]?.replace(/"/g, "`")}`;
  else if (/z\.url\(/.test(inner)) type = "URL";
  else if (/z\.coerce\.number\(\)/.test(inner))
    type = `${/z\.int\(\)/.test(inner) ? "integer" : "number"}${range ? `, ${num(range[1])} to ${num(range[2])}` : ""}`;
  else if (/userOrAppId/.test(inner)) type = "id (letters, digits, `_`, `-`)";
  return defaultValue === undefined
    ? { type }
    : { type, defaultValue: defaultValue.replace(/^"(.*)"$/, "`$1`") };
}
const num = (s: string | undefined) =>
  /^\d[\d_]*$/.test(s ?? "") ? Number((s as string).replace(/_/g, "")).toLocaleString("en-US") : `\`${s}\``;

/** Every variable of an environment schema, each with its meaning; throws naming one without. */
function envSettings(file: string, variable: string): Setting[] {
  const sf = source(file);
  return schemaProperties(sf, variable).map((p) => {
    const name = p.name.getText(sf);
    const doc = docOf(p, sf);
    if (!doc.text) throw new Error(`${file}: ${name} has no TSDoc: say what it means`);
    const zod = readZod(p.initializer.getText(sf));
    const optional = /optional|optionalText/.test(p.initializer.getText(sf));
    return {
      name,
      meaning: doc.text,
      type: zod.type,
      defaultValue: doc.defaultValue ?? zod.defaultValue ?? (optional ? "unset" : "required"),
    };
  });
}

/** The handler's variables: meanings from each setting's TSDoc, kind, range and default from the table itself. */
function tableSettings(file: string, variable: string, table: Record<string, EnvSetting>): Setting[] {
  const sf = source(file);
  return schemaProperties(sf, variable).map((p) => {
    const name = p.name.getText(sf);
    const doc = docOf(p, sf);
    if (!doc.text) throw new Error(`${file}: ${name} has no TSDoc: say what it means`);
    const setting = table[name];
    if (!setting) throw new Error(`${file}: ${name} is not in ${variable}`);
    let type = "text";
    let fallback: string | undefined;
    switch (setting.kind) {
      case "id":
        type = "id (letters, digits, `_`, `-`)";
        break;
      case "url":
        type = "URL";
        if (setting.fallback !== undefined) fallback = `\`${setting.fallback}\``;
        else if (setting.required) fallback = "required";
        break;
      case "int":
      case "number":
        type = `${setting.kind === "int" ? "integer" : "number"}, ${num(String(setting.min))} to ${num(String(setting.max))}`;
        if (setting.fallback !== undefined) fallback = num(String(setting.fallback));
        break;
      case "oneOf":
        type = `one of ${setting.values.map((v) => `\`${v}\``).join(", ")}`;
        fallback = `\`${setting.fallback}\``;
        break;
    }
    return { name, meaning: doc.text, type, defaultValue: doc.defaultValue ?? fallback ?? "unset" };
  });
}

/** `process.env.NAME` reads in a file: each must be on the page. */
function envReads(file: string): Set<string> {
  const text = readFileSync(path.join(ROOT, file), "utf8");
  return new Set([...text.matchAll(/process\.env\.([A-Z0-9_]+)/g)].map((m) => m[1] as string));
}

/** The documented list of an entry that reads `process.env` directly (`{ NAME: "meaning", ... }`). */
function listedSettings(file: string, variable: string): Setting[] {
  const sf = source(file);
  return schemaProperties(sf, variable).map((p) => {
    const name = p.name.getText(sf);
    const doc = docOf(p, sf);
    const meaning = (p.initializer as ts.StringLiteral).text ?? "";
    if (!meaning) throw new Error(`${file}: ${name} has no meaning`);
    return { name, meaning, type: doc.text || "text", defaultValue: doc.defaultValue ?? "unset" };
  });
}

/** Fields of a zod object schema with their TSDoc; `prefix` names nested ones (`projects.<key>.taskId`). */
function schemaFields(file: string, variable: string, prefix = ""): Setting[] {
  const sf = source(file);
  return schemaProperties(sf, variable).map((p) => {
    const name = `${prefix}${p.name.getText(sf)}`;
    const doc = docOf(p, sf);
    if (!doc.text) throw new Error(`${file}: ${name} has no TSDoc: say what it means`);
    const zod = readZod(p.initializer.getText(sf));
    const optional = /^z\.optional\(|^z\._default\(/.test(p.initializer.getText(sf).trim());
    return {
      name,
      meaning: doc.text,
      type: typeText(p.initializer.getText(sf)) ?? zod.type,
      defaultValue: doc.defaultValue ?? zod.defaultValue ?? (optional ? "unset" : "required"),
    };
  });
}

/** A schema field's type where its zod text is a container or a named enum; otherwise the simple reader's. */
function typeText(text: string): string | undefined {
  const flat = text.replace(/\s+/g, " ");
  if (/^z\.(optional|_default)\(z\.record\(/.test(flat)) return "object (map)";
  if (/^z\.(optional|_default)\(z\.array\(/.test(flat)) return "array";
  if (/^z\.(optional|_default)\(\s*z\.(strictObject|object|looseObject)\(/.test(flat)) return "object";
  if (/^z\.(optional|_default)\(z\.union\(/.test(flat)) return "see meaning";
  if (/statusPolicy/.test(flat)) return `one of ${STATUS_POLICIES.map((p) => `\`${p}\``).join(", ")}`;
  if (/UNMAPPED_LABELER_POLICIES/.test(flat))
    return `one of ${UNMAPPED_LABELER_POLICIES.map((p) => `\`${p}\``).join(", ")}`;
  if (/^z\.(optional|_default)\(z\.(number|int)\(/.test(flat))
    return /z\.int\(/.test(flat) ? "integer" : "number";
  return undefined;
}

/** The context keys: each from ContextConfig's TSDoc (a `…File` key is the path form of its JSON setting). */
function contextSettings(): Setting[] {
  const sf = source("lib/context-config.ts");
  const members = new Map<string, { text: string; defaultValue?: string; type: string }>();
  const visit = (node: ts.Node) => {
    if (ts.isInterfaceDeclaration(node) && node.name.text === "ContextConfig")
      for (const m of node.members)
        if (ts.isPropertySignature(m))
          members.set(m.name.getText(sf), { ...docOf(m, sf), type: m.type?.getText(sf) ?? "" });
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return CONTEXT_KEYS.map((key) => {
    const fileOf = /^(.*)File$/.exec(key)?.[1];
    if (fileOf)
      return {
        name: key,
        meaning: `A path to a JSON file holding \`${fileOf}\` (instead of \`${fileOf}\`; the CDK CLI cuts \`-c\` values at the first line break).`,
        type: "path",
        defaultValue: "unset",
      };
    const m = members.get(key);
    if (!m?.text) throw new Error(`lib/context-config.ts: context key ${key} has no TSDoc in ContextConfig`);
    const type = m.type
      .replace(/\s+/g, " ")
      .replace(/^PullerContext$/, "object (see below)")
      .replace(/^unknown$/, "object");
    return {
      name: key,
      meaning: m.text,
      type: type.includes("|") ? type.replace(/"/g, "`") : type,
      defaultValue: m.defaultValue ?? "unset",
    };
  });
}

const cell = (s: string) => s.replace(/\|/g, "\\|");
const table = (rows: Setting[], first = "name") =>
  [
    `| ${first} | type | default | meaning |`,
    "|---|---|---|---|",
    ...rows.map((r) => `| \`${r.name}\` | ${cell(r.type)} | ${cell(r.defaultValue)} | ${cell(r.meaning)} |`),
  ].join("\n");

export function configurationDoc(): string {
  const handler = tableSettings("lambda/config.ts", "HANDLER_ENV", HANDLER_ENV);
  const ingress = envSettings("lambda/ingress.ts", "envSchema");
  const puller = listedSettings("lambda/pull/puller-config.ts", "PULLER_ENVIRONMENT");
  for (const [file, listed] of [
    ["lambda/handler.ts", handler],
    ["lambda/config.ts", handler],
    ["lambda/ingress.ts", ingress],
    ["lambda/puller.ts", puller],
  ] as const) {
    const names = new Set(listed.map((s) => s.name));
    for (const read of envReads(file))
      if (!names.has(read))
        throw new Error(`${file} reads process.env.${read}, which docs/configuration.md would not list`);
  }
  return `# Configuration

Generated from the code by \`npm run docs\` (bin/configuration-doc.ts); \`npm run docs -- --check\` fails when the
code has a setting this page lacks. Each setting's meaning is its TSDoc in the file named above its table.

- [Environment variables](#environment-variables): [the handler](#the-handler), [the webhook ingress](#the-webhook-ingress), [the puller](#the-puller)
- [CDK context keys](#cdk-context-keys)
- [Mapping (BRIDGE_MAPPING)](#mapping-bridge_mapping)
- [Puller settings (PULLER_CONFIG)](#puller-settings-puller_config)

## Environment variables

Each function reads its environment once at cold start; a bad value fails naming the variable and the rule. The
construct sets them; set them yourself only to run a function outside the stack. Powertools' own variables
(\`POWERTOOLS_LOG_LEVEL\`, \`POWERTOOLS_METRICS_DISABLED\`, ...) work as Powertools documents them.

### The handler

\`lambda/handler.ts\`, parsed by \`lambda/config.ts\`.

${table(handler)}

### The webhook ingress

\`lambda/ingress.ts\`.

${table(ingress)}

### The puller

\`lambda/puller.ts\`, listed in \`lambda/pull/puller-config.ts\`.

${table(puller)}

## CDK context keys

Read by \`lib/context-config.ts\` (in \`cdk.json\`, or \`-c key=value\`). An unknown key fails synth naming the
nearest known one; flags take only \`true\` or \`false\`.

${table(contextSettings(), "key")}

## Mapping (BRIDGE_MAPPING)

The construct's \`mapping\` prop, context \`mapping\` or \`mappingFile\`; JSON Schema:
[schema/bridge-mapping.schema.json](../schema/bridge-mapping.schema.json). Keys of \`projects\` are
\`<source>:<project>\`: \`label-studio:12\`, \`labelbox:<project id>\`, \`sagemaker-ground-truth:<job>\`,
\`scale:<project>\`, \`cvat:<project or task id>\`. An example: [examples/mapping.json](../examples/mapping.json).

${table(schemaFields("lambda/events/contract/mapping-config.ts", "mappingConfigSchema"), "field")}

Each project (\`projects["<source>:<project>"]\`):

${table(schemaFields("lambda/events/contract/mapping-config.ts", "projectMappingSchema", "projects.<key>."), "field")}

## Puller settings (PULLER_CONFIG)

The construct's \`puller\` prop (context \`puller\`), as the puller reads it.

${table(schemaFields("lambda/pull/puller-config.ts", "pullerConfigSchema"), "field")}
`;
}

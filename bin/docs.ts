import { readFileSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import ts from "typescript";
import * as z from "zod/mini";
import { mappingConfigSchema } from "../lambda/events/contract/mapping-config.js";
import { labelingEventSchema } from "../lambda/events/event-schema.js";
import { PROJECT_ROOT } from "../lib/bundling.js";
import { configurationDoc } from "./configuration-doc.js";
import { flowSvg } from "./diagram.js";
import { mappingValidatorSource, validatorsSource } from "./validator-gen.js";

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
    "docs/API.md": apiReference(path.join(PROJECT_ROOT, "lib", "index.ts")),
    "docs/configuration.md": configurationDoc(),
    "lambda/events/generated/validate.ts": validatorsSource(),
    "lambda/events/generated/validate-mapping.ts": mappingValidatorSource(),
    "docs/flow.svg": flowSvg(readFileSync(path.join(PROJECT_ROOT, "docs", "flow.txt"), "utf8")),
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
      "Upstream projects to Clarifai tasks, labelers to Clarifai users, and annotation statuses. Generated from lambda/events/contract/mapping-config.ts by `npm run docs`.",
    ),
  };
}

/**
 * The construct library's API reference, from the TSDoc comments of what lib/index.ts exports: each interface's
 * properties (type, default, description), each class's constructor, public properties and methods, each constant.
 */
export function apiReference(entry: string): string {
  const program = ts.createProgram([entry], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    skipLibCheck: true,
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(entry);
  const moduleSymbol = source && checker.getSymbolAtLocation(source);
  if (!moduleSymbol) throw new Error(`cannot read ${entry}`);
  const oneLine = (text: string) => text.replace(/\s+/g, " ").trim();
  const cell = (text: string) => oneLine(text).replaceAll("|", "\\|");
  const docOf = (symbol: ts.Symbol) =>
    ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim();
  const tag = (symbol: ts.Symbol, name: string) => {
    const found = symbol.getJsDocTags(checker).find((t) => t.name === name);
    return found ? ts.displayPartsToString(found.text).trim() : undefined;
  };
  const typeText = (declaration: ts.Declaration | undefined, symbol: ts.Symbol) => {
    const node = declaration as { type?: ts.TypeNode } | undefined;
    return node?.type
      ? oneLine(node.type.getText())
      : checker.typeToString(checker.getTypeOfSymbolAtLocation(symbol, declaration ?? (source as ts.Node)));
  };
  const lines = [
    "# API reference",
    "",
    "Generated from the TSDoc comments of `lib/index.ts`'s exports by `npm run docs`; a test fails when it is stale.",
    'Install: see docs/deploy.md, "Use the construct in your own CDK app".',
    "",
  ];
  const exported = checker
    .getExportsOfModule(moduleSymbol)
    .map((s) => (s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s))
    .sort((a, b) => a.getName().localeCompare(b.getName()));
  for (const symbol of exported) {
    const name = symbol.getName();
    const declaration = symbol.declarations?.[0];
    if (!declaration) continue;
    const doc = docOf(symbol);
    if (ts.isInterfaceDeclaration(declaration)) {
      lines.push(`## interface ${name}`, "", ...(doc ? [doc, ""] : []));
      // Only what this project declares; what an interface extends is named, not copied.
      const own = (m: ts.Symbol) => !m.declarations?.[0]?.getSourceFile().fileName.includes("node_modules");
      const all = checker.getPropertiesOfType(checker.getDeclaredTypeOfSymbol(symbol));
      const members = all.filter(own);
      const bases = (declaration.heritageClauses ?? []).flatMap((h) =>
        h.types.map((t) => oneLine(t.getText())),
      );
      if (bases.length > 0)
        lines.push(`Extends \`${bases.join("`, `")}\` (their properties are not repeated here).`, "");
      if (members.length > 0) {
        lines.push("| property | type | default | description |", "|---|---|---|---|");
        for (const m of members) {
          const d = m.declarations?.[0];
          const optional = m.flags & ts.SymbolFlags.Optional ? "?" : "";
          lines.push(
            `| \`${m.getName()}${optional}\` | \`${cell(typeText(d, m))}\` | ${cell(tag(m, "default") ?? "")} | ${cell(docOf(m))} |`,
          );
        }
        lines.push("");
      }
    } else if (ts.isClassDeclaration(declaration)) {
      lines.push(`## class ${name}`, "", ...(doc ? [doc, ""] : []));
      const ctor = declaration.members.find(ts.isConstructorDeclaration);
      if (ctor)
        lines.push(`\`new ${name}(${ctor.parameters.map((p) => oneLine(p.getText())).join(", ")})\``, "");
      const members = checker.getPropertiesOfType(checker.getDeclaredTypeOfSymbol(symbol)).filter((m) => {
        const d = m.declarations?.[0];
        const flags = d ? ts.getCombinedModifierFlags(d) : 0;
        return (
          d?.parent === declaration && !(flags & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected))
        );
      });
      for (const m of members) {
        const d = m.declarations?.[0];
        const signature =
          d && ts.isMethodDeclaration(d)
            ? `${m.getName()}(${d.parameters.map((p) => oneLine(p.getText())).join(", ")})${d.type ? `: ${oneLine(d.type.getText())}` : ""}`
            : `${m.getName()}${m.flags & ts.SymbolFlags.Optional ? "?" : ""}: ${typeText(d, m)}`;
        lines.push(`- \`${signature}\`${docOf(m) ? `: ${oneLine(docOf(m))}` : ""}`);
      }
      lines.push("");
    } else if (ts.isVariableDeclaration(declaration)) {
      lines.push(
        `## const ${name}`,
        "",
        `\`${name} = ${oneLine(declaration.initializer?.getText() ?? "")}\``,
        "",
      );
      if (doc) lines.push(doc, "");
    } else if (ts.isTypeAliasDeclaration(declaration)) {
      lines.push(`## type ${name}`, "", ...(doc ? [doc, ""] : []));
      lines.push("```ts", `type ${name} = ${oneLine(declaration.type.getText())}`, "```", "");
    }
  }
  return `${lines.join("\n").trimEnd()}\n`;
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

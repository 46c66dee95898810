import type * as z from "zod/mini";
import { mappingConfigSchema } from "../lambda/events/contract/mapping-config.js";
import {
  clarifaiNativeBodySchema,
  labelingEventSchema,
  RULE_OF_CHECK,
} from "../lambda/events/event-schema.js";

/**
 * Writes lambda/events/generated/validate.ts: the canonical event's and the Clarifai-native body's validators as
 * plain code, generated from their zod schemas (the single source) at build time, so the handler's hot path
 * validates each record without running a schema library. Each validator answers `undefined` (valid) or the path
 * of the first problem it found; a refusal's words still come from zod (parse-record.ts asks it only then). The
 * rules that are not shapes are the same functions zod's refinements call (event-rules.ts, registered by name in
 * `RULE_OF_CHECK`). A schema part this generator does not know fails the generation, naming it, rather than being
 * skipped. test/unit/validators.test.ts checks the generated code and zod agree on every fixture, every hostile
 * body and a property-based corpus.
 */
type Def = {
  type: string;
  checks?: { _zod: { def: { check: string; [k: string]: unknown } } }[];
  [k: string]: unknown;
};
const defOf = (schema: unknown) => (schema as { _zod: { def: Def } })._zod.def;

/** One exported validator: its name, its schema and what its TSDoc says it checks. */
interface Root {
  readonly name: string;
  readonly schema: unknown;
  readonly doc: string;
}

/** The record validators (every record's path) and the mapping's (read once, only when BRIDGE_MAPPING is set). */
export function validatorsSource(): string {
  return sourceOf("lambda/events/event-schema.ts", [
    { name: "labelingEventProblem", schema: labelingEventSchema, doc: "The canonical labeling event" },
    { name: "clarifaiNativeBodyProblem", schema: clarifaiNativeBodySchema, doc: "The Clarifai-native body" },
  ]);
}
export function mappingValidatorSource(): string {
  return sourceOf("lambda/events/contract/mapping-config.ts", [
    { name: "mappingConfigProblem", schema: mappingConfigSchema, doc: "BRIDGE_MAPPING, parsed" },
  ]);
}

function sourceOf(from: string, roots: readonly Root[]): string {
  const functions: string[] = [];
  const constants: string[] = [];
  const names = new Map<unknown, string>();
  const constant = (code: string) => {
    const name = `C${constants.length}`;
    constants.push(`const ${name} = ${code};`);
    return name;
  };

  const byBody = new Map<string, string>();
  /**
   * The name of a function `(v) => path | undefined` for `schema`: generated once per schema object, and shared by
   * schema objects whose checks are the same (every `key(255)` is its own object, one function serves them all).
   */
  function fn(schema: unknown): string {
    const known = names.get(schema);
    if (known) return known;
    const body = statements(defOf(schema))
      .map((l) => `  ${l}`)
      .join("\n");
    const same = byBody.get(body);
    if (same) {
      names.set(schema, same);
      return same;
    }
    const name = `v${byBody.size}`;
    byBody.set(body, name);
    names.set(schema, name);
    const local = body.includes("(r = ") ? "  let r: P | undefined;\n" : "";
    functions.push(`function ${name}(v: any): P | undefined {\n${local}${body}\n  return undefined;\n}`);
    return name;
  }

  /** `if ((r = f(x))) return at(r, key);`, with `undefined` skipped for optional parts. */
  const child = (schema: unknown, value: string, key: string | undefined, optional = false): string[] => {
    const def = defOf(schema);
    // A default fills only what is absent (the reader applies it, see withMappingDefaults): checked as optional.
    if (def.type === "optional" || def.type === "default") return child(def.innerType, value, key, true);
    if (def.type === "unknown") return [];
    const call = `(r = ${fn(schema)}(${value}))`;
    const test = optional ? `${value} !== undefined && ${call}` : call;
    return [`if (${test}) return ${key === undefined ? "r" : `at(r, ${key})`};`];
  };

  function statements(def: Def): string[] {
    const out: string[] = [];
    // Checks in a row that fail at the same place are one condition (`a || b`), evaluated in the same order.
    const fail = (condition: string) => {
      const last = out[out.length - 1];
      const merged =
        last?.startsWith("if (") && last.endsWith(") return [];") ? last.slice(4, -12) : undefined;
      if (merged !== undefined) out[out.length - 1] = `if (${merged} || (${condition})) return [];`;
      else out.push(`if ((${condition})) return [];`);
    };
    switch (def.type) {
      case "object": {
        fail('typeof v !== "object" || v === null || Array.isArray(v)');
        const shape = def.shape as Record<string, unknown>;
        const strict = defOf(def.catchall ?? { _zod: { def: { type: "none" } } }).type === "never";
        if (!strict)
          throw new Error(
            "validator-gen: only strict objects are generated (a catchall would pass keys through)",
          );
        const keys = constant(`new Set(${JSON.stringify(Object.keys(shape))})`);
        fail(`other(v, ${keys})`);
        for (const [key, part] of Object.entries(shape))
          out.push(...child(part, `v[${JSON.stringify(key)}]`, JSON.stringify(key)));
        break;
      }
      case "record": {
        fail('typeof v !== "object" || v === null || Array.isArray(v)');
        if (defOf(def.keyType).type !== "string")
          throw new Error("validator-gen: records are generated with string keys only");
        const keyChecked = (defOf(def.keyType).checks ?? []).length > 0;
        const valueChecked = defOf(def.valueType).type !== "unknown";
        if (keyChecked || valueChecked)
          out.push(
            "for (const k in v) {",
            // A key that breaks its rule is reported at that key, as zod does.
            ...(keyChecked ? [`  if (${fn(def.keyType)}(k)) return [k];`] : []),
            ...(valueChecked ? child(def.valueType, "v[k]", "k").map((l) => `  ${l}`) : []),
            "}",
          );
        break;
      }
      case "array": {
        fail("!Array.isArray(v)");
        out.push(
          "for (let i = 0; i < v.length; i++) {",
          ...child(def.element, "v[i]", "i").map((l) => `  ${l}`),
          "}",
        );
        break;
      }
      case "string": {
        // Its length bounds, in code points, as one call (the checks below skip them for strings).
        const bound = (kind: string, key: string) =>
          (def.checks ?? []).map((c) => c._zod.def).find((c) => c.check === kind)?.[key] as
            | number
            | undefined;
        const min = bound("min_length", "minimum");
        const max = bound("max_length", "maximum");
        fail(
          min === undefined && max === undefined
            ? 'typeof v !== "string"'
            : `str(v, ${min ?? 0}, ${max ?? "Infinity"})`,
        );
        if (def.format === "datetime") fail(`!${constant(String(def.pattern))}.test(v)`);
        else if (def.format !== undefined)
          throw new Error(`validator-gen: string format ${String(def.format)}`);
        break;
      }
      case "number": {
        fail('typeof v !== "number" || !Number.isFinite(v)');
        if (def.format === "safeint") fail("!Number.isSafeInteger(v)");
        else if (def.format !== undefined)
          throw new Error(`validator-gen: number format ${String(def.format)}`);
        break;
      }
      case "boolean":
        fail('typeof v !== "boolean"');
        break;
      case "literal":
        fail(`!${constant(`new Set(${JSON.stringify(def.values)})`)}.has(v)`);
        break;
      case "enum":
        fail(`!${constant(`new Set(${JSON.stringify(Object.values(def.entries as object))})`)}.has(v)`);
        break;
      case "union": {
        const options = (def.options as unknown[]).map((o) => fn(o));
        fail(options.map((o) => `${o}(v) !== undefined`).join(" && "));
        break;
      }
      default:
        throw new Error(`validator-gen: schema type ${def.type} is not generated`);
    }
    for (const check of def.checks ?? []) {
      const c = check._zod.def;
      switch (c.check) {
        // zod measures strings in Unicode code points (a pair of surrogates is one), arrays in items.
        case "min_length":
          if (def.type !== "string") fail(`v.length < ${c.minimum as number}`);
          break;
        case "max_length":
          if (def.type !== "string") fail(`v.length > ${c.maximum as number}`);
          break;
        case "greater_than":
          fail(`v ${c.inclusive ? "<" : "<="} ${c.value as number}`);
          break;
        case "less_than":
          fail(`v ${c.inclusive ? ">" : ">="} ${c.value as number}`);
          break;
        case "string_format":
          if (c.format !== "regex") throw new Error(`validator-gen: string format check ${String(c.format)}`);
          fail(`!${constant(String(c.pattern))}.test(v)`);
          break;
        case "custom": {
          const rule = RULE_OF_CHECK.get(check);
          if (!rule)
            throw new Error(`validator-gen: a refinement of a ${def.type} has no rule in event-rules.ts`);
          fail(`!RULES.${rule.name}(v${rule.arg === undefined ? "" : `, ${rule.arg}`})`);
          break;
        }
        default:
          throw new Error(`validator-gen: check ${c.check} is not generated`);
      }
    }
    return out;
  }

  const exported = roots.map(
    (root) =>
      `/** ${root.doc}: \`undefined\` when it is valid, else where the first problem is. */\nexport const ${root.name} = (value: unknown): P | undefined => ${fn(root.schema as z.ZodMiniType)}(value);`,
  );
  const usesRules = functions.some((f) => f.includes("RULES."));
  // The checks the functions call (validator-checks.ts), and the path type.
  const checks = [
    ...["at", "codePoints", "other"].filter((name) => functions.some((f) => f.includes(`${name}(`))),
    "type P",
    ...(functions.some((f) => /\bstr\(/.test(f)) ? ["str"] : []),
  ].join(", ");
  return `// Generated by \`npm run docs\` (bin/validator-gen.ts) from ${from}: do not edit.
// biome-ignore-all lint: generated code
/* eslint-disable */
${usesRules ? 'import { RULES } from "../event-rules.js";\n' : ""}import { ${checks} } from "../validator-checks.js";

${constants.join("\n")}

${functions.join("\n\n")}

${exported.join("\n\n")}
`;
}

import type * as z from "zod/mini";
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

export function validatorsSource(): string {
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
    functions.push(`function ${name}(v: any): P | undefined {\n${body}\n  return undefined;\n}`);
    return name;
  }

  /** `r = f(x); if (r) { r.unshift(key); return r; }`, with `undefined` skipped for optional parts. */
  const child = (schema: unknown, value: string, key: string | undefined): string[] => {
    const def = defOf(schema);
    if (def.type === "optional") {
      const inner = child(def.innerType, value, key);
      return [`if (${value} !== undefined) {`, ...inner.map((l) => `  ${l}`), "}"];
    }
    if (def.type === "unknown") return [];
    const call = `${fn(schema)}(${value})`;
    return [
      key === undefined
        ? `{ const r = ${call}; if (r) return r; }`
        : `{ const r = ${call}; if (r) { r.unshift(${key}); return r; } }`,
    ];
  };

  function statements(def: Def): string[] {
    const out: string[] = [];
    const fail = (condition: string) => out.push(`if (${condition}) return [];`);
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
        out.push(`for (const k in v) if (!${keys}.has(k)) return [];`);
        for (const [key, part] of Object.entries(shape))
          out.push(...child(part, `v[${JSON.stringify(key)}]`, JSON.stringify(key)));
        break;
      }
      case "record": {
        fail('typeof v !== "object" || v === null || Array.isArray(v)');
        if (defOf(def.keyType).type !== "string" || defOf(def.valueType).type !== "unknown")
          throw new Error("validator-gen: records are generated as string -> unknown only");
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
        fail('typeof v !== "string"');
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
        case "min_length": {
          const min = c.minimum as number;
          fail(
            def.type === "string"
              ? `v.length < ${min} || (v.length < ${2 * min} && codePoints(v) < ${min})`
              : `v.length < ${min}`,
          );
          break;
        }
        case "max_length": {
          const max = c.maximum as number;
          fail(def.type === "string" ? `v.length > ${max} && codePoints(v) > ${max}` : `v.length > ${max}`);
          break;
        }
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

  const event = fn(labelingEventSchema as z.ZodMiniType);
  const native = fn(clarifaiNativeBodySchema as z.ZodMiniType);
  return `// Generated by \`npm run docs\` (bin/validator-gen.ts) from lambda/events/event-schema.ts: do not edit.
// biome-ignore-all lint: generated code
/* eslint-disable */
import { RULES } from "../event-rules.js";

/** The path of the first problem found (the part that failed), for a refusal's words to come from zod. */
type P = (string | number)[];

/** A string's length in Unicode code points, as zod counts it (a lone surrogate is one). */
function codePoints(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length - 1; i++)
    if ((s.charCodeAt(i) & 0xfc00) === 0xd800 && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n--;
      i++;
    }
  return n;
}

${constants.join("\n")}

${functions.join("\n\n")}

/** The canonical labeling event: \`undefined\` when it is valid, else where the first problem is. */
export const labelingEventProblem = (value: unknown): P | undefined => ${event}(value);

/** The Clarifai-native body: \`undefined\` when it is valid, else where the first problem is. */
export const clarifaiNativeBodyProblem = (value: unknown): P | undefined => ${native}(value);
`;
}

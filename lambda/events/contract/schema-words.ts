import {
  clarifaiNativeBodySchema,
  describeIssues,
  labelingEventSchema,
  requiredFieldMessages,
} from "../event-schema.js";
import { mappingConfigSchema } from "./mapping-config.js";

/** What a refusal's words are asked about. */
export type WordedSchema = "event" | "native" | "mapping";

export interface SchemaWords {
  /** zod's verdict on `value`: its parsed value, or every problem in words. zod's acceptance wins. */
  check(schema: WordedSchema, value: unknown): { ok: true; value: unknown } | { ok: false; reason: string };
}

/**
 * zod's words for a refused record or mapping (refusal-words.ts loads this module only for a refusal): every
 * problem, the field then the rule. The mapping's are as BRIDGE_MAPPING's errors have always read.
 */
export const SCHEMA_WORDS: SchemaWords = {
  check(schema, value) {
    if (schema === "mapping") {
      const parsed = mappingConfigSchema.safeParse(value);
      if (parsed.success) return { ok: true, value: parsed.data };
      return {
        ok: false,
        reason: parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "),
      };
    }
    const parsed = (schema === "event" ? labelingEventSchema : clarifaiNativeBodySchema).safeParse(value, {
      error: requiredFieldMessages,
    });
    return parsed.success
      ? { ok: true, value: parsed.data }
      : { ok: false, reason: describeIssues(parsed.error) };
  },
};

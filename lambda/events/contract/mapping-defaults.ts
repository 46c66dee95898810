import type { MappingConfig } from "./mapping-config.js";

/** The mapping when BRIDGE_MAPPING is unset: no projects. */
export const EMPTY_MAPPING: MappingConfig = { projects: {} };

/**
 * A mapping the generated validator accepted (generated/validate.ts), as zod would have parsed it: its one default
 * (`projects`) filled. The schema has no transforms, so what is valid is the value itself.
 */
export function withMappingDefaults(valid: Record<string, unknown>): MappingConfig {
  return { ...valid, projects: valid.projects ?? {} } as MappingConfig;
}

import type { ProjectMapping } from "../contract/mapping-config.js";

/** Selected labels as concepts (renamed), plus the configured negatives that were not selected, as 0. */
export function conceptsFor(
  selected: readonly string[],
  mapping: ProjectMapping,
): { id: string; name?: string; value: number }[] {
  const rename = (label: string) => mapping.labels?.[label] ?? label;
  const positives = [...new Set(selected)].map((label) => {
    const conceptId = rename(label);
    return conceptId === label ? { id: conceptId, value: 1 } : { id: conceptId, name: label, value: 1 };
  });
  const chosen = new Set(positives.map((c) => c.id));
  const negatives = (mapping.negatives ?? []).filter((c) => !chosen.has(c)).map((c) => ({ id: c, value: 0 }));
  return [...positives, ...negatives];
}

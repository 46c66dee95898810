/**
 * A problem's path as a refusal names it: `concepts[1].value` (each part at most 64 characters), under `root` when
 * given, `(body)` for the value itself. Shared by zod's words (event-schema.ts) and the words a refusal gets before
 * zod is loaded (contract/refusal-words.ts).
 */
export function formatPath(path: readonly PropertyKey[], root?: string): string {
  if (path.length === 0) return root ?? "(body)";
  const joined = path
    .map((part, i) =>
      typeof part === "number" ? `[${part}]` : `${i === 0 && !root ? "" : "."}${String(part).slice(0, 64)}`,
    )
    .join("");
  return root ? `${root}${joined}` : joined;
}

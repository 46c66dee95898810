import { hash } from "node:crypto";

/** Prefix of every id the bridge derives, so derived annotations are recognisable in Clarifai. */
export const DERIVED_ID_PREFIX = "cab-";

/** A stable, collision-resistant id from its parts (SHA-256, 128 bits in hex). The same parts give the same id. */
export function derivedId(...parts: readonly string[]): string {
  // Each part followed by NUL, hashed in one call (crypto.hash: a third of createHash's CPU for inputs this small).
  let text = "";
  for (const part of parts) text += `${part}\u0000`;
  return DERIVED_ID_PREFIX + hash("sha256", text, "hex").slice(0, 32);
}

/** Id of the region member of an annotation set: the base id plus a short hash of the region's key. */
export function regionMemberId(baseId: string, regionKey: string): string {
  const short = hash("sha256", regionKey, "hex").slice(0, 12);
  return `${baseId}-r-${short}`;
}

/** Deeper than this, `stableStringify` refuses (a RangeError) rather than overflow the stack. */
export const STABLE_STRINGIFY_MAX_DEPTH = 64;

/**
 * JSON with object keys sorted, so equal content gives equal text whatever the key order. Depth-limited: the
 * schemas bound free-form JSON well below the limit, and the limit keeps a missed path from overflowing the stack.
 */
export function stableStringify(value: unknown, depth = 0): string {
  if (depth > STABLE_STRINGIFY_MAX_DEPTH)
    throw new RangeError(`nested deeper than ${STABLE_STRINGIFY_MAX_DEPTH} levels`);
  if (Array.isArray(value)) return `[${value.map((v) => stableStringify(v, depth + 1)).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v, depth + 1)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

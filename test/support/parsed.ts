import type { ParsedRecord } from "../../lambda/delivery/parse-record.js";

// biome-ignore lint/suspicious/noExplicitAny: the tests read deep into Clarifai's JSON bodies
type Json = Record<string, any>;

/** Every Clarifai annotation a parsed record makes (its creates and its replacements' members), or its failure thrown. */
export function annotationsOf(parsed: ParsedRecord): Json[] {
  if (!parsed.ok) throw new Error(`${parsed.failure.code}: ${parsed.failure.reason}`);
  return [
    ...parsed.deliveries.map((d) => d.annotation),
    ...parsed.changes.flatMap((c) => {
      if (c.kind !== "replace") return [];
      const members = c.members;
      // A long event's members are made one at a time; here all of them, as they would be sent.
      return members ? Array.from({ length: members.count }, (_, i) => members.at(i)) : c.annotations;
    }),
  ] as Json[];
}

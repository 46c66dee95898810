import { formatPath } from "../field-path.js";
import type { SchemaWords } from "./schema-words.js";

export type { SchemaWords, WordedSchema } from "./schema-words.js";

/**
 * The words of a refusal, loaded only for one. Records and the mapping are checked by the validators generated from
 * the zod schemas (generated/validate.ts: plain code); zod itself, the schemas and their English messages (about 40
 * KiB and most of a cold start's module time) load only when a value is refused, to say why in zod's words: the
 * handler awaits `loadWords()` then (read-batch.ts, config.ts); callers that parse synchronously (the CLI, the
 * audit, the tests) load them up front with the adapters (all-adapters.ts).
 */
let words: SchemaWords | undefined;

/** The words, when loaded. */
export const loadedWords = (): SchemaWords | undefined => words;

/** Loads the words (zod and the schemas) once; a failed load throws, as an adapter's does. */
export async function loadWords(): Promise<SchemaWords> {
  words ??= (await import("./schema-words.js")).SCHEMA_WORDS;
  return words;
}

/** Words loaded by a static import (all-adapters.ts), for callers that cannot await. */
export function useWords(loaded: SchemaWords): void {
  words = loaded;
}

/** Thrown where a refusal needs words that are not loaded; the reader loads them and reads the value again. */
export class WordsNotLoaded extends Error {
  constructor(readonly path: readonly PropertyKey[]) {
    super(`${formatPath(path)}: not valid (the schema's words were not loaded to say why)`);
    this.name = "WordsNotLoaded";
  }
}

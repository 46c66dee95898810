/**
 * The message attribute that carries a long event's cursor (continuation.ts): a name of its own, so the cold
 * path knows a continuation when it sees one without loading the code that reads it.
 */
export const CONTINUATION_ATTRIBUTE = "bridge-continuation";

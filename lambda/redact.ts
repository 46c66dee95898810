/**
 * The one scrubber for text that leaves the function (log lines, metric dimensions, dead-letter attributes): every
 * occurrence of a secret it knows, and anything that looks like an Authorization value, becomes `[redacted]`.
 */
export type Scrub = (text: string) => string;

const REDACTED = "[redacted]";
/** `Key <value>`, `Bearer <value>`, `Token <value>`: how a key travels in a header, and how errors may quote it. */
const AUTH_VALUE = /\b(Key|Bearer|Token)(\s+)[^\s"',;)]+/g;

/** A scrubber for these secrets (values shorter than 4 characters are too common to scrub by value). */
export function scrubberFor(secrets: readonly (string | undefined)[]): Scrub {
  const known = [...new Set(secrets.filter((s): s is string => typeof s === "string" && s.length >= 4))]
    // Longest first, so a secret that contains another is removed whole.
    .sort((a, b) => b.length - a.length);
  return (text) => {
    let out = String(text);
    for (const secret of known) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    return out.replace(AUTH_VALUE, `$1$2${REDACTED}`);
  };
}

/** Why a Clarifai key cannot be sent in an HTTP header (printable ASCII, no white space), or undefined. */
export function keyProblem(key: string): string | undefined {
  if (key.length === 0) return "is empty";
  if (!/^[\x21-\x7e]+$/.test(key))
    return "must be printable ASCII without white space or control characters (is the secret pretty-printed or on several lines?)";
  return undefined;
}

/** Name and message only, scrubbed: an error can carry request details (a header, the key) that must not leave. */
export function safeError(error: unknown, scrub: Scrub = (t) => t): { name: string; message: string } {
  try {
    const err = error as { name?: unknown; message?: unknown };
    const name = typeof err?.name === "string" ? err.name : "Error";
    const message = typeof err?.message === "string" ? err.message : typeof error === "string" ? error : "";
    return { name: scrub(name).slice(0, 100), message: scrub(message).slice(0, 500) };
  } catch {
    return { name: "Error", message: "(could not be described)" };
  }
}

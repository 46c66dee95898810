/**
 * SQS's rules for message attribute values: only `#x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD |
 * #x10000-#x10FFFF`, and body plus attributes within the message size limit. Real SQS refuses a send that breaks
 * them (the local SQS-compatible server does not check), so every value the bridge writes passes through here.
 */

/** SQS's message size limit: body and attributes together. */
export const MAX_MESSAGE_BYTES = 1_048_576;

/**
 * The largest body the bridge queues itself (the webhook ingress, the puller): SQS's 1 MiB less 8 KiB for the
 * message attributes.
 */
export const MAX_QUEUED_BODY_BYTES = 1_040_384;

/**
 * JSON text as SQS accepts it in a body: U+FFFE and U+FFFF escaped (JSON.stringify leaves them raw; it escapes
 * control characters and lone surrogates), and characters beyond U+FFFF (emoji, in a Text span's text) written as
 * their surrogate-pair escapes: SQS accepts them raw, but the local SQS-compatible server (fauxqs 2.4) refuses
 * them, so escaping keeps a body valid for both. They can only stand inside JSON strings, where the escapes mean
 * the same.
 */
export const sqsSafeJson = (json: string) =>
  json
    .replace(/\uFFFE/g, "\\ufffe")
    .replace(/\uFFFF/g, "\\uffff")
    .replace(/[\ud800-\udbff][\udc00-\udfff]/g, (pair) => `\\u${hex(pair, 0)}\\u${hex(pair, 1)}`);
const hex = (s: string, i: number) => s.charCodeAt(i).toString(16).padStart(4, "0");

// Lone surrogates are matched by the `u` flag's code-point view of the string (a valid pair is one code point).
// biome-ignore lint/suspicious/noControlCharactersInRegex: the point of the pattern is to find control characters
const REFUSED = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff\ud800-\udfff]/gu;
// biome-ignore lint/suspicious/noControlCharactersInRegex: see above
const REFUSED_ONE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff\ud800-\udfff]/u;

/**
 * A value SQS accepts and a person can read on one line: refused characters become U+FFFD, tabs and line breaks
 * a space (C1 controls too), cut to `maxChars` without splitting a surrogate pair.
 */
export function sqsSafeText(value: string, maxChars: number): string {
  const cleaned = String(value)
    .replace(REFUSED, "\ufffd")
    .replace(/[\t\n\r\u0080-\u009f]/g, " ");
  if (cleaned.length <= maxChars) return cleaned;
  const cut = cleaned.slice(0, Math.max(0, maxChars - 1));
  // Do not leave half of a surrogate pair at the end.
  return `${/[\ud800-\udbff]$/.test(cut) ? cut.slice(0, -1) : cut}…`;
}

/** A machine-readable code as SQS and CloudWatch accept it in a value and a dimension: `[A-Za-z0-9._-]`, 64 at most. */
export function sqsSafeCode(code: string): string {
  return (
    String(code)
      .replace(/[^A-Za-z0-9._-]/g, "-")
      .slice(0, 64) || "unknown"
  );
}

/** Why SQS would refuse this attribute value, or undefined: the check real SQS makes and the local server does not. */
export function sqsValueProblem(value: string): string | undefined {
  return REFUSED_ONE.test(value) ? "holds a character SQS refuses in message attributes" : undefined;
}

/** Bytes SQS counts for an attribute: its name, its data type and its value. */
export function attributeBytes(name: string, dataType: string, value: string): number {
  return Buffer.byteLength(name) + Buffer.byteLength(dataType) + Buffer.byteLength(value);
}

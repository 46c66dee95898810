import { getSecret } from "@aws-lambda-powertools/parameters/secrets";
import type { KeySource } from "./config.js";
import { SecretError } from "./secret-text.js";

/**
 * Secrets, one way for the handler and the ingress: Powertools Parameters reads the text exactly as stored (no
 * transform, so nothing is JSON-parsed behind our back) and caches it for `maxAgeSeconds`; the caller parses it
 * with secret-text.ts, whose errors name the setting and quote nothing of the value.
 */

/**
 * The secret's text as stored, re-read once `maxAgeSeconds` have passed (0: every call). `setting` names the
 * environment variable that points at it, for the error messages.
 */
export async function readSecretText(
  secretId: string,
  maxAgeSeconds: number,
  setting: string,
): Promise<string> {
  let value: unknown;
  try {
    value = await getSecret(secretId, { maxAge: maxAgeSeconds });
  } catch (error) {
    // The SDK's message (not found, access denied, a network error) never holds the value; keep it as the cause.
    const cause = (error as { cause?: unknown })?.cause ?? error;
    const name = String((cause as { name?: unknown })?.name ?? "Error").slice(0, 80);
    throw new SecretError(`the secret named by ${setting} could not be read (${name})`, { cause: error });
  }
  if (typeof value !== "string")
    throw new SecretError(
      `the secret named by ${setting} holds no text (a binary secret?); store it as text`,
    );
  return value;
}

/**
 * A key from where the configuration says (config.ts `KeySource`): the plain variable, or its secret re-read every
 * `maxAgeSeconds` and parsed (`parse`) only when its text changed. Returns the key and the secret's text (for the
 * scrubber), or the variable's value as both.
 */
export function keyReader(
  source: KeySource,
  maxAgeSeconds: number,
  setting: string,
  parse: (text: string) => string,
): () => Promise<{ key: string; text: string }> {
  let cached: { text: string; key: string } | undefined;
  return async () => {
    if (source.source === "env") return { key: source.value, text: source.value };
    const text = await readSecretText(source.secretId, maxAgeSeconds, setting);
    if (cached?.text !== text) cached = { text, key: parse(text) };
    return cached;
  };
}

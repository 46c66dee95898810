import { keyProblem } from "./redact.js";

/** Parsing a secret's text: plain functions whose errors name the setting and quote nothing of the value. */

/** A secret that cannot be read or used. Its message names the setting, never any part of the value. */
export class SecretError extends Error {
  override readonly name = "SecretError";
}

/**
 * `JSON.parse` for secret text: V8's own error quotes the text around the fault ("Unexpected token … in "{…"),
 * which would put part of the secret in a log, so a failure here says only where.
 */
export function parseSecretJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new SecretError(
      `${where} starts with "{" but is not valid JSON; store plain text or a JSON object`,
    );
  }
}

/**
 * The Clarifai key in a secret's text: the text itself (surrounding white space trimmed), or a JSON object holding
 * it under `CLARIFAI_PAT`, `pat` or `key`. Anything else is a `SecretError` that names the setting.
 */
export function clarifaiKeyFromSecret(text: string): string {
  return keyFromSecret(text, "CLARIFAI_PAT_SECRET_ARN", ["CLARIFAI_PAT", "pat", "key"], "the Clarifai key");
}

/**
 * The Labelbox API key in a secret's text (for its mask URLs): the text itself, or a JSON object holding it under
 * `LABELBOX_API_KEY`, `apiKey` or `key`.
 */
export function labelboxKeyFromSecret(text: string): string {
  return keyFromSecret(
    text,
    "LABELBOX_API_KEY_SECRET_ARN",
    ["LABELBOX_API_KEY", "apiKey", "key"],
    "the Labelbox key",
  );
}

function keyFromSecret(text: string, setting: string, names: readonly string[], what: string): string {
  const where = `the secret named by ${setting}`;
  const trimmed = text.trim();
  let key: unknown = trimmed;
  if (trimmed.startsWith("{")) {
    const json = parseSecretJson(trimmed, where);
    const fields = (json !== null && typeof json === "object" ? json : {}) as Record<string, unknown>;
    key = names.map((n) => fields[n]).find((v) => v !== undefined);
    if (typeof key !== "string")
      throw new SecretError(
        `${where} holds JSON without a ${names.slice(0, -1).join(", ")} or ${names.at(-1)} text field; store the key as plain text`,
      );
    key = key.trim();
  }
  if (typeof key !== "string" || key === "") throw new SecretError(`${where} is empty`);
  const problem = keyProblem(key);
  if (problem) throw new SecretError(`${where}: ${what} ${problem}`);
  return key;
}

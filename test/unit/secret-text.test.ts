import { expect, test } from "@jest/globals";
import fc from "fast-check";
import { clarifaiKeyFromSecret, parseSecretJson } from "../../lambda/secret-text.js";

const KEY = "0123456789abcdef0123456789abcdef";

test("the Clarifai key: plain text (trimmed) or a JSON object with CLARIFAI_PAT, pat or key", () => {
  expect(clarifaiKeyFromSecret(`  ${KEY}\n`)).toBe(KEY);
  expect(clarifaiKeyFromSecret(JSON.stringify({ CLARIFAI_PAT: KEY }))).toBe(KEY);
  expect(clarifaiKeyFromSecret(JSON.stringify({ pat: ` ${KEY} ` }))).toBe(KEY);
  expect(clarifaiKeyFromSecret(JSON.stringify({ key: KEY, other: 1 }))).toBe(KEY);
});

test.each([
  ["", "is empty"],
  ["{", "not valid JSON"],
  ['{"pat": 12}', "without a CLARIFAI_PAT, pat or key text field"],
  ['{"PAT": "x"}', "without a CLARIFAI_PAT, pat or key text field"],
  ["{}", "without a CLARIFAI_PAT"],
  [JSON.stringify({ pat: "two words" }), "printable ASCII"],
  [`${KEY}\n${KEY}`, "printable ASCII"],
])("key secret %j is refused (%s), naming the setting", (text, rule) => {
  expect(() => clarifaiKeyFromSecret(text)).toThrow(rule);
  expect(() => clarifaiKeyFromSecret(text)).toThrow("CLARIFAI_PAT_SECRET_ARN");
});

test("a failed JSON parse says the same thing whatever the text (V8's own message would quote it)", () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 200 }), (tail) => {
      const text = `{${tail}`;
      let valid = true;
      try {
        JSON.parse(text);
      } catch {
        valid = false;
      }
      if (valid) return true;
      try {
        parseSecretJson(text, "the secret");
        return false;
      } catch (error) {
        return (
          (error as Error).message ===
          'the secret starts with "{" but is not valid JSON; store plain text or a JSON object'
        );
      }
    }),
  );
});

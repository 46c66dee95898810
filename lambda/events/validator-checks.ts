/**
 * The few checks the generated validators (generated/validate.ts, generated/validate-mapping.ts; written by
 * bin/validator-gen.ts) call, written once here rather than into each generated file.
 */

/** The path of the first problem found (the part that failed), for a refusal's words to come from zod. */
export type P = (string | number)[];

/** A problem's path under `key`. */
export function at(r: P, key: string | number): P {
  r.unshift(key);
  return r;
}

/** Whether a value is not a string of `min` to `max` characters, counted as zod counts them. */
export function str(v: unknown, min: number, max: number): boolean {
  return (
    typeof v !== "string" ||
    v.length < min ||
    (v.length < 2 * min && codePoints(v) < min) ||
    (v.length > max && codePoints(v) > max)
  );
}

/** Whether an object has a key not in `keys` (a strict object's unknown key). */
export function other(v: object, keys: Set<string>): boolean {
  for (const k in v) if (!keys.has(k)) return true;
  return false;
}

/** A string's length in Unicode code points, as zod counts it (a lone surrogate is one). */
export function codePoints(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length - 1; i++)
    if ((s.charCodeAt(i) & 0xfc00) === 0xd800 && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n--;
      i++;
    }
  return n;
}

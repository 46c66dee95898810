/**
 * Environment variables as a table (name -> kind, range, default) and their reader: no schema library, so a cold
 * start reads its settings in microseconds (lambda/config.ts has the handler's table; docs/configuration.md is
 * generated from it). Shared vocabulary: imports nothing of ours.
 */

/** One environment variable: its kind, its range or values, and its default (none: unset, or required). */
export type EnvSetting =
  | { readonly kind: "text" }
  /** Text that must match `pattern` (an id that becomes a URL path segment). */
  | { readonly kind: "id"; readonly pattern: RegExp; readonly maxLength: number }
  | { readonly kind: "url"; readonly web?: boolean; readonly fallback?: string; readonly required?: boolean }
  | {
      readonly kind: "int" | "number";
      readonly min: number;
      readonly max: number;
      readonly fallback?: number | undefined;
    }
  | { readonly kind: "oneOf"; readonly values: readonly string[]; readonly fallback: string };

/** Text, trimmed; empty is unset. */
export const text = () => ({ kind: "text" }) as const;
/** A URL; `web`: http or https only. */
export const url = <const O extends { web?: boolean; fallback?: string; required?: true }>(o: O) =>
  ({ kind: "url", ...o }) as const;
export const int = <const F extends number | undefined = undefined>(min: number, max: number, fallback?: F) =>
  ({ kind: "int", min, max, fallback: fallback as F }) as const;
export const number = <const F extends number>(min: number, max: number, fallback: F) =>
  ({ kind: "number", min, max, fallback }) as const;
export const oneOf = <const V extends readonly string[]>(values: V, fallback: V[number]) =>
  ({ kind: "oneOf", values, fallback }) as const;

/** What a setting reads as: with a default (or required), never undefined. */
type SettingValue<S> = S extends { kind: "oneOf"; values: readonly (infer V)[] }
  ? V
  : S extends { kind: "int" | "number"; fallback: number }
    ? number
    : S extends { kind: "int" | "number" }
      ? number | undefined
      : S extends { kind: "url"; fallback: string } | { kind: "url"; required: true }
        ? string
        : string | undefined;

/**
 * The variables of `table` read from `env`: each value by its kind (numbers as `Number()` reads them), its default
 * where unset; and every variable that breaks its rule, named with the rule (never its value: some are keys).
 */
export function readEnv<T extends Record<string, EnvSetting>>(
  table: T,
  env: NodeJS.ProcessEnv,
): { values: { [K in keyof T]: SettingValue<T[K]> }; problems: string[] } {
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, setting] of Object.entries(table)) {
    const raw = env[name];
    const problem = (rule: string) => problems.push(`${name}: ${rule}`);
    switch (setting.kind) {
      case "text":
      case "id": {
        const value = raw?.trim() || undefined;
        if (
          value !== undefined &&
          setting.kind === "id" &&
          !(value.length <= setting.maxLength && setting.pattern.test(value))
        )
          problem(
            `must be letters, digits, '_' or '-' (a Clarifai user or app id), at most ${setting.maxLength}`,
          );
        values[name] = value;
        break;
      }
      case "url": {
        if (raw === undefined) {
          if (setting.required) problem("is required");
          values[name] = setting.fallback;
          break;
        }
        let parsed: URL | undefined;
        try {
          parsed = new URL(raw);
        } catch {
          problem("must be a URL");
        }
        if (parsed && setting.web && parsed.protocol !== "http:" && parsed.protocol !== "https:")
          problem("must be an http:// or https:// URL");
        values[name] = raw;
        break;
      }
      case "int":
      case "number": {
        if (raw === undefined) {
          values[name] = setting.fallback;
          break;
        }
        const value = Number(raw);
        if (!Number.isFinite(value) || (setting.kind === "int" && !Number.isInteger(value)))
          problem(
            `must be a ${setting.kind === "int" ? "whole number" : "number"} from ${setting.min} to ${setting.max}`,
          );
        else if (value < setting.min || value > setting.max)
          problem(`must be from ${setting.min} to ${setting.max}`);
        values[name] = value;
        break;
      }
      case "oneOf":
        if (raw !== undefined && !setting.values.includes(raw))
          problem(`must be one of ${setting.values.join(", ")}`);
        values[name] = raw ?? setting.fallback;
        break;
    }
  }
  return { values: values as { [K in keyof T]: SettingValue<T[K]> }, problems };
}

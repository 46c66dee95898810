import { type ParseArgsConfig, parseArgs } from "node:util";
import { HELP } from "./help.js";

/**
 * The CLI's conventions for every command: an unknown command or option is an error that names it and points at
 * `<command> --help` (exit 2), whether or not `--help` is given; an option another command takes is refused, not
 * silently ignored; an option that wants a value and has none says so. Which options a command takes is read from
 * its help text (bin/cli/help.ts), so the help and the rule cannot drift apart.
 */
export class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig["options"]>;

/** The commands, as `clarifai-bridge <command> [sub]` names them (HELP's keys, but "main"). */
export const COMMANDS = Object.keys(HELP).filter((k) => k !== "main");

/** The options a command's help lists (`--name`), with the common ones every command takes. */
export function optionsOf(command: string): Set<string> {
  const text = HELP[command] ?? "";
  const names = [...text.matchAll(/(?:^|\s)--([a-z][a-z0-9-]*)/gm)].map((m) => m[1] as string);
  return new Set([...names, "endpoint", "region", "help"]);
}

export interface ParsedArgs<O extends Options> {
  readonly name: string;
  readonly values: ReturnType<typeof parseArgs<{ options: O; allowPositionals: true }>>["values"];
  readonly positionals: string[];
}

/** `argv` read against `options`, by the conventions above; a UsageError names what is wrong. */
export function parseCommandLine<O extends Options>(argv: string[], options: O): ParsedArgs<O> {
  const loose = parseArgs({ args: argv, options, allowPositionals: true, strict: false, tokens: true });
  const [command, sub] = loose.positionals;
  const name = command === "dlq" ? (sub ? `dlq ${sub}` : "dlq") : (command ?? "main");
  if (command !== undefined && !COMMANDS.includes(name))
    throw new UsageError(
      command === "dlq"
        ? `"dlq" takes list or redrive${sub ? `, not "${sub}"` : ""} (see "clarifai-bridge --help")`
        : `unknown command "${command}" (see "clarifai-bridge --help")`,
    );
  const allowed = command === undefined ? new Set(["help", "endpoint", "region"]) : optionsOf(name);
  const see = `see "clarifai-bridge${command === undefined ? "" : ` ${name}`} --help"`;
  for (const token of loose.tokens ?? []) {
    if (token.kind !== "option") continue;
    if (!Object.hasOwn(options, token.name)) throw new UsageError(`unknown option ${token.rawName} (${see})`);
    if (!allowed.has(token.name))
      throw new UsageError(
        `${token.rawName} is not an option of ${command === undefined ? "clarifai-bridge" : name} (${see})`,
      );
  }
  try {
    const strict = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { name, values: strict.values as ParsedArgs<O>["values"], positionals: strict.positionals };
  } catch (error) {
    // Node's own words name the option ("Option '--queue-url <value>' argument missing"); ours add where to look.
    throw new UsageError(`${(error as Error).message} (${see})`);
  }
}

/** Where in a JSON text a parse error points (`line L, column C`), from the position V8 reports. */
export function jsonErrorPlace(text: string, error: unknown): string | undefined {
  const position = /position (\d+)/.exec(String((error as Error)?.message))?.[1];
  if (position === undefined) return undefined;
  const before = text.slice(0, Number(position));
  const line = before.split("\n").length;
  const column = Number(position) - before.lastIndexOf("\n");
  return `line ${line}, column ${column}`;
}

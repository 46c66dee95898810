/** A setting that is missing or wrong, named in the message; thrown at cold start, before any event is read. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

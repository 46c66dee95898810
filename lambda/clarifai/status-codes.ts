/**
 * Clarifai status codes the bridge acts on, by proto enum name (clarifai.api.status.StatusCode).
 * A unit test checks every entry against the .proto shipped in clarifai-nodejs-grpc, so this table cannot drift.
 */
export const STATUS_CODES = {
  SUCCESS: 10000,
  MIXED_STATUS: 10010,
  FAILURE: 10020,
  TRY_AGAIN: 10030,
  CONN_ACCOUNT_ISSUES: 11000,
  CONN_TOKEN_INVALID: 11001,
  CONN_CREDENTIALS_INVALID: 11002,
  CONN_EXCEED_HOURLY_LIMIT: 11003,
  CONN_EXCEED_MONTHLY_LIMIT: 11004,
  CONN_THROTTLED: 11005,
  CONN_EXCEEDS_LIMITS: 11006,
  CONN_INSUFFICIENT_SCOPES: 11007,
  CONN_KEY_INVALID: 11008,
  CONN_KEY_NOT_FOUND: 11009,
  CONN_BAD_REQUEST_FORMAT: 11100,
  CONN_DOES_NOT_EXIST: 11101,
  CONN_INVALID_REQUEST: 11102,
  ANNOTATION_SUCCESS: 24150,
  ANNOTATION_PENDING: 24151,
  ANNOTATION_FAILED: 24152,
  ANNOTATION_UNKNOWN_STATUS: 24154,
  ANNOTATION_INVALID_ARGUMENT: 24155,
  ANNOTATION_PERMISSION_DENIED: 24156,
  ANNOTATION_AWAITING_REVIEW: 24157,
  ANNOTATION_REVIEW_DENIED: 24158,
  ANNOTATION_AWAITING_CONSENSUS_REVIEW: 24159,
  ANNOTATION_MODIFY_SUCCESS: 24250,
  ANNOTATION_MODIFY_PENDING: 24251,
  ANNOTATION_MODIFY_FAILED: 24252,
  INPUT_DOES_NOT_EXIST: 30102,
  INPUT_INVALID_ARGUMENT: 30104,
  DATABASE_DUPLICATE_KEY: 40010,
  RPC_SERVER_UNAVAILABLE: 40031,
  RPC_REQUEST_TIMEOUT: 40032,
  TASK_MISSING: 54102,
  TASK_PERMISSION_DENIED: 54103,
  BAD_REQUEST: 90400,
  SERVER_ERROR: 90500,
  INTERNAL_UNCATEGORIZED: 99009,
} as const;

export type StatusName = keyof typeof STATUS_CODES;

const NAME_BY_CODE = new Map<number, string>(
  Object.entries(STATUS_CODES).map(([name, code]) => [code, name]),
);

/**
 * Reads a proto3-JSON status code, which Clarifai may send as a number or as the enum name.
 * Returns the number, or undefined when it is neither a number nor a name this table knows.
 */
export function statusCodeOf(code: unknown): number | undefined {
  if (typeof code === "number" && Number.isInteger(code)) return code;
  if (typeof code === "string") {
    if (/^\d+$/.test(code)) return Number(code);
    return (STATUS_CODES as Record<string, number>)[code];
  }
  return undefined;
}

/** A readable label for logs and dead-letter attributes, e.g. `24155 ANNOTATION_INVALID_ARGUMENT`. */
export function statusLabel(code: number | undefined, raw?: unknown): string {
  if (code === undefined) return `unknown status ${JSON.stringify(raw)}`;
  const name = NAME_BY_CODE.get(code);
  return name ? `${code} ${name}` : String(code);
}

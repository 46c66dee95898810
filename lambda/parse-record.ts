import {
  clarifaiNativeBodySchema,
  describeIssues,
  labelingEventSchema,
  requiredFieldMessages,
} from "./event-schema.js";
import { type Failure, permanent } from "./failure.js";
import {
  type Delivery,
  eventToDeliveries,
  type MappingOptions,
  nativeToDeliveries,
} from "./to-annotation.js";

export type ParsedRecord =
  | { readonly ok: true; readonly format: "canonical" | "clarifai-native"; readonly deliveries: Delivery[] }
  | { readonly ok: false; readonly failure: Failure };

/** The body size SQS allows at most (1 MiB); anything larger cannot have come through SQS intact. */
export const MAX_BODY_BYTES = 1_048_576;

/**
 * Turns one SQS message body into the Clarifai annotations it stands for, or into a permanent failure that names
 * the field and the rule. Pure: no I/O, never throws.
 */
export function parseRecord(body: string, options: MappingOptions): ParsedRecord {
  if (Buffer.byteLength(body, "utf8") > MAX_BODY_BYTES) {
    return fail("body-too-large", `message body is larger than ${MAX_BODY_BYTES} bytes`);
  }
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    return fail("invalid-json", `message body is not JSON: ${(error as Error).message}`);
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    return fail(
      "invalid-event",
      "message body must be a JSON object (a labeling event or a Clarifai annotations body)",
    );
  }
  const fields = json as Record<string, unknown>;

  if ("specVersion" in fields) {
    if (fields.specVersion !== "1") {
      return fail(
        "unsupported-spec-version",
        `specVersion: ${JSON.stringify(fields.specVersion)} is not supported; this bridge reads "1"`,
      );
    }
    const parsed = labelingEventSchema.safeParse(json, { error: requiredFieldMessages });
    if (!parsed.success) return fail("invalid-event", describeIssues(parsed.error));
    if (parsed.data.type !== "annotation.created") {
      return fail(
        "unsupported-event-type",
        `type: ${parsed.data.type} is not supported by this version of the bridge (only annotation.created)`,
      );
    }
    return ok("canonical", eventToDeliveries(parsed.data, options));
  }

  if ("annotations" in fields) {
    const parsed = clarifaiNativeBodySchema.safeParse(json, { error: requiredFieldMessages });
    if (!parsed.success) return fail("invalid-event", describeIssues(parsed.error));
    return ok("clarifai-native", nativeToDeliveries(parsed.data, options));
  }

  const keys = Object.keys(fields).slice(0, 10).join(", ") || "none";
  return fail(
    "unsupported-format",
    `not a labeling event: expected specVersion (canonical event) or annotations (Clarifai body); keys seen: ${keys}`,
  );
}

function ok(format: "canonical" | "clarifai-native", deliveries: Delivery[]): ParsedRecord {
  return { ok: true, format, deliveries };
}

function fail(code: string, reason: string): ParsedRecord {
  return { ok: false, failure: permanent(code, reason) };
}

import { createRequire } from "node:module";
import path from "node:path";
import protobuf from "protobufjs";

/**
 * Clarifai's request contract, read from the official .proto files in `clarifai-nodejs-grpc`, and a checker that
 * reads a JSON body the way a strict proto3 JSON parser does: unknown fields and wrong types are errors.
 */
const require = createRequire(import.meta.url);
const clarifaiDir = path.resolve(path.dirname(require.resolve("clarifai-nodejs-grpc")), "..");
const protobufDir = path.dirname(require.resolve("protobufjs"));

let rootPromise: Promise<protobuf.Root> | undefined;

/** Loads service.proto (and everything it imports) once. */
export function loadClarifaiProtos(): Promise<protobuf.Root> {
  rootPromise ??= (async () => {
    const root = new protobuf.Root();
    root.resolvePath = (origin, target) => {
      if (target.startsWith("proto/")) return path.join(clarifaiDir, target);
      if (target.startsWith("google/protobuf/") && protobuf.common.get(target)) return target;
      if (target.startsWith("google/")) return path.join(protobufDir, target);
      return protobuf.util.path.resolve(origin, target);
    };
    await root.load(path.join(clarifaiDir, "proto/clarifai/api/service.proto"), { keepCase: true });
    root.resolveAll();
    return root;
  })();
  return rootPromise;
}

const INT_TYPES = new Set([
  "int32",
  "uint32",
  "sint32",
  "fixed32",
  "sfixed32",
  "int64",
  "uint64",
  "sint64",
  "fixed64",
  "sfixed64",
]);
const FLOAT_TYPES = new Set(["float", "double"]);
const WRAPPERS: Record<string, string> = {
  "google.protobuf.DoubleValue": "double",
  "google.protobuf.FloatValue": "float",
  "google.protobuf.Int64Value": "int64",
  "google.protobuf.UInt64Value": "uint64",
  "google.protobuf.Int32Value": "int32",
  "google.protobuf.UInt32Value": "uint32",
  "google.protobuf.BoolValue": "bool",
  "google.protobuf.StringValue": "string",
  "google.protobuf.BytesValue": "bytes",
};
const camel = (name: string) => name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** Problems in `value` read as a `typeName` message (proto3 JSON mapping), with the path of each. Empty = valid. */
export function checkMessage(root: protobuf.Root, typeName: string, value: unknown, at = ""): string[] {
  return checkType(root.lookupType(typeName), value, at || "(body)");
}

function checkType(type: protobuf.Type, value: unknown, at: string): string[] {
  const full = type.fullName.replace(/^\./, "");
  if (full === "google.protobuf.Struct") return isObject(value) ? [] : [`${at}: must be a JSON object`];
  if (full === "google.protobuf.Value") return [];
  if (full === "google.protobuf.ListValue")
    return Array.isArray(value) ? [] : [`${at}: must be a JSON array`];
  if (full === "google.protobuf.Timestamp") {
    return typeof value === "string" && !Number.isNaN(Date.parse(value))
      ? []
      : [`${at}: must be an RFC 3339 timestamp string`];
  }
  if (full === "google.protobuf.Duration")
    return typeof value === "string" && /^-?\d+(\.\d+)?s$/.test(value)
      ? []
      : [`${at}: must be a duration like "1.5s"`];
  if (full === "google.protobuf.FieldMask")
    return typeof value === "string" ? [] : [`${at}: must be a field mask string`];
  const wrapped = WRAPPERS[full];
  if (wrapped) return checkScalar(wrapped, value, at);
  if (!isObject(value)) return [`${at}: must be a JSON object (${type.name})`];

  const problems: string[] = [];
  const oneofsSeen = new Map<string, string>();
  for (const [key, fieldValue] of Object.entries(value)) {
    const field = type.fields[key] ?? Object.values(type.fields).find((f) => camel(f.name) === key);
    const where = `${at === "(body)" ? "" : `${at}.`}${key}`;
    if (!field) {
      problems.push(`${where}: unknown field of ${type.name}`);
      continue;
    }
    if (fieldValue === null) continue; // proto3 JSON: null means the default value
    if (field.partOf) {
      const other = oneofsSeen.get(field.partOf.name);
      if (other)
        problems.push(`${where}: only one of ${other} and ${key} may be set (oneof ${field.partOf.name})`);
      oneofsSeen.set(field.partOf.name, key);
    }
    problems.push(...checkField(field, fieldValue, where));
  }
  return problems;
}

function checkField(field: protobuf.Field, value: unknown, at: string): string[] {
  if (field instanceof protobuf.MapField) {
    if (!isObject(value)) return [`${at}: must be a JSON object (map)`];
    return Object.entries(value).flatMap(([k, v]) => checkSingle(field, v, `${at}.${k}`));
  }
  if (field.repeated) {
    if (!Array.isArray(value)) return [`${at}: must be a JSON array`];
    return value.flatMap((v, i) => checkSingle(field, v, `${at}[${i}]`));
  }
  return checkSingle(field, value, at);
}

function checkSingle(field: protobuf.Field, value: unknown, at: string): string[] {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) return checkType(resolved, value, at);
  if (resolved instanceof protobuf.Enum) {
    if (typeof value === "string" && value in resolved.values) return [];
    if (typeof value === "number" && Number.isInteger(value)) return [];
    return [`${at}: must be a ${resolved.name} name or number`];
  }
  return checkScalar(field.type, value, at);
}

function checkScalar(type: string, value: unknown, at: string): string[] {
  if (type === "string") return typeof value === "string" ? [] : [`${at}: must be a string`];
  if (type === "bool") return typeof value === "boolean" ? [] : [`${at}: must be true or false`];
  if (type === "bytes")
    return typeof value === "string" && /^[A-Za-z0-9+/_-]*={0,2}$/.test(value)
      ? []
      : [`${at}: must be base64`];
  if (INT_TYPES.has(type)) {
    const ok =
      (typeof value === "number" && Number.isInteger(value)) ||
      (typeof value === "string" && /^-?\d+$/.test(value));
    return ok ? [] : [`${at}: must be an integer (${type})`];
  }
  if (FLOAT_TYPES.has(type)) {
    const ok =
      (typeof value === "number" && Number.isFinite(value)) ||
      (typeof value === "string" &&
        (/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(value) || ["NaN", "Infinity", "-Infinity"].includes(value)));
    return ok ? [] : [`${at}: must be a number (${type})`];
  }
  return [`${at}: unsupported type ${type}`];
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);

/** Fields of Annotation the proto marks deprecated; Clarifai's docs say not to send them. */
export function deprecatedFieldsOf(root: protobuf.Root, typeName: string): Set<string> {
  const type = root.lookupType(typeName);
  return new Set(
    Object.values(type.fields)
      .filter((f) => f.options?.deprecated)
      .map((f) => f.name),
  );
}

import { isCvatFrame } from "./cvat.js";
import { groundTruthLabelAttribute } from "./ground-truth.js";
import { LABEL_STUDIO_ACTIONS } from "./label-studio.js";
import { isLabelbox } from "./labelbox.js";
import { isScale } from "./scale.js";

export const FORMATS = [
  "canonical",
  "clarifai-native",
  "label-studio",
  "labelbox",
  "sagemaker-ground-truth",
  "scale",
  "cvat",
] as const;
export type Format = (typeof FORMATS)[number];

/**
 * Which format a parsed body is in: an explicit `format` message attribute wins; otherwise its shape decides
 * (../shared/upstream-events.md 7.9). An SNS envelope (Ground Truth streaming jobs without raw delivery) is
 * unwrapped first. Returns the (possibly unwrapped) payload.
 */
export function detect(
  json: Record<string, unknown>,
  attribute?: string,
): { format: Format | undefined; payload: Record<string, unknown> } {
  if (json.Type === "Notification" && typeof json.Message === "string") {
    try {
      const inner = JSON.parse(json.Message) as unknown;
      if (inner && typeof inner === "object" && !Array.isArray(inner))
        return detect(inner as Record<string, unknown>, attribute);
    } catch {
      // not JSON inside: fall through and report the envelope's own keys
    }
  }
  if (attribute)
    return {
      format: (FORMATS as readonly string[]).includes(attribute) ? (attribute as Format) : undefined,
      payload: json,
    };
  if ("specVersion" in json) return { format: "canonical", payload: json };
  if (typeof json.action === "string" && LABEL_STUDIO_ACTIONS.has(json.action))
    return { format: "label-studio", payload: json };
  if (isLabelbox(json)) return { format: "labelbox", payload: json };
  if (isScale(json)) return { format: "scale", payload: json };
  if (isCvatFrame(json)) return { format: "cvat", payload: json };
  if ("annotations" in json) return { format: "clarifai-native", payload: json };
  if (groundTruthLabelAttribute(json) || ("source-ref" in json && Object.keys(json).length <= 3)) {
    return { format: "sagemaker-ground-truth", payload: json };
  }
  return { format: undefined, payload: json };
}

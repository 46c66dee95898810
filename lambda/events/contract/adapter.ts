import type { AdapterResult } from "./adapter-result.js";
import type { Format } from "./detect.js";
import type { MappingConfig } from "./mapping-config.js";
import type { MaskFiles } from "./mask-files.js";

/**
 * What an adapter is: the one function each tool's folder exports (its `index.ts`), called by the registry
 * (../registry.ts) with a payload of its format. Here, below the tools and the registry, so that neither imports
 * the other for it.
 */
/** A tool's format: what the registry loads an adapter for. */
export type UpstreamFormat = Exclude<Format, "canonical" | "clarifai-native">;

/** What an adapter needs beyond the payload and the mapping. */
export interface AdapterContext {
  readonly receivedAt: Date;
  /** Labelbox's topic and delivery id, as the ingress sets them on the message. */
  readonly topic?: string;
  readonly deliveryId?: string;
  /** Mask files the record points at (Labelbox, Scale, Ground Truth): fetched by the handler's edge (mask-refs.ts). */
  readonly masks: MaskFiles;
}

export type Adapter = (
  payload: Record<string, unknown>,
  mapping: MappingConfig,
  context: AdapterContext,
) => AdapterResult;

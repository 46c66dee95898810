import type { Adapter, UpstreamFormat } from "./contract/adapter.js";
import type { Format } from "./contract/detect.js";
import { maskDecoderLoaded } from "./contract/mask-files.js";

/**
 * The upstream adapters, each loaded the first time a record of its format arrives: the handler's cold start loads
 * the canonical path only, and a deployment that receives Label Studio never loads Labelbox's reader (or the PNG
 * encoder CVAT's and Label Studio's masks need). In the deployed bundle each `import()` below is a chunk of its own
 * (esbuild code splitting; lib/bundling.ts). Callers that parse synchronously without the handler (the CLI, the
 * puller's audit, the tests) load them all first with `all-adapters.ts`.
 */
const LOADERS: Record<UpstreamFormat, () => Promise<Adapter>> = {
  "label-studio": async () => (await import("./label-studio/index.js")).labelStudioAdapter,
  labelbox: async () => (await import("./labelbox/index.js")).labelboxAdapter,
  "sagemaker-ground-truth": async () => (await import("./ground-truth/index.js")).groundTruthAdapter,
  scale: async () => (await import("./scale/index.js")).scaleAdapter,
  cvat: async () => (await import("./cvat/index.js")).cvatAdapter,
};

export const UPSTREAM_FORMATS = Object.keys(LOADERS) as UpstreamFormat[];

const loaded = new Map<string, Adapter>();

export const isUpstream = (format: Format | undefined): format is UpstreamFormat =>
  format !== undefined && Object.hasOwn(LOADERS, format);

/** The adapter for a format, when it is loaded. */
export const adapterFor = (format: UpstreamFormat): Adapter | undefined => loaded.get(format);

/** Registers an adapter loaded by other means (all-adapters.ts imports them all statically). */
export function registerAdapter(format: UpstreamFormat, adapter: Adapter): void {
  loaded.set(format, adapter);
}

/**
 * Loads the adapters of these formats that are not loaded yet, concurrently. A failed load (a chunk missing from
 * a broken deployment) rejects, so the batch is retried rather than its records refused.
 */
export async function loadAdapters(formats: Iterable<Format | undefined>): Promise<void> {
  const wanted = [...new Set(formats)].filter((f): f is UpstreamFormat => isUpstream(f) && !loaded.has(f));
  await Promise.all(
    wanted.map(async (format) => {
      loaded.set(format, await LOADERS[format]());
    }),
  );
}

/**
 * Loads the PNG decoder for masks kept in files (and its PNG library) if it is not loaded: only records whose masks
 * are files need it, so it is a chunk of its own, like an adapter. A failed load rejects (the batch is retried).
 */
export async function loadMaskDecoder(): Promise<void> {
  if (!maskDecoderLoaded()) await import("./kinds/mask-png.js");
}

import { type Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { Config } from "../config.js";
import type { FetchedMask, MaskRef, MaskSource } from "../events/contract/mask-files.js";
import { keyReader } from "../secret.js";
import { labelboxKeyFromSecret } from "../secret-text.js";
import type { MaskFetchDeps } from "./fetch-masks.js";

/**
 * The handler's mask fetching, from its configuration: the Labelbox key (plain variable, or its secret re-read
 * every CLARIFAI_SECRET_CACHE_SECONDS) and the one origin it goes to (LABELBOX_API_ORIGIN), and S3 through the AWS SDK's client, loaded the first time a Ground Truth
 * mask is read (the runtime provides the SDK; a deployment without segmentation never loads it).
 */
export function maskSources(config: Config): MaskFetchDeps {
  const labelbox = config.labelboxKey
    ? keyReader(
        config.labelboxKey,
        config.secretCacheSeconds,
        "LABELBOX_API_KEY_SECRET_ARN",
        labelboxKeyFromSecret,
      )
    : undefined;
  return {
    keyFor: async (source: MaskSource) =>
      source === "labelbox" && labelbox ? (await labelbox()).key : undefined,
    s3Object: lazyS3Reader(config.s3Endpoint),
    keyOrigins: [config.labelboxApiOrigin],
  };
}

/** S3 objects read through the AWS SDK's client, created on the first read (`endpoint`: a local S3, path-style). */
export function lazyS3Reader(endpoint: string | undefined): NonNullable<MaskFetchDeps["s3Object"]> {
  let s3: Promise<S3Reader> | undefined;
  return async (bucket, key, maxBytes, signal) => {
    s3 ??= s3Reader(endpoint);
    return (await s3)(bucket, key, maxBytes, signal);
  };
}

type S3Reader = (bucket: string, key: string, maxBytes: number, signal: AbortSignal) => Promise<Uint8Array>;

async function s3Reader(endpoint: string | undefined): Promise<S3Reader> {
  const { GetObjectCommand, S3Client } = await import("@aws-sdk/client-s3");
  const client = new S3Client(endpoint ? { endpoint, forcePathStyle: true } : {});
  return async (Bucket, Key, maxBytes, signal) => {
    const object = await client.send(new GetObjectCommand({ Bucket, Key }), { abortSignal: signal });
    if ((object.ContentLength ?? 0) > maxBytes) {
      const error = new Error("the object is too large");
      error.name = "TooLarge";
      throw error;
    }
    const bytes = await object.Body?.transformToByteArray();
    if (!bytes) throw Object.assign(new Error("the object has no body"), { name: "NotFound" });
    if (bytes.byteLength > maxBytes)
      throw Object.assign(new Error("the object is too large"), { name: "TooLarge" });
    return bytes;
  };
}

/** One mask file's time limit (fetch-masks.ts); none goes beyond the time left for fetching. */
const MASK_FILE_TIMEOUT_MS = 10_000;

/**
 * The batch's mask fetching: the edge loaded on the first record whose masks are files (the cold start does not
 * carry it), no file past the time left for fetching (`ms`), and the files read and failed counted
 * (`MaskFilesFetched`, `MaskFilesFailed`).
 */
export function meteredMaskFetcher(
  deps: MaskFetchDeps,
  metrics: Pick<Metrics, "addMetric">,
): (refs: readonly MaskRef[], ms: number) => Promise<Map<string, FetchedMask>> {
  return async (refs, ms) => {
    const got = await (await import("./fetch-masks.js")).fetchMasks(refs, {
      ...deps,
      timeoutMs: MASK_FILE_TIMEOUT_MS,
      deadline: Date.now() + ms,
    });
    const read = [...got.values()].filter((m) => m.ok).length;
    if (read > 0) metrics.addMetric("MaskFilesFetched", MetricUnit.Count, read);
    if (got.size > read) metrics.addMetric("MaskFilesFailed", MetricUnit.Count, got.size - read);
    return got;
  };
}

import { isLoopbackHost } from "../../loopback.js";
import { AdapterError } from "../contract/adapter-result.js";
import type { ProjectMapping } from "../contract/mapping-config.js";
import { type MaskRef, type MaskSource, originOf } from "../contract/mask-files.js";

/**
 * Which mask URLs may be fetched (mask-files.ts says how the files travel). is the project's `maskOrigins`: a Labelbox project may fetch from
 * `https://api.labelbox.com` unless it says otherwise (the Labelbox key goes only there); Scale and Ground Truth
 * projects from nowhere until they list the origin (`https://...`) or the bucket (`s3://bucket[/prefix]`). A URL
 * elsewhere is refused by name with the origin to add, so a payload cannot point the bridge (and a key) at a
 * host nobody chose. Reasons name the origin only: a signed URL's query holds a credential.
 */
/** Where the masks a project may fetch may come from, unless its mapping lists `maskOrigins`. */
export const DEFAULT_MASK_ORIGINS: Readonly<Record<MaskSource, readonly string[]>> = {
  labelbox: ["https://api.labelbox.com"],
  scale: [],
  "sagemaker-ground-truth": [],
};

/**
 * The mask URL as a reference the edge may fetch, or an AdapterError: not a URL, plain http to another machine,
 * or an origin (bucket) the project does not list in `maskOrigins`.
 */
export function maskRef(
  url: unknown,
  source: MaskSource,
  mapping: ProjectMapping,
  mappingKey: string,
  what: string,
): MaskRef {
  let u: URL;
  try {
    u = new URL(String(url));
  } catch {
    throw new AdapterError("invalid-upstream", `${what}: the mask's URL is not a URL`);
  }
  const origin = originOf(u.href);
  const plainHttpAway = u.protocol === "http:" && !isLoopbackHost(u.hostname);
  if (!["https:", "http:", "s3:"].includes(u.protocol) || plainHttpAway || u.username || u.password)
    throw new AdapterError(
      "mask-origin-not-allowed",
      `${what}: the mask at ${origin} is not fetched (https:// or s3:// only; http:// only to this machine)`,
    );
  const allowed = mapping.maskOrigins ?? DEFAULT_MASK_ORIGINS[source];
  if (!originAllowed(u, allowed))
    throw new AdapterError(
      "mask-origin-not-allowed",
      `${what}: the mask is at ${origin}, which projects["${mappingKey.slice(0, 128)}"].maskOrigins does not list (${allowed.length ? allowed.join(", ") : "none"}); add it to let the bridge fetch it`,
    );
  return { url: u.href, source, allowed };
}

/** Whether a URL is under one of `allowed` (an origin, or an origin or bucket with a path prefix ending at a segment). */
export function originAllowed(u: URL, allowed: readonly string[]): boolean {
  const path = u.protocol === "s3:" ? `s3://${u.hostname}${u.pathname}` : `${u.origin}${u.pathname}`;
  return allowed.some((o) => path === o || path.startsWith(o.endsWith("/") ? o : `${o}/`));
}

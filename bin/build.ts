import { mkdir } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import {
  BUNDLING,
  HANDLER_ENTRY,
  INGRESS_ENTRY,
  PROJECT_ROOT,
  PULLER_ENTRY,
  SPLIT_BUNDLE_SCRIPT,
} from "../lib/bundling.js";

/**
 * `npm run build`: bundles the handler (and the webhook ingress and the puller) exactly as the CDK construct does (same esbuild
 * settings, from lib/bundling.ts, split by bin/split-bundle.mjs) into dist/<name>/index.mjs and dist/<name>/chunks/,
 * and prints what a cold start loads and what each lazily loaded chunk adds.
 */
export async function buildHandler(
  outdir = path.join(PROJECT_ROOT, "dist", "handler"),
  entry = HANDLER_ENTRY,
  /** Off only for profiling (bench/profile.ts), so functions keep their names; the construct always minifies. */
  minify: boolean = BUNDLING.minify,
): Promise<BuiltBundle> {
  await mkdir(outdir, { recursive: true });
  const { splitBundle } = (await import(pathToFileURL(SPLIT_BUNDLE_SCRIPT).href)) as {
    splitBundle: (entry: string, outdir: string, settings: unknown) => Promise<Metafile>;
  };
  const metafile = await splitBundle(entry, outdir, { ...BUNDLING, minify });
  const file = path.join(outdir, "index.mjs");
  return { file, ...loadedAtStart(metafile, path.relative(process.cwd(), file)) };
}

/** What `npm run build` wrote: the entry file, and what a cold start loads and what each dynamic import adds. */
export interface BuiltBundle {
  readonly file: string;
  /** Bytes loaded before the first record: the entry and the chunks it imports statically. */
  readonly bytes: number;
  /** Every chunk's bytes, the dynamic ones too. */
  readonly totalBytes: number;
  /** What each package or folder puts into the cold-start bytes. */
  readonly contributors: Contributor[];
  /** Each dynamically imported chunk, with what it (and the static chunks it adds) costs on first use. */
  readonly lazy: { readonly chunk: string; readonly bytes: number; readonly sources: string[] }[];
}

/**
 * From esbuild's metafile: the entry's static import closure (what the cold start loads), and per dynamic import
 * the bytes it adds beyond that closure.
 */
export function loadedAtStart(metafile: Metafile, entryOutput: string): Omit<BuiltBundle, "file"> {
  const outputs = metafile.outputs;
  const key = Object.keys(outputs).find((k) => path.resolve(k) === path.resolve(entryOutput)) ?? entryOutput;
  const closure = (start: string, seen = new Set<string>()): Set<string> => {
    if (seen.has(start) || !outputs[start]) return seen;
    seen.add(start);
    for (const i of outputs[start]?.imports ?? []) if (i.kind === "import-statement") closure(i.path, seen);
    return seen;
  };
  const atStart = closure(key);
  const bytesOf = (files: Iterable<string>) => [...files].reduce((n, f) => n + (outputs[f]?.bytes ?? 0), 0);
  const dynamic = [
    ...new Set(
      Object.keys(outputs)
        .flatMap((k) => outputs[k]?.imports ?? [])
        .filter((i) => i.kind === "dynamic-import" && outputs[i.path] !== undefined)
        .map((i) => i.path),
    ),
  ];
  const lazy = dynamic.map((chunk) => {
    const adds = [...closure(chunk)].filter((f) => !atStart.has(f));
    const sources = Object.keys(outputs[chunk]?.inputs ?? {}).filter((s) => !s.includes("node_modules"));
    return { chunk: path.basename(chunk), bytes: bytesOf(adds), sources };
  });
  const inputs = [...atStart].flatMap((f) => Object.entries(outputs[f]?.inputs ?? {}));
  return {
    bytes: bytesOf(atStart),
    totalBytes: bytesOf(Object.keys(outputs).filter((k) => k.endsWith(".mjs"))),
    contributors: contributors(inputs),
    lazy,
  };
}

type Metafile = {
  outputs: Record<
    string,
    {
      bytes: number;
      inputs: Record<string, { bytesInOutput: number }>;
      imports: { path: string; kind: string }[];
    }
  >;
};

/** What one package (or one folder of our own code) puts into a bundle, minified. */
export interface Contributor {
  readonly name: string;
  readonly bytes: number;
}

/**
 * Bundle bytes by package (`@scope/name` under node_modules) or, for our own code, by folder (`lambda/events`),
 * largest first: esbuild's metafile, summed.
 */
export function contributors(inputs: [string, { bytesInOutput: number }][]): Contributor[] {
  const sums = new Map<string, number>();
  for (const [input, { bytesInOutput }] of inputs) {
    const modules = input.lastIndexOf("node_modules/");
    let name: string;
    if (modules >= 0) {
      const parts = input.slice(modules + "node_modules/".length).split("/");
      name = parts[0]?.startsWith("@") ? `${parts[0]}/${parts[1]}` : (parts[0] ?? input);
    } else {
      const parts = input.split("/");
      name = parts.length > 2 ? parts.slice(0, 2).join("/") : (parts[0] ?? input);
    }
    sums.set(name, (sums.get(name) ?? 0) + bytesInOutput);
  }
  return [...sums].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes);
}

if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  for (const [name, entry] of [
    ["handler", HANDLER_ENTRY],
    ["ingress", INGRESS_ENTRY],
    ["puller", PULLER_ENTRY],
  ] as const) {
    const { file, bytes, totalBytes, lazy } = await buildHandler(
      path.join(PROJECT_ROOT, "dist", name),
      entry,
    );
    console.log(
      `${path.relative(process.cwd(), file)}: ${(bytes / 1024).toFixed(1)} KiB loaded at cold start, ${(totalBytes / 1024).toFixed(1)} KiB in all (minified)`,
    );
    for (const l of lazy)
      console.log(`  + ${(l.bytes / 1024).toFixed(1)} KiB on first use: ${l.sources.join(", ")}`);
  }
}

import { appendFile, readFile, rename, stat, writeFile } from "node:fs/promises";
import { parseRecord } from "../../lambda/delivery/parse-record.js";
import type { MappingConfig } from "../../lambda/events/contract/mapping-config.js";
import {
  type ImportItem,
  isFileKind,
  type RemoteSource,
  readImportSource,
  type SourceKind,
} from "./import-source.js";

/**
 * `clarifai-bridge import`: a project's history, item by item, through the bridge's own adapters and mapping (so
 * ids, labelers, statuses and tasks are what live delivery writes), onto the queue or straight to Clarifai
 * (`ImportSink`), with a checkpoint, a failures file and progress. Memory stays flat: items are read one at a time
 * and sent a batch at a time.
 */
export interface ImportSink {
  /** Items per send (10 for SQS's batch; 640 straight to Clarifai). */
  readonly batchSize: number;
  /** Characters of bodies per send, at most (a batch of large items is cut short: memory stays flat). @default none */
  readonly batchBytes?: number;
  /** Sends the items; what could not be sent or delivered, with the reason and code. */
  send(items: readonly ImportItem[]): Promise<{ item: ImportItem; code: string; reason: string }[]>;
  close(): Promise<void>;
}

/** What a checkpoint holds: the source, how many of its items are done, and the counts so far. */
export interface ImportState {
  readonly version: 1;
  readonly source: string;
  readonly done: number;
  readonly counts: ImportCounts;
  readonly finished: boolean;
}

export interface ImportCounts {
  read: number;
  sent: number;
  annotations: number;
  failed: number;
  /** Annotations per labeler (their Clarifai user, or the key's owner). */
  byLabeler: Record<string, number>;
}

export interface ImportOptions {
  readonly source: string;
  readonly kind: SourceKind;
  /** Where a source that is not a file is read (a tool's API, S3). */
  readonly remote?: RemoteSource;
  readonly project?: number;
  readonly mapping: MappingConfig;
  /** Message attributes for every item (`format=...`), as the ingress sets them. */
  readonly attributes: Readonly<Record<string, string>>;
  readonly sink: ImportSink;
  readonly statePath?: string;
  readonly failuresPath?: string;
  /** Called after each batch, and at the end, with how far through the file the reading is (0 to 1). */
  readonly onProgress?: (counts: ImportCounts, done: boolean, fraction: number) => void;
}

const KEY_OWNER = "(the key's owner)";

/** Reads a checkpoint: undefined when there is none; an error naming the file when it is not one. */
export async function readState(path: string): Promise<ImportState | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as { code?: string }).code === "ENOENT") return undefined;
    throw error;
  }
  const state = JSON.parse(text) as ImportState;
  if (state?.version !== 1 || !Number.isSafeInteger(state.done) || typeof state.counts !== "object")
    throw new Error(`${path} is not an import checkpoint`);
  return state;
}

/** Written to a file beside it, then renamed over it: a checkpoint is whole or the previous one. */
async function writeState(path: string, state: ImportState): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(state)}\n`);
  await rename(temporary, path);
}

export async function runImport(options: ImportOptions): Promise<ImportState> {
  const previous = options.statePath ? await readState(options.statePath) : undefined;
  if (previous && previous.source !== options.source)
    throw new Error(
      `${options.statePath} is the checkpoint of ${previous.source}, not of ${options.source}: give another --state`,
    );
  const counts: ImportCounts = previous?.counts ?? {
    read: 0,
    sent: 0,
    annotations: 0,
    failed: 0,
    byLabeler: {},
  };
  let done = previous?.done ?? 0;
  if (previous?.finished) {
    options.onProgress?.(counts, true, 1);
    return previous;
  }
  // How far through the source the reading is, for the ETA: a file's size, an S3 object's (the reader learns it);
  // a tool's API does not say (no ETA).
  const position: { bytes: number; total?: number } = { bytes: 0 };
  if (isFileKind(options.kind)) position.total = Math.max(1, (await stat(options.source)).size);
  const fraction = () => (position.total ? Math.min(1, position.bytes / position.total) : 0);
  const fail = async (item: ImportItem, code: string, reason: string) => {
    counts.failed += 1;
    if (options.failuresPath)
      await appendFile(
        options.failuresPath,
        `${JSON.stringify({ origin: item.origin, item: item.n, code, reason })}\n`,
      );
  };
  let batch: ImportItem[] = [];
  let pendingAnnotations = 0;
  let pendingLabelers = new Map<string, number>();
  let pendingFailures: { item: ImportItem; code: string; reason: string }[] = [];
  let pendingRead = 0;
  let batchBytes = 0;
  // One batch is sent while the next is read: the pace stays full (reading and checking 640 items takes tens of
  // milliseconds that would otherwise leave Clarifai's rate idle between batches). The checkpoint moves when a
  // batch is sent, with the failures of the items read before it, so what it says is done is done.
  let inFlight: Promise<void> = Promise.resolve();
  const flush = async (last: ImportItem | undefined) => {
    const items = batch;
    const annotations = pendingAnnotations;
    const labelers = pendingLabelers;
    const refused = pendingFailures;
    const read = pendingRead;
    pendingRead = 0;
    batch = [];
    pendingAnnotations = 0;
    pendingLabelers = new Map();
    pendingFailures = [];
    await inFlight;
    inFlight = (async () => {
      const failed = items.length > 0 ? await options.sink.send(items) : [];
      for (const f of [...refused, ...failed]) await fail(f.item, f.code, f.reason);
      counts.read += read;
      counts.sent += items.length - failed.length;
      counts.annotations += annotations;
      for (const [who, n] of labelers) counts.byLabeler[who] = (counts.byLabeler[who] ?? 0) + n;
      if (last) done = last.n + 1;
      if (options.statePath)
        await writeState(options.statePath, {
          version: 1,
          source: options.source,
          done,
          counts,
          finished: false,
        });
      options.onProgress?.(counts, false, fraction());
    })();
    // Its failure stops the run at the next flush (or the end), where it is awaited; marked handled until then.
    inFlight.catch(() => undefined);
  };
  let last: ImportItem | undefined;
  for await (const item of readImportSource(
    options.source,
    options.kind,
    options.project,
    position,
    options.remote,
  )) {
    if (item.n < done) continue; // done in an earlier run
    last = item;
    pendingRead += 1;
    if (item.refused) {
      pendingFailures.push({ item, code: "import-refused", reason: item.refused });
      continue;
    }
    // The Lambda's own reading: what is invalid now is invalid at the handler too (a file's masks excepted).
    const parsed = parseRecord(item.body, {
      taskLink: "both",
      defaultApp: null,
      upstream: options.mapping,
      attributes: options.attributes,
    });
    if (!parsed.ok && parsed.failure.code !== "mask-not-fetched") {
      pendingFailures.push({ item, code: parsed.failure.code, reason: parsed.failure.reason });
      continue;
    }
    if (parsed.ok) {
      const made = [
        ...parsed.deliveries.map((d) => d.annotation),
        ...parsed.changes.flatMap((c) =>
          c.kind === "replace" ? (c.members ? [c.members.at(0)] : c.annotations) : [],
        ),
      ];
      const count =
        parsed.deliveries.length +
        parsed.changes.reduce(
          (n, c) => n + (c.kind === "replace" ? (c.members?.count ?? c.annotations.length) : 0),
          0,
        );
      pendingAnnotations += count;
      const who = made[0]?.worker?.user.id ?? KEY_OWNER;
      if (count > 0) pendingLabelers.set(who, (pendingLabelers.get(who) ?? 0) + count);
    }
    batch.push(item);
    batchBytes += item.body.length;
    if (
      batch.length >= options.sink.batchSize ||
      batchBytes >= (options.sink.batchBytes ?? Number.POSITIVE_INFINITY)
    ) {
      batchBytes = 0;
      await flush(item);
    }
  }
  await flush(last);
  await inFlight;
  await options.sink.close();
  const final: ImportState = { version: 1, source: options.source, done, counts, finished: true };
  if (options.statePath) await writeState(options.statePath, final);
  options.onProgress?.(counts, true, 1);
  return final;
}

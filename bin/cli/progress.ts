/**
 * Progress for long runs: on a terminal, one line redrawn at most ten times a second; elsewhere (CI, pipes,
 * files), a plain line every `every` items, so a log shows a long run is alive.
 */
export interface Progress {
  update(done: number, total?: number): void;
  finish(): void;
}

export function createProgress(
  label: string,
  stream: NodeJS.WriteStream = process.stderr,
  every = 100,
): Progress {
  if (!stream.isTTY) {
    let next = every;
    return {
      update(done, total) {
        if (done < next) return;
        while (next <= done) next += every;
        stream.write(`${label} ${done}${total === undefined ? "" : `/${total}`}\n`);
      },
      finish: () => undefined,
    };
  }
  let last = 0;
  return {
    update(done, total) {
      const now = Date.now();
      if (now - last < 100 && done !== total) return; // at most ten redraws a second
      last = now;
      stream.write(`\r${label} ${done}${total === undefined ? "" : `/${total}`}`);
    },
    finish() {
      stream.write("\n");
    },
  };
}

/** A progress line as a callback of "how many so far" (pages read, annotations listed). */
export function progressCallback(label: string): (n: number) => void {
  const progress = createProgress(label);
  return (n) => progress.update(n);
}

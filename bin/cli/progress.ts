/** A one-line progress display for long runs; silent when stderr is not a terminal (CI, pipes, files). */
export interface Progress {
  update(done: number, total?: number): void;
  finish(): void;
}

export function createProgress(label: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return { update: () => undefined, finish: () => undefined };
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

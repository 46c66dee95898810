import { type ChildProcess, spawn } from "node:child_process";
import { availableParallelism } from "node:os";

/**
 * Keeps every core busy with spinning processes, so a timing claim can be checked on a busy machine rather than
 * an idle one. Stopped by the returned function, and on exit in any case.
 */
export function startCpuHog(processes: number = availableParallelism()): () => void {
  const children: ChildProcess[] = [];
  for (let i = 0; i < processes; i++)
    children.push(spawn(process.execPath, ["-e", "for(;;){}"], { stdio: "ignore" }));
  const stop = () => {
    for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
    process.off("exit", stop);
  };
  process.on("exit", stop);
  return stop;
}

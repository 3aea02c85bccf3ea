import { readFileSync } from 'node:fs';
import { Gauge } from 'prom-client';

/** USER_HZ: the unit of a thread's CPU times in /proc (100 on every Linux Node supports). */
const TICKS_PER_SECOND = 100;

/**
 * CPU time (user + system, seconds) of one of this process's threads, from
 * /proc/self/task/<tid>/stat (fields 14 and 15); undefined when the thread is
 * gone or there is no /proc (not Linux).
 */
export function threadCpuSeconds(tid: number): number | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: count from its end.
  const fields = text.slice(text.lastIndexOf(') ') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return Number.isFinite(ticks) ? ticks / TICKS_PER_SECOND : undefined;
}

const sources = new Map<string, () => number | undefined>();

/**
 * Which of the process's threads is busy: `process_cpu_seconds_total` sums
 * them all, and on a standalone server the HTTP thread, the SQLite writer
 * thread and the columnar copy's thread each bound ingest or queries in their
 * own way (docs/operations.md). Thread names come from a fixed set given by
 * the code, never from a request.
 */
export const threadCpu = new Gauge({
  name: 'tally_thread_cpu_seconds',
  help: 'CPU time (user + system) a named thread of this process has used since it started: main (HTTP and the event loop), sqlite_writer, columnar. A restarted thread starts again from 0. Linux only.',
  labelNames: ['thread'] as const,
  collect() {
    this.reset();
    for (const [thread, tidOf] of sources) {
      const tid = tidOf();
      const seconds = tid === undefined ? undefined : threadCpuSeconds(tid);
      if (seconds !== undefined) this.set({ thread }, seconds);
    }
  },
});

/**
 * Reports a thread's CPU time under `thread` while it runs; `tid` gives its
 * current OS thread id (undefined while it has none, e.g. restarting).
 * Returns the call that stops reporting it.
 */
export function watchThreadCpu(thread: string, tid: () => number | undefined): () => void {
  sources.set(thread, tid);
  return () => {
    if (sources.get(thread) === tid) sources.delete(thread);
  };
}

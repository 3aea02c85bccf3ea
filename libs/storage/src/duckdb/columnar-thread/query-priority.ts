import { readlink } from 'node:fs';
import { setPriority } from 'node:os';
import { tidOfThreadSelf } from '../../thread-id';

/** libuv's default pool size, and its cap (UV_THREADPOOL_SIZE). */
const DEFAULT_POOL_SIZE = 4;
const MAX_POOL_SIZE = 1024;
/** Bursts of probes before giving up on finding every pool thread. */
const MAX_BURSTS = 50;

export type PoolPriority =
  { lowered: number; of: number; nice: number; threads: number[] } | { skipped: string };

/** The pool size libuv reads from UV_THREADPOOL_SIZE (it clamps as here). */
export function threadpoolSize(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.UV_THREADPOOL_SIZE;
  if (raw === undefined || raw === '') return DEFAULT_POOL_SIZE;
  const n = Number.parseInt(raw, 10);
  if (!Number.isFinite(n) || n <= 0) return 1;
  return Math.min(n, MAX_POOL_SIZE);
}

/** One asynchronous readlink: libuv runs it on a pool thread, which the link then names. */
function probe(): Promise<number | undefined> {
  return new Promise((resolve) =>
    readlink('/proc/thread-self', (error, link) =>
      resolve(error ? undefined : tidOfThreadSelf(link)),
    ),
  );
}

/**
 * Lowers the scheduling priority (raises the nice value) of libuv's thread
 * pool, where DuckDB runs every statement the node API hands it and from
 * where it starts its own worker threads (which inherit the value). The
 * columnar copy's queries then take only the CPU that ingest (the HTTP
 * thread and the SQLite writer thread, both left at their priority) does not
 * want: on a 2-core machine a heavy compiled query otherwise competes with
 * every write on equal terms (docs/storage-engine.md, "Bounds").
 *
 * Nothing else on standalone's write path uses the pool; the HTTP thread's
 * other pool work (static files, DNS) is deprioritized with it, which is
 * acceptable for reads. Must run before the columnar copy opens DuckDB.
 * Linux only (per-thread nice via /proc/thread-self); elsewhere it reports
 * why it did nothing. Never throws: priority is an optimisation.
 */
export async function lowerThreadpoolPriority(nice: number): Promise<PoolPriority> {
  if (nice === 0) return { skipped: 'QUERY_COLUMNAR_NICE is 0' };
  if (process.platform !== 'linux')
    return { skipped: `per-thread priority needs Linux, not ${process.platform}` };
  const size = threadpoolSize();
  const found = new Set<number>();
  // Each burst queues more probes than there are threads, so every idle pool
  // thread is woken and takes one; a few bursts find them all.
  for (let burst = 0; burst < MAX_BURSTS && found.size < size; burst++) {
    const tids = await Promise.all(Array.from({ length: size * 8 }, probe));
    for (const tid of tids) if (tid !== undefined) found.add(tid);
  }
  if (found.size === 0) return { skipped: '/proc/thread-self is not readable' };
  const threads: number[] = [];
  for (const tid of found) {
    try {
      setPriority(tid, nice);
      threads.push(tid);
    } catch {
      // A thread that cannot be reniced keeps its priority; the others still help.
    }
  }
  return { lowered: threads.length, of: size, nice, threads };
}

import { median } from './load';

/** Wall time of one call, in ms. */
export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Median wall time of `runs` calls, in ms. */
export async function medianMs(fn: () => Promise<unknown>, runs: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await timed(fn));
  return median(times);
}

/**
 * Medians of two contenders timed in alternation (a, b, a, b, ...), so a burst
 * of load from the rest of the machine hits both rather than one of them.
 */
export async function interleavedMs(
  a: () => Promise<unknown>,
  b: () => Promise<unknown>,
  runs: number,
): Promise<[number, number]> {
  const as: number[] = [];
  const bs: number[] = [];
  for (let i = 0; i < runs; i++) {
    as.push(await timed(a));
    bs.push(await timed(b));
  }
  return [median(as), median(bs)];
}

/** Items per second. */
export const rate = (items: number, ms: number): number => Math.round(items / (ms / 1000));

export const fmt = (n: number): string => n.toLocaleString('en-US');

/** Runs `work` over `items` with at most `n` calls in flight. */
export async function lanes<T>(
  items: T[],
  n: number,
  work: (item: T) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) await work(items[next++]);
    }),
  );
}

/**
 * Calls `fn` until it succeeds, at most `attempts` times, 1 s apart. For the
 * bench's own setup and bookkeeping calls (loads, counts), whose stores keep
 * the deployment's strict driver timeouts, which a loaded 2-core machine can
 * trip; the writes retried are idempotent by keen.id.
 */
export async function retried<T>(what: string, fn: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= attempts) throw error;
      process.stderr.write(`${what}: retrying after ${(error as Error).message}\n`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

import { readlinkSync } from 'node:fs';
import { threadStat, threadStats } from '@test/support/thread-stat';
import { DuckdbEventTable } from '../event-table';
import { lowerThreadpoolPriority, threadpoolSize } from './query-priority';

/** A live thread of this process's nice value. */
function niceOf(tid: number): number | undefined {
  return threadStat('self', tid)?.nice;
}

/**
 * Opens a table with `threads` DuckDB threads, runs about a second of one
 * thread's work in it, and answers, for each thread of this process, the CPU
 * ticks it spent meanwhile and its nice, most ticks first. Both are read
 * before the table closes: DuckDB's own worker threads exit with it.
 */
async function cpuOfAStatement(
  threads: number,
): Promise<{ tid: number; ticks: number; nice: number }[]> {
  const table = await DuckdbEventTable.open({ threads });
  try {
    const before = threadStats('self');
    await table.reading((rows) =>
      rows('SELECT quantile_cont(x * 0.37 % 101, 0.9) FROM range(8000000) t(x)', []),
    );
    return [...threadStats('self')]
      .map(([tid, { cpuTicks, nice }]) => ({
        tid,
        ticks: cpuTicks - (before.get(tid)?.cpuTicks ?? 0),
        nice,
      }))
      .sort((a, b) => b.ticks - a.ticks);
  } finally {
    await table.close();
  }
}

/**
 * The columnar copy's queries yield the CPU to ingest: DuckDB executes the
 * node API's statements on libuv's pool threads, and those are the threads
 * lowerThreadpoolPriority renices, while the calling (JavaScript) thread
 * keeps its priority. Runs on Linux (the machines Tally's tests run on).
 */
describe('compiled queries at a lower priority', () => {
  const ownTid = Number(readlinkSync('/proc/thread-self').split('/').pop());

  it('finds every pool thread, renices exactly those, and DuckDB runs its statements there', async () => {
    const result = await lowerThreadpoolPriority(7);
    if ('skipped' in result) throw new Error(`not applied: ${result.skipped}`);
    expect(result.of).toBe(threadpoolSize());
    expect(result.lowered).toBe(result.of);
    expect(new Set(result.threads).size).toBe(result.of);
    expect(result.threads).not.toContain(ownTid);
    for (const tid of result.threads) expect(niceOf(tid)).toBe(7);
    expect(niceOf(ownTid)).toBe(0);

    const [busiest] = await cpuOfAStatement(1);
    expect(busiest.ticks).toBeGreaterThan(0);
    expect(result.threads).toContain(busiest.tid);
    expect(busiest.nice).toBe(7);
  }, 60_000);

  it("DuckDB's own worker threads (QUERY_COLUMNAR_THREADS > 1) inherit the lowered priority", async () => {
    const result = await lowerThreadpoolPriority(7);
    if ('skipped' in result) throw new Error(`not applied: ${result.skipped}`);
    const spent = await cpuOfAStatement(2);
    const total = spent.reduce((sum, { ticks }) => sum + ticks, 0);
    // The threads that did the statement's work (a fifth of it or more each).
    const busy = spent.filter(({ ticks }) => ticks >= total / 5);
    expect(busy.length).toBeGreaterThanOrEqual(1);
    for (const { tid, nice } of busy) expect({ tid, nice }).toEqual({ tid, nice: 7 });
  }, 60_000);

  it('does nothing at nice 0', async () => {
    expect(await lowerThreadpoolPriority(0)).toEqual({ skipped: 'QUERY_COLUMNAR_NICE is 0' });
  });
});

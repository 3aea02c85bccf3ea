import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { DuckdbEventTable } from '../event-table';
import { lowerThreadpoolPriority, threadpoolSize } from './query-priority';

/** Fields of /proc/self/task/<tid>/stat after the command name: nice is field 19, times 14–15. */
function statOf(tid: number): { nice: number; cpuTicks: number } {
  const fields = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ');
  return { nice: Number(fields[16]), cpuTicks: Number(fields[11]) + Number(fields[12]) };
}

function cpuByThread(): Map<number, number> {
  return new Map(
    readdirSync('/proc/self/task').map((t) => [Number(t), statOf(Number(t)).cpuTicks] as const),
  );
}

/**
 * Opens a table with `threads` DuckDB threads, runs about a second of one
 * thread's work in it, and answers the CPU ticks each thread of this process
 * spent meanwhile, most first.
 */
async function cpuOfAStatement(threads: number): Promise<(readonly [number, number])[]> {
  const table = await DuckdbEventTable.open({ threads });
  try {
    const before = cpuByThread();
    await table.reading((rows) =>
      rows('SELECT quantile_cont(x * 0.37 % 101, 0.9) FROM range(8000000) t(x)', []),
    );
    return [...cpuByThread()]
      .map(([tid, ticks]) => [tid, ticks - (before.get(tid) ?? 0)] as const)
      .sort((a, b) => b[1] - a[1]);
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
    for (const tid of result.threads) expect(statOf(tid).nice).toBe(7);
    expect(statOf(ownTid).nice).toBe(0);

    const [busiest] = await cpuOfAStatement(1);
    expect(busiest[1]).toBeGreaterThan(0);
    expect(result.threads).toContain(busiest[0]);
    expect(statOf(busiest[0]).nice).toBe(7);
  }, 60_000);

  it("DuckDB's own worker threads (QUERY_COLUMNAR_THREADS > 1) inherit the lowered priority", async () => {
    const result = await lowerThreadpoolPriority(7);
    if ('skipped' in result) throw new Error(`not applied: ${result.skipped}`);
    const spent = await cpuOfAStatement(2);
    const total = spent.reduce((sum, [, ticks]) => sum + ticks, 0);
    // The threads that did the statement's work (a fifth of it or more each).
    const busy = spent.filter(([, ticks]) => ticks >= total / 5).map(([tid]) => tid);
    expect(busy.length).toBeGreaterThanOrEqual(1);
    for (const tid of busy) expect({ tid, nice: statOf(tid).nice }).toEqual({ tid, nice: 7 });
  }, 60_000);

  it('does nothing at nice 0', async () => {
    expect(await lowerThreadpoolPriority(0)).toEqual({ skipped: 'QUERY_COLUMNAR_NICE is 0' });
  });
});

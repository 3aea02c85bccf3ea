import { parseQuery } from '@app/query-engine';
import { DuckdbQueryEngine } from './duckdb-query-engine';
import { DuckdbEventTable } from './event-table';

/**
 * A compiled query past its deadline is interrupted inside DuckDB, not left
 * running: the copy's one connection is shared with its appends and with the
 * queries behind it.
 */
describe('DuckDB statements at the query deadline', () => {
  let table: DuckdbEventTable;
  beforeAll(async () => {
    table = await DuckdbEventTable.open({ threads: 1 });
  });
  afterAll(() => table.close());

  const NOW = new Date(Date.UTC(2026, 5, 1));
  // Far more work than any deadline here: minutes on one thread.
  const SLOW = 'SELECT sum((x * x) % 7) FROM range(20000000000) t(x)';

  it('interrupts the running statement when the signal aborts; the connection serves the next one', async () => {
    const started = Date.now();
    await expect(table.reading((rows) => rows(SLOW, []), AbortSignal.timeout(300))).rejects.toThrow(
      /interrupt/i,
    );
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(250);
    expect(took).toBeLessThan(10_000);
    // The same connection answers at once, and an append behind it lands.
    expect(await table.reading((rows) => rows('SELECT 41 + 1', []))).toEqual([[42]]);
    await table.append('p', 'c', [{ id: 'a', timestamp: Date.UTC(2026, 0, 1), event: { n: 1 } }]);
    expect(
      await table.reading((rows) => rows("SELECT count(*) FROM events WHERE project = 'p'", [])),
    ).toEqual([[1]]);
  }, 30_000);

  it('never interrupts a statement the signal does not belong to', async () => {
    const controller = new AbortController();
    const answer = table.reading((rows) => rows('SELECT 7', []), controller.signal);
    const after = table.reading((rows) => rows('SELECT 8', []));
    expect(await answer).toEqual([[7]]);
    controller.abort();
    expect(await after).toEqual([[8]]);
  });

  it('a compiled query whose deadline has passed is declined with the reason, not answered late', async () => {
    const engine = DuckdbQueryEngine.over(table);
    const reasons: string[] = [];
    const query = parseQuery('count', { event_collection: 'c', timeframe: 'this_10_years' });
    const signal = AbortSignal.abort();
    expect(
      await engine.compiledQuery(query, {
        projectId: 'p',
        now: NOW,
        signal,
        onDecline: (r) => reasons.push(r),
      }),
    ).toBeUndefined();
    expect(reasons).toEqual(['cancelled at the query deadline']);
    // Without the signal the same query is answered.
    expect(await engine.compiledQuery(query, { projectId: 'p', now: NOW })).toEqual({ result: 1 });
  });
});

import { StoredEvent, TallyError } from '@app/events';
import { EventSource, ScanRequest } from '../event-source.port';
import { parseQuery } from '../parse/parse-query';
import { InMemoryEventSource } from '../testing/in-memory-event-source';
import { executeQuery, streamExtraction } from './execute-query';

const events = (n: number): StoredEvent[] =>
  Array.from({ length: n }, (_, i) => {
    const id = `e${String(i).padStart(6, '0')}`;
    const ts = Date.UTC(2024, 0, 1) + i * 1000;
    return {
      id,
      timestamp: ts,
      event: { n: i, g: `g${i}`, keen: { id, timestamp: new Date(ts).toISOString() } },
    };
  });

const source = new InMemoryEventSource({ pageSize: 100 }).add('p', 'c', events(1000));

const failure = async (p: Promise<unknown>): Promise<TallyError> => {
  try {
    await p;
  } catch (e) {
    if (e instanceof TallyError) return e;
    throw e;
  }
  throw new Error('expected a failure');
};

/** A store that never finishes: one page every 5 ms, forever. */
class EndlessSource implements EventSource {
  pages = 0;
  closed = false;
  async *scan(_req: ScanRequest, signal?: AbortSignal): AsyncIterable<StoredEvent[]> {
    try {
      while (!signal?.aborted) {
        await new Promise((r) => setTimeout(r, 5));
        this.pages++;
        yield events(10);
      }
    } finally {
      this.closed = true;
    }
  }
}

describe('query protection limits', () => {
  it('times out while streaming, as a 504 QueryTimeoutError, and closes the store cursor', async () => {
    const endless = new EndlessSource();
    const e = await failure(
      executeQuery(parseQuery('count', { event_collection: 'c' }), endless, {
        projectId: 'p',
        deadlineMs: 50,
      }),
    );
    expect(e.kind).toBe('timeout');
    expect(e.errorCode).toBe('QueryTimeoutError');
    expect(endless.pages).toBeGreaterThan(0);
    expect(endless.closed).toBe(true);
  });

  it('stops when the signal aborts', async () => {
    const endless = new EndlessSource();
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 30);
    const e = await failure(
      executeQuery(parseQuery('count', { event_collection: 'c', group_by: 'g' }), endless, {
        projectId: 'p',
        signal: ac.signal,
        deadlineMs: 10_000,
      }),
    );
    expect(e.kind).toBe('timeout');
  });

  it('refuses too many groups, naming the limit', async () => {
    const e = await failure(
      executeQuery(parseQuery('count', { event_collection: 'c', group_by: 'g' }), source, {
        projectId: 'p',
        limits: { maxGroups: 100 },
      }),
    );
    expect(e.kind).toBe('invalid');
    expect(e.message).toContain('limit of 100 groups');
  });

  it('refuses groups × interval buckets × analyses over the result-cell limit, naming it', async () => {
    // 1,000 groups (one event a second) over 20 minutely buckets: 20,000 cells.
    const params = {
      event_collection: 'c',
      group_by: 'g',
      interval: 'minutely',
      timeframe: { start: '2024-01-01T00:00:00Z', end: '2024-01-01T00:20:00Z' },
    };
    const e = await failure(
      executeQuery(parseQuery('count', params), source, { projectId: 'p', limits: { maxResultCells: 19_999 } }),
    );
    expect(e.kind).toBe('invalid');
    expect(e.message).toContain('maxResultCells');
    const ok = await executeQuery(parseQuery('count', params), source, { projectId: 'p', limits: { maxResultCells: 20_000 } });
    const buckets = ok.result as { value: { g: string; result: number }[] }[];
    expect(buckets).toHaveLength(20);
    // Every bucket lists every group; 1,000 events in all, one per group.
    expect(buckets.every((b) => b.value.length === 1000)).toBe(true);
    expect(buckets.reduce((n, b) => n + b.value.reduce((m, r) => m + r.result, 0), 0)).toBe(1000);
  });

  it('refuses a synchronous extraction over the size limit, but streams it', async () => {
    const q = parseQuery('extraction', { event_collection: 'c' });
    const e = await failure(
      executeQuery(q, source, { projectId: 'p', limits: { maxExtractionEvents: 999 } }),
    );
    expect(e.message).toContain('maxExtractionEvents');
    expect(
      (
        await failure(
          executeQuery(parseQuery('extraction', { event_collection: 'c', latest: 1000 }), source, {
            projectId: 'p',
            limits: { maxExtractionEvents: 999 },
          }),
        )
      ).message,
    ).toContain('latest');
    let n = 0;
    let last = -1;
    for await (const page of streamExtraction(q, source, {
      projectId: 'p',
      limits: { maxExtractionEvents: 1 },
    })) {
      expect(page.length).toBeGreaterThan(0);
      for (const line of page) {
        const ev = JSON.parse(line) as { n: number };
        expect(ev.n).toBeGreaterThan(last);
        last = ev.n;
        n++;
      }
    }
    expect(n).toBe(1000);
  });

  it('streamExtraction with latest reads newest-first and stops early', async () => {
    const spy = new InMemoryEventSource({ pageSize: 10 }).add('p', 'c', events(1000));
    const q = parseQuery('extraction', { event_collection: 'c', latest: 3, property_names: ['n'] });
    const out = [];
    for await (const page of streamExtraction(q, spy, { projectId: 'p' }))
      out.push(...page.map((line) => JSON.parse(line)));
    expect(out).toEqual([{ n: 997 }, { n: 998 }, { n: 999 }]);
    expect(spy.requests[0].order).toBe('desc');
    expect(() =>
      streamExtraction(parseQuery('count', { event_collection: 'c' }), spy, { projectId: 'p' }),
    ).toThrow(/extraction/);
  });

  it('bounds the values kept in memory (unique sets, median samples)', async () => {
    for (const type of ['count_unique', 'median', 'select_unique']) {
      const e = await failure(
        executeQuery(parseQuery(type, { event_collection: 'c', target_property: 'n' }), source, {
          projectId: 'p',
          limits: { maxValuesInMemory: 500 },
        }),
      );
      expect(e.message).toContain('maxValuesInMemory');
    }
  });

  it('refuses too many interval buckets', async () => {
    const e = await failure(
      executeQuery(
        parseQuery('count', {
          event_collection: 'c',
          timeframe: 'this_3_days',
          interval: 'minutely',
        }),
        source,
        {
          projectId: 'p',
        },
      ),
    );
    expect(e.message).toContain('2500 buckets');
  });
});

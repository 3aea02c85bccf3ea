import { StoredEvent } from '@app/events';
import { NdjsonPage, NdjsonScanRequest } from '../event-source.port';
import { parseQuery } from '../parse/parse-query';
import { InMemoryEventSource } from '../testing/in-memory-event-source';
import { streamExtraction, streamExtractionNdjson } from './execute-query';
import { NdjsonChunk } from './run-extraction';

const T0 = Date.UTC(2024, 0, 1);
const events = (n: number): StoredEvent[] =>
  Array.from({ length: n }, (_, i) => {
    const id = `e${String(i).padStart(6, '0')}`;
    const ts = T0 + i * 1000;
    return {
      id,
      timestamp: ts,
      event: { n: i, keen: { id, timestamp: new Date(ts).toISOString() } },
    };
  });

/**
 * An in-memory store that also offers its events as NDJSON pages (of
 * `pageSize` events, from JSON.stringify, as a store keeping JSON text would)
 * and records what it was asked and whether each read was closed.
 */
class TextSource extends InMemoryEventSource {
  readonly textRequests: NdjsonScanRequest[] = [];
  textReadsClosed = 0;

  async *scanNdjson(request: NdjsonScanRequest, signal?: AbortSignal): AsyncIterable<NdjsonPage> {
    this.textRequests.push(request);
    try {
      for await (const page of this.scan({ ...request, order: 'asc' }, signal)) {
        const text = page.map((e) => `${JSON.stringify(e.event)}\n`).join('');
        yield { bytes: Buffer.from(text), events: page.length };
      }
    } finally {
      this.textReadsClosed++;
    }
  }
}

const lines = (chunks: NdjsonChunk[]): string[] =>
  chunks.flatMap((c) =>
    Array.isArray(c) ? c : Buffer.from(c).toString('utf8').slice(0, -1).split('\n'),
  );

async function collect(
  source: InMemoryEventSource,
  params: Record<string, unknown>,
  signal?: AbortSignal,
): Promise<{ chunks: NdjsonChunk[]; scanned: number }> {
  const chunks: NdjsonChunk[] = [];
  let scanned = -1;
  const query = parseQuery('extraction', { event_collection: 'c', ...params });
  const stream = streamExtractionNdjson(query, source, {
    projectId: 'p',
    signal,
    onScanned: (n) => (scanned = n),
  });
  for await (const chunk of stream) chunks.push(chunk);
  return { chunks, scanned };
}

async function viaLines(source: InMemoryEventSource, params: Record<string, unknown>) {
  const out: string[] = [];
  const query = parseQuery('extraction', { event_collection: 'c', ...params });
  for await (const page of streamExtraction(query, source, { projectId: 'p' })) out.push(...page);
  return out;
}

describe('streamExtractionNdjson', () => {
  const timeframe = {
    start: new Date(T0 + 10_000).toISOString(),
    end: new Date(T0 + 250_000).toISOString(),
  };

  it("sends whole events as the store's text, page by page, for the query's range", async () => {
    const source = new TextSource({ pageSize: 100 }).add('p', 'c', events(1000));
    const { chunks, scanned } = await collect(source, { timeframe });
    expect(chunks.every((c) => c instanceof Uint8Array)).toBe(true);
    expect(chunks).toHaveLength(3);
    expect(lines(chunks)).toEqual(await viaLines(source, { timeframe }));
    expect(lines(chunks)).toHaveLength(240);
    expect(scanned).toBe(240);
    expect(source.textRequests).toEqual([
      { projectId: 'p', collection: 'c', start: T0 + 10_000, end: T0 + 250_000 },
    ]);
    // No timeframe: the whole collection.
    expect(lines((await collect(source, {})).chunks)).toHaveLength(1000);
    expect(source.textRequests[1]).toEqual({ projectId: 'p', collection: 'c' });
  });

  it('goes through the event scan for filters, property_names and latest', async () => {
    const source = new TextSource({ pageSize: 100 }).add('p', 'c', events(1000));
    const cases: Record<string, unknown>[] = [
      { filters: [{ property_name: 'n', operator: 'lt', property_value: 5 }] },
      { property_names: ['n'] },
      { latest: 4 },
    ];
    for (const params of cases) {
      const { chunks } = await collect(source, params);
      expect(chunks.every((c) => Array.isArray(c))).toBe(true);
      expect(lines(chunks)).toEqual(await viaLines(source, params));
    }
    expect(source.textRequests).toEqual([]);
  });

  it('goes through the event scan when the store has no stored text', async () => {
    const source = new InMemoryEventSource({ pageSize: 100 }).add('p', 'c', events(300));
    const { chunks, scanned } = await collect(source, {});
    expect(chunks.every((c) => Array.isArray(c))).toBe(true);
    expect(lines(chunks)).toEqual(events(300).map((e) => JSON.stringify(e.event)));
    expect(scanned).toBe(300);
  });

  it('stops between pages when cancelled, and closes the store read', async () => {
    const source = new TextSource({ pageSize: 100 }).add('p', 'c', events(1000));
    const controller = new AbortController();
    const query = parseQuery('extraction', { event_collection: 'c' });
    const seen: NdjsonChunk[] = [];
    const reading = (async () => {
      for await (const chunk of streamExtractionNdjson(query, source, {
        projectId: 'p',
        signal: controller.signal,
      })) {
        seen.push(chunk);
        controller.abort();
      }
    })();
    await expect(reading).rejects.toMatchObject({ errorCode: 'QueryTimeoutError' });
    expect(seen).toHaveLength(1);
    expect(source.textReadsClosed).toBe(1);
  });

  it('refuses what is not an extraction', () => {
    const source = new TextSource();
    expect(() =>
      streamExtractionNdjson(parseQuery('count', { event_collection: 'c' }), source, {
        projectId: 'p',
      }),
    ).toThrow(/extraction/);
  });
});

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CollectionEvent, JsonObject } from '@app/events';
import {
  NdjsonChunk,
  NdjsonScanRequest,
  parseQuery,
  streamExtraction,
  streamExtractionNdjson,
} from '@app/query-engine';
import { SqliteDatabase } from './sqlite-database';
import { SqliteEventStore } from './sqlite-event.store';

/**
 * The NDJSON export of whole events reads the stored text a page at a time
 * (scanNdjson): every line must be exactly the event that was stored, in the
 * order and range of the event scan, across page boundaries, equal
 * timestamps and pages cut short by large events.
 */
describe('sqlite: NDJSON pages of stored text', () => {
  const T0 = Date.UTC(2024, 0, 1);
  const SMALL = 4500; // more than two pages of 2,000
  let dir: string;
  let db: SqliteDatabase;
  let store: SqliteEventStore;

  /** A fixed shuffle, so rowid order is not time order and ids do not follow insertion. */
  const shuffled = <T>(items: T[]): T[] => {
    const out = items.slice();
    let seed = 7;
    for (let i = out.length - 1; i > 0; i--) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      const j = seed % (i + 1);
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  };

  const event = (
    collection: string,
    id: string,
    ts: number,
    body: JsonObject,
  ): CollectionEvent => ({
    collection,
    id,
    timestamp: ts,
    event: {
      ...body,
      keen: { id, timestamp: new Date(ts).toISOString(), created_at: new Date(T0).toISOString() },
    },
  });

  // Seven events per timestamp: the order within one is by id.
  const small = Array.from({ length: SMALL }, (_, i) =>
    event('c', `id-${String((i * 7919) % SMALL).padStart(5, '0')}`, T0 + Math.floor(i / 7) * 1000, {
      i,
      s: i % 5 === 0 ? `é ☃ 𝄞 "q" \\ \n ${i}` : `plain ${i}`,
      nested: { list: [i, null, true, { x: i / 3 }] },
    }),
  );
  const inOrder = (events: CollectionEvent[]) =>
    events
      .slice()
      .sort((a, b) => a.timestamp - b.timestamp || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  // 300 KB each: at most three per page of 1 MB; one alone is over 1 MB.
  const big = Array.from({ length: 7 }, (_, i) =>
    event('big', `b${i}`, T0 + i, { i, pad: 'y'.repeat(i === 4 ? 1_200_000 : 300_000) }),
  );

  const chunks = async (params: Record<string, unknown>, signal?: AbortSignal) => {
    const out: NdjsonChunk[] = [];
    const query = parseQuery('extraction', { event_collection: 'c', ...params });
    for await (const chunk of streamExtractionNdjson(query, store, { projectId: 'p', signal }))
      out.push(chunk);
    return out;
  };
  const linesOf = (out: NdjsonChunk[]): string[] =>
    out.flatMap((c) => {
      if (Array.isArray(c)) return c;
      const text = Buffer.from(c).toString('utf8');
      expect(text.endsWith('\n')).toBe(true);
      return text.slice(0, -1).split('\n');
    });
  /** The same export through the event scan (parse, then serialise). */
  const scanned = async (params: Record<string, unknown>): Promise<string[]> => {
    const lines: string[] = [];
    const query = parseQuery('extraction', { event_collection: 'c', ...params });
    for await (const page of streamExtraction(query, store, { projectId: 'p' }))
      lines.push(...page);
    return lines;
  };
  const pages = async (request: NdjsonScanRequest) => {
    const out: { text: string; events: number; bytes: number }[] = [];
    for await (const page of store.scanNdjson(request))
      out.push({
        text: Buffer.from(page.bytes).toString('utf8'),
        events: page.events,
        bytes: page.bytes.byteLength,
      });
    return out;
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-sqlite-ndjson-'));
    db = new SqliteDatabase(path.join(dir, 'tally.db'));
    store = new SqliteEventStore(db);
    await store.insert('p', shuffled(small));
    await store.insert('p', shuffled(big));
    // Another project's events in the same collection never show.
    await store.insert(
      'q',
      small.slice(0, 50).map((e) => ({ ...e, id: `q-${e.id}` })),
    );
  });

  afterAll(() => {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('exports every stored event field for field, oldest first and by id, as stored text', async () => {
    const out = await chunks({});
    // Stored text, a page at a time, not lines made by the engine.
    expect(out.every((c) => c instanceof Uint8Array)).toBe(true);
    expect(out.length).toBeGreaterThanOrEqual(3);
    const lines = linesOf(out);
    const expected = inOrder(small);
    expect(lines).toHaveLength(expected.length);
    for (const [n, line] of lines.entries()) {
      expect(line).toBe(JSON.stringify(expected[n].event));
      expect(JSON.parse(line)).toEqual(expected[n].event);
    }
    expect(lines).toEqual(await scanned({}));
  });

  it('keeps exactly the timeframe, whose bounds fall inside runs of equal timestamps', async () => {
    const start = T0 + 100 * 1000;
    const end = T0 + 400 * 1000;
    const timeframe = { start: new Date(start).toISOString(), end: new Date(end).toISOString() };
    const lines = linesOf(await chunks({ timeframe }));
    const expected = inOrder(small).filter((e) => e.timestamp >= start && e.timestamp < end);
    expect(lines).toEqual(expected.map((e) => JSON.stringify(e.event)));
    expect(lines).toEqual(await scanned({ timeframe }));
    // A timeframe with no events: no pages at all.
    const empty = { start: new Date(T0 - 5000).toISOString(), end: new Date(T0).toISOString() };
    expect(await chunks({ timeframe: empty })).toEqual([]);
  });

  it('says how many events each page holds, and reads the project asked for only', async () => {
    const read = await pages({ projectId: 'q', collection: 'c' });
    expect(read.reduce((n, p) => n + p.events, 0)).toBe(50);
    for (const page of read) expect(page.text.split('\n')).toHaveLength(page.events + 1);
    expect(await pages({ projectId: 'p', collection: 'nothing' })).toEqual([]);
  });

  it('cuts pages at 1 MB of text; an event larger than that is a page alone', async () => {
    const read = await pages({ projectId: 'p', collection: 'big' });
    expect(read.reduce((n, p) => n + p.events, 0)).toBe(7);
    for (const page of read) expect(page.events === 1 || page.bytes <= 1_000_000).toBe(true);
    expect(read.find((p) => p.bytes > 1_000_000)?.text).toContain('"i":4,');
    const lines = read.flatMap((p) => p.text.slice(0, -1).split('\n'));
    expect(lines.map((l) => JSON.parse(l))).toEqual(big.map((e) => e.event));
  });

  it('falls back to the event scan for filters, property_names and latest', async () => {
    const expected = inOrder(small);
    const filters = [{ property_name: 'i', operator: 'lt', property_value: 10 }];
    const filtered = await chunks({ filters });
    expect(filtered.every((c) => Array.isArray(c))).toBe(true);
    expect(linesOf(filtered)).toEqual(
      expected.filter((e) => (e.event.i as number) < 10).map((e) => JSON.stringify(e.event)),
    );
    const projected = linesOf(await chunks({ property_names: ['i'] }));
    expect(projected).toEqual(expected.map((e) => JSON.stringify({ i: e.event.i })));
    const latest = linesOf(await chunks({ latest: 3 }));
    expect(latest).toEqual(expected.slice(-3).map((e) => JSON.stringify(e.event)));
  });

  it('stops at the signal', async () => {
    const controller = new AbortController();
    const query = parseQuery('extraction', { event_collection: 'c' });
    const read: NdjsonChunk[] = [];
    const reading = (async () => {
      for await (const chunk of streamExtractionNdjson(query, store, {
        projectId: 'p',
        signal: controller.signal,
      })) {
        read.push(chunk);
        controller.abort();
      }
    })();
    await expect(reading).rejects.toThrow(/cancelled/);
    expect(read).toHaveLength(1);
  });

  it('exports a rewritten body as rewritten', async () => {
    const first = inOrder(small)[0];
    const { nested: _gone, ...rest } = first.event;
    expect(
      await store.replaceBodies('p', 'c', [{ id: first.id, expected: first.event, body: rest }]),
    ).toEqual([first.id]);
    const [line] = linesOf(await chunks({}));
    expect(line).toBe(JSON.stringify(rest));
  });
});

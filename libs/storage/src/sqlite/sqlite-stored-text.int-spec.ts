import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CollectionEvent, JsonObject, StoredEvent } from '@app/events';
import { parseQuery, streamExtraction } from '@app/query-engine';
import { SqliteDatabase } from './sqlite-database';
import { SqliteEventStore } from './sqlite-event.store';

/**
 * SQLite hands each scanned event its stored JSON text and parses the body
 * only when `event` is read; the NDJSON export sends that text as it is.
 * What is sent must be exactly what a parse-and-serialise would send, for
 * every body the store can hold, also after a body is rewritten.
 */
describe('sqlite: stored text of scanned events', () => {
  const T0 = Date.UTC(2024, 0, 1);
  let dir: string;
  let db: SqliteDatabase;
  let store: SqliteEventStore;

  const bodies: JsonObject[] = [
    { n: 0, s: 'plain' },
    { n: 1, s: 'é ☃ 𝄞 "quoted" \\ back\nslash', nested: { a: [1, 2, { b: null }] } },
    { n: 2, big: 1e21, small: 5e-324, neg: -0.5, t: true, f: false, z: null },
    { n: 3, list: [], obj: {}, deep: { x: { y: { z: 'end' } } } },
    { n: 4, country: 'FR', user: { id: 'u4' } },
  ];
  const events: CollectionEvent[] = bodies.map((b, i) => ({
    collection: 'c',
    id: `e${i}`,
    timestamp: T0 + i * 1000,
    event: {
      ...b,
      keen: {
        id: `e${i}`,
        timestamp: new Date(T0 + i * 1000).toISOString(),
        created_at: new Date(T0).toISOString(),
      },
    },
  }));

  const scanned = async (): Promise<StoredEvent[]> => {
    const out: StoredEvent[] = [];
    for await (const page of store.scan({ projectId: 'p', collection: 'c' })) out.push(...page);
    return out;
  };

  const exported = async (params: Record<string, unknown>): Promise<string[]> => {
    const lines: string[] = [];
    const query = parseQuery('extraction', { event_collection: 'c', ...params });
    for await (const page of streamExtraction(query, store, { projectId: 'p' }))
      lines.push(...page);
    return lines;
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-sqlite-text-'));
    db = new SqliteDatabase(path.join(dir, 'tally.db'));
    store = new SqliteEventStore(db);
    await store.insert('p', events);
  });

  afterAll(() => {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('gives each event the text it was stored as, equal to its serialised body', async () => {
    const found = await scanned();
    expect(found.map((e) => e.id)).toEqual(events.map((e) => e.id));
    for (const [i, e] of found.entries()) {
      expect(e.text).toBe(JSON.stringify(events[i].event));
      expect(e.event).toEqual(events[i].event);
      expect(e.text).toBe(JSON.stringify(e.event));
    }
    // The text is not one of the event's fields: copies and comparisons leave it out.
    expect(Object.keys(found[0]).sort()).toEqual(['event', 'id', 'timestamp']);
    expect({ ...found[0] }).toEqual({ id: 'e0', timestamp: T0, event: events[0].event });
  });

  it('drops the text once the event is replaced in memory', async () => {
    const [first] = await scanned();
    first.event = { changed: true };
    expect(first.text).toBeUndefined();
    expect(first.event).toEqual({ changed: true });
  });

  it('exports the same lines as serialising each matching event, with and without filters or property_names', async () => {
    const all = events.map((e) => JSON.stringify(e.event));
    expect(await exported({})).toEqual(all);
    expect(
      await exported({ filters: [{ property_name: 'n', operator: 'gte', property_value: 3 }] }),
    ).toEqual(all.slice(3));
    expect(await exported({ property_names: ['n', 'user.id'] })).toEqual(
      bodies.map((b) =>
        JSON.stringify(b.user ? { n: b.n, user: { id: (b.user as JsonObject).id } } : { n: b.n }),
      ),
    );
    expect(await exported({ latest: 2 })).toEqual(all.slice(3));
  });

  it('exports a rewritten body as rewritten', async () => {
    const [, second] = await scanned();
    const { nested: _gone, ...rest } = second.event;
    const replaced = await store.replaceBodies('p', 'c', [
      { id: 'e1', expected: second.event, body: rest },
    ]);
    expect(replaced).toEqual(['e1']);
    const lines = await exported({});
    expect(lines[1]).toBe(JSON.stringify(rest));
    expect(JSON.parse(lines[1])).not.toHaveProperty('nested');
  });
});

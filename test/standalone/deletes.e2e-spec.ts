import Database from 'better-sqlite3';
import * as path from 'node:path';
import { http } from '../support/http';
import { SqliteContents } from '../support/sqlite-contents';
import { StandaloneServer } from '../support/standalone-server';

/**
 * Deletes keep the schema exact without a rescan: after inserts, redeliveries,
 * filtered deletes, id deletes and whole-collection deletes, the survivors
 * equal the expected set field for field and the counters equal a recount.
 */
describe('standalone: deletes and the schema lifecycle', () => {
  const server = new StandaloneServer(undefined, { SCHEMA_RECOUNT_MAX_EVENTS: '40' });
  let keys: { write_key: string; read_key: string; master_key: string };
  const base = () => `${server.url}/3.0/projects/default/events`;

  const events = Array.from({ length: 60 }, (_, i) => ({
    n: i,
    kind: i % 3 === 0 ? 'refund' : 'sale',
    ...(i % 4 === 0 ? { extra: { flag: true } } : {}),
    keen: { timestamp: new Date(Date.UTC(2024, 1, 1) + i * 3600_000).toISOString() },
  }));

  beforeAll(async () => {
    await server.start();
    keys = server.keys!;
    // The same request twice (same x-request-id): the replay adds nothing.
    for (let attempt = 0; attempt < 2; attempt++) {
      const res = await http('POST', base(), { body: { sales: events }, key: keys.write_key, headers: { 'x-request-id': 'load-1' } });
      expect(res.status).toBe(200);
    }
    await http('POST', base(), { body: { other: [{ a: 1 }, { a: 2 }] }, key: keys.write_key });
  });

  afterAll(async () => {
    await server.stop();
    server.remove();
  });

  const survivors = () => {
    const contents = new SqliteContents(server.dataDir);
    const rows = contents.events('default', 'sales');
    const counters = contents.counters('default');
    const recount = contents.recount('default');
    contents.close();
    return { rows, counters, recount };
  };

  it('stored the redelivered batch once', () => {
    const { rows, counters, recount } = survivors();
    expect(rows.map((r) => r.event.n)).toEqual(events.map((e) => e.n));
    expect(counters).toEqual(recount);
  });

  it('requires the master key', async () => {
    const res = await http('DELETE', `${base()}/sales`, { key: keys.write_key });
    expect(res.status).toBe(403);
    expect(survivors().rows).toHaveLength(60);
  });

  it('deletes by keen.id as point operations and decrements the counters exactly', async () => {
    const { rows } = survivors();
    const victims = rows.filter((r) => r.event.n === 4 || r.event.n === 5).map((r) => r.id);
    const filters = JSON.stringify([{ property_name: 'keen.id', operator: 'in', property_value: victims }]);
    const res = await http('DELETE', `${base()}/sales?api_key=${keys.master_key}&filters=${encodeURIComponent(filters)}`);
    expect(res.status).toBe(204);
    expect(res.headers.get('x-tally-pool')).toBe('standalone');
    expect(res.headers.get('x-tally-events-scanned')).toBe('2');
    expect(res.headers.get('x-tally-events-deleted')).toBe('2');
    const after = survivors();
    expect(after.rows.map((r) => r.event.n)).toEqual(events.map((e) => e.n).filter((n) => n !== 4 && n !== 5));
    expect(after.counters).toEqual(after.recount);
    expect(after.counters['sales|extra.flag|bool']).toBe(14); // n % 4 === 0, minus n = 4
  });

  it('deletes by filter within a timeframe, reading only that timeframe', async () => {
    const filters = JSON.stringify([{ property_name: 'kind', operator: 'eq', property_value: 'refund' }]);
    const timeframe = JSON.stringify({ start: '2024-02-01T00:00:00.000Z', end: '2024-02-02T00:00:00.000Z' });
    const res = await http(
      'DELETE',
      `${base()}/sales?filters=${encodeURIComponent(filters)}&timeframe=${encodeURIComponent(timeframe)}&timezone=UTC`,
      { key: keys.master_key },
    );
    expect(res.status).toBe(204);
    // The first day holds n = 0..23, of which 4 and 5 are gone already.
    expect(res.headers.get('x-tally-events-scanned')).toBe('22');
    const expected = events
      .filter((e) => e.n !== 4 && e.n !== 5)
      .filter((e) => !(e.n < 24 && e.kind === 'refund'))
      .map((e) => e.n);
    const after = survivors();
    expect(after.rows.map((r) => r.event.n)).toEqual(expected);
    for (const row of after.rows) {
      const sent = events[row.event.n as number];
      const { keen, ...body } = row.event as any;
      const { keen: sentKeen, ...sentBody } = sent;
      expect(body).toEqual(sentBody);
      expect(keen.timestamp).toBe(sentKeen.timestamp);
    }
    expect(after.counters).toEqual(after.recount);
  });

  it('answers a bad filter with 400 and deletes nothing', async () => {
    const before = survivors().rows.length;
    const res = await http('DELETE', `${base()}/sales?filters=%5B%7B%22operator%22%3A%22eq%22%7D%5D`, { key: keys.master_key });
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(/filters/);
    expect(survivors().rows.length).toBe(before);
  });

  it('refuses an exact recount above the bound without touching the events, and fixes counters below it', async () => {
    const big = await http('POST', `${base()}/sales/schema/recalculate`, { key: keys.master_key });
    expect(big.status).toBe(400);
    expect(big.body.error_code).toBe('SchemaRecountTooLargeError');
    expect(big.body.message).toMatch(/has 50 events.*up to 40/);

    // Damage the small collection's counters behind the server's back, then recount.
    const db = new Database(path.join(server.dataDir, 'tally.db'));
    db.prepare("UPDATE schema_counters SET count = 99 WHERE project = 'default' AND collection = 'other' AND path = 'a'").run();
    db.prepare("INSERT INTO schema_counters VALUES ('default', 'other', 'ghost', 'num', 5)").run();
    db.close();
    const fixed = await http('POST', `${base()}/other/schema/recalculate`, { key: keys.master_key });
    expect(fixed.status).toBe(200);
    expect(fixed.body).toEqual({ events: 2, corrected: 2 });
    const contents = new SqliteContents(server.dataDir);
    expect(contents.counters('default')).toEqual(contents.recount('default'));
    contents.close();
  });

  it('deletes a whole collection when no filter or timeframe is given, and its schema disappears', async () => {
    const res = await http('DELETE', `${base()}/sales`, { key: keys.master_key });
    expect(res.status).toBe(204);
    const after = survivors();
    expect(after.rows).toEqual([]);
    expect(Object.keys(after.counters).filter((k) => k.startsWith('sales|'))).toEqual([]);
    expect(after.counters).toEqual(after.recount);
    const schema = await http('GET', `${base()}/sales`, { key: keys.read_key });
    expect(schema.status).toBe(404);
    const other = await http('GET', `${base()}/other`, { key: keys.read_key });
    expect(other.body.properties.a).toBe('num');
  });
});

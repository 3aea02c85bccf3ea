import { http } from '../support/http';
import { SqliteContents } from '../support/sqlite-contents';
import { StandaloneServer } from '../support/standalone-server';

/**
 * A 2xx means committed to disk: events acknowledged before a kill -9 are all
 * there after restart, field for field, and the schema counters still equal
 * an exact recount (they commit in the same transaction as the events).
 */
describe('standalone: durability across kill -9', () => {
  const server = new StandaloneServer();

  afterAll(async () => {
    await server.stop();
    server.remove();
  });

  it('keeps every acknowledged event and exact counters', async () => {
    await server.start();
    const key = server.keys!.write_key;
    const acknowledged = new Map<string, Record<string, unknown>>();
    let stop = false;
    let seq = 0;

    const writer = async (worker: number) => {
      while (!stop) {
        const n = seq++;
        const single = n % 3 !== 0;
        const make = (i: number) => ({
          marker: `${worker}-${n}-${i}`,
          worker,
          amount: n * 1.5,
          tags: ['a', String(i)],
          nested: { ok: i % 2 === 0, when: '2024-01-01T00:00:00.000Z' },
          keen: { timestamp: new Date(Date.UTC(2024, 0, 1) + n * 1000).toISOString() },
        });
        try {
          if (single) {
            const event = make(0);
            const res = await http('POST', `${server.url}/3.0/projects/default/events/durable`, { body: event, key });
            if (res.status === 201) acknowledged.set(event.marker, event);
          } else {
            const events = Array.from({ length: 20 }, (_, i) => make(i));
            const res = await http('POST', `${server.url}/3.0/projects/default/events`, { body: { durable: events }, key });
            if (res.status === 200) events.forEach((e) => acknowledged.set(e.marker, e));
          }
        } catch {
          // the connection died with the server: not acknowledged
        }
      }
    };

    const writers = Array.from({ length: 8 }, (_, w) => writer(w));
    await new Promise((r) => setTimeout(r, 1500));
    await server.kill('SIGKILL');
    stop = true;
    await Promise.all(writers);
    expect(acknowledged.size).toBeGreaterThan(100);

    await server.start();
    const contents = new SqliteContents(server.dataDir);
    const stored = new Map(contents.events('default', 'durable').map((e) => [e.event.marker as string, e]));
    for (const [marker, sent] of acknowledged) {
      const found = stored.get(marker);
      expect(found).toBeDefined();
      const { keen, ...body } = found!.event as Record<string, any>;
      const { keen: sentKeen, ...sentBody } = sent as Record<string, any>;
      expect(body).toEqual(sentBody);
      expect(keen.timestamp).toBe(sentKeen.timestamp);
      expect(keen.id).toBe(found!.id);
    }
    expect(new Set([...stored.values()].map((e) => e.id)).size).toBe(stored.size);
    expect(contents.counters('default')).toEqual(contents.recount('default'));
    expect(contents.counters('default')['durable|marker|string']).toBe(stored.size);
    contents.close();
  }, 60_000);
});

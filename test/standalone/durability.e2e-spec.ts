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
            const res = await http('POST', `${server.url}/3.0/projects/default/events/durable`, {
              body: event,
              key,
            });
            if (res.status === 201) acknowledged.set(event.marker, event);
          } else {
            const events = Array.from({ length: 20 }, (_, i) => make(i));
            const res = await http('POST', `${server.url}/3.0/projects/default/events`, {
              body: { durable: events },
              key,
            });
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
    const stored = new Map(
      contents.events('default', 'durable').map((e) => [e.event.marker as string, e]),
    );
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

    // The columnar copy after the kill: it follows the store of record, so
    // once it answers, it counts exactly what SQLite holds (a copy that had
    // kept rows of a write SQLite lost, or missed some, would differ).
    const count = async () => {
      const res = await http(
        'GET',
        `${server.url}/3.0/projects/default/queries/count?event_collection=durable&timeframe=${encodeURIComponent(
          JSON.stringify({ start: '2024-01-01T00:00:00.000Z', end: '2025-01-01T00:00:00.000Z' }),
        )}`,
        { key: server.keys!.read_key },
      );
      expect(res.status).toBe(200);
      return { result: res.body.result, path: res.headers.get('x-tally-query-path') };
    };
    let answer = await count();
    for (let i = 0; i < 100 && answer.path !== 'compiled'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      answer = await count();
    }
    expect(answer).toEqual({ result: stored.size, path: 'compiled' });
  }, 60_000);

  /** Batch writers until `stop`; each acknowledged batch's markers land in `acked`. */
  const batchWriters = (
    key: string,
    collection: string,
    acked: Map<string, Record<string, unknown>>,
    opts: { writers: number; size: number; onAck?: () => void; stop: { done: boolean } },
  ) => {
    let seq = 0;
    const writer = async (w: number) => {
      while (!opts.stop.done) {
        const n = seq++;
        const events = Array.from({ length: opts.size }, (_, i) => ({
          marker: `${w}-${n}-${i}`,
          n,
          price: i * 0.5,
          user: { id: `u${i % 37}`, flags: [i % 2 === 0, null] },
        }));
        try {
          const res = await http('POST', `${server.url}/3.0/projects/default/events`, {
            body: { [collection]: events },
            key,
          });
          if (res.status === 200) {
            events.forEach((e) => acked.set(e.marker, e));
            opts.onAck?.();
          }
        } catch {
          // the connection died with the server: not acknowledged
        }
      }
    };
    return Promise.all(Array.from({ length: opts.writers }, (_, w) => writer(w)));
  };

  const expectStored = (collection: string, acked: Map<string, Record<string, unknown>>) => {
    const contents = new SqliteContents(server.dataDir);
    try {
      const stored = new Map(
        contents.events('default', collection).map((e) => [e.event.marker as string, e]),
      );
      const missing = [...acked.keys()].filter((m) => !stored.has(m));
      expect(missing).toEqual([]);
      for (const [marker, sent] of acked) {
        const { keen, ...body } = stored.get(marker)!.event as Record<string, any>;
        expect(body).toEqual(sent);
        expect(keen.id).toBe(stored.get(marker)!.id);
      }
      expect(contents.counters('default')).toEqual(contents.recount('default'));
      expect(contents.counters('default')[`${collection}|marker|string`]).toBe(stored.size);
      return stored.size;
    } finally {
      contents.close();
    }
  };

  it('keeps every batch acknowledged the moment before a kill -9, while /healthz answers throughout', async () => {
    if (!server.process) await server.start();
    const key = server.keys!.write_key;
    const acked = new Map<string, Record<string, unknown>>();
    const stop = { done: false };
    let acks = 0;
    let killed: Promise<void> | undefined;
    // Health probes while 500-event batches commit: the commit runs in the
    // writer thread, so the probe waits for request parsing at most.
    const probes: number[] = [];
    const probing = (async () => {
      while (!stop.done && !killed) {
        const started = Date.now();
        try {
          const res = await http('GET', `${server.url}/healthz`);
          if (res.status === 200) probes.push(Date.now() - started);
        } catch {
          // the server is gone
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const writing = batchWriters(key, 'burst', acked, {
      writers: 6,
      size: 500,
      stop,
      // Killed from inside the 40th acknowledgement's handler: the batches
      // acknowledged just before are the ones most likely to be only in memory.
      onAck: () => {
        if (++acks === 40) killed = server.kill('SIGKILL');
      },
    });
    const deadline = Date.now() + 40_000;
    while (!killed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(killed).toBeDefined();
    await killed;
    stop.done = true;
    await Promise.all([writing, probing]);
    expect(acked.size).toBeGreaterThanOrEqual(40 * 500);
    probes.sort((a, b) => a - b);
    // Enough probes for a median and a p90; how many depends on how fast the batches go.
    expect(probes.length).toBeGreaterThanOrEqual(10);
    process.stdout.write(
      `healthz during 500-event batches: ${probes.length} probes, median ${probes[probes.length >> 1]} ms, ` +
        `p90 ${probes[Math.floor(probes.length * 0.9)]} ms\n`,
    );
    await server.start();
    expectStored('burst', acked);
  }, 90_000);

  it('drains on SIGTERM: every acknowledged batch is stored, the process stops cleanly, and restarts', async () => {
    if (!server.process) await server.start();
    const key = server.keys!.write_key;
    const acked = new Map<string, Record<string, unknown>>();
    const stop = { done: false };
    const writing = batchWriters(key, 'drain', acked, { writers: 6, size: 200, stop });
    while (acked.size < 20 * 200) await new Promise((r) => setTimeout(r, 20));
    const child = server.process!;
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    child.kill('SIGTERM');
    // Nest re-raises the signal once its shutdown hooks (queue drain, writer thread, stores) are done.
    const { code, signal } = await exited;
    expect(code === 0 || signal === 'SIGTERM').toBe(true);
    expect(server.output).not.toMatch(/InternalServerError|unhandled error|writer thread exited/);
    stop.done = true;
    await writing;
    server.process = null;
    await server.start();
    expectStored('drain', acked);
  }, 90_000);
});

import { DEFAULT_RETRY, IngestJobProcessor } from '@app/core';
import { CollectionEvent, EventBatch, StoredEvent } from '@app/events';
import { schemaDeltas } from '@app/schema';
import {
  MongoConnection,
  MongoEventStore,
  MongoMetadataStore,
  MongoDeadLetterStore,
} from '@app/storage/mongo';
import { mongoEventPersister, startTestMongo, TestMongo } from '@app/storage/mongo/testing';
import { Worker } from 'bullmq';
import { INGEST_QUEUE_NAME, IngestBatchPayload } from '../ingest-job.types';
import { ShardedBullQueue } from './sharded-bull.queue';
import { startTestRedis, TestRedis } from './testing/test-redis';
import { IngestWorker } from './ingest.worker';

jest.setTimeout(120_000);

let seq = 0;
function batch(projectId: string, n: number): EventBatch {
  const batchId = `m${process.pid}-${seq++}`;
  const events: CollectionEvent[] = Array.from({ length: n }, (_, i) => {
    const ts = Date.UTC(2024, 2, 10, 7, 0, 0) + seq * 100 + i;
    const id = `${batchId}-${i}`;
    return {
      id,
      collection: i % 2 ? 'clicks' : 'views',
      timestamp: ts,
      event: {
        user: { id: i, tier: i % 3 ? 'free' : 'pro' },
        amount: i * 2.5,
        tags: [i],
        keen: { id, timestamp: new Date(ts).toISOString() },
      },
    };
  });
  return { batchId, projectId, events };
}

async function readAll(
  store: MongoEventStore,
  projectId: string,
): Promise<Map<string, StoredEvent>> {
  const out = new Map<string, StoredEvent>();
  for (const collection of ['views', 'clicks'])
    for await (const page of store.scan({ projectId, collection }))
      for (const e of page) out.set(e.id, e);
  return out;
}

async function waitFor(
  check: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const recount = (events: CollectionEvent[]) =>
  new Map(schemaDeltas(events).map((d) => [`${d.collection}|${d.path}|${d.type}`, d.delta]));

describe('IngestWorker on MongoDB: a worker killed between insert and counters', () => {
  let redis: TestRedis;
  let mongo: TestMongo;
  let connection: MongoConnection;
  let events: MongoEventStore;
  let metadata: MongoMetadataStore;

  beforeAll(async () => {
    [redis, mongo] = await Promise.all([startTestRedis(), startTestMongo()]);
    connection = new MongoConnection({ url: mongo.url, database: 'worker' });
    events = new MongoEventStore({ connection });
    metadata = new MongoMetadataStore({ connection });
    await events.init();
    await metadata.init();
  });
  afterAll(async () => {
    await connection?.close();
    await Promise.all([redis?.stop(), mongo?.stop()]);
  });

  it('the redelivered job stores every event once, field for field, and counters equal a recount', async () => {
    const shards = [{ host: '127.0.0.1', port: redis.port }];
    const deadLetters = new MongoDeadLetterStore({ connection });
    let inserted!: () => void;
    const insertedOnce = new Promise<void>((r) => (inserted = r));
    // Worker 1 inserts under its marker, then "dies" before counting.
    const dying = {
      persist: async (projectId: string, evs: CollectionEvent[]) => {
        await metadata.registerMarker(
          projectId,
          [...new Set(evs.map((e) => e.collection))],
          'killed.1',
        );
        await events.insertMarked(projectId, evs, 'killed.1');
        inserted();
        return new Promise<never>(() => undefined);
      },
    };
    const timing = { lockDurationMs: 1000, stalledIntervalMs: 500, closeGraceMs: 1000 };
    // A BullMQ worker that never renews its lock: from the queue's point of view
    // exactly a worker process that was SIGKILLed mid-job.
    const worker1 = new Worker<IngestBatchPayload>(
      INGEST_QUEUE_NAME,
      async (job) => {
        for (const g of job.data.projects) await dying.persist(g.projectId, g.events);
      },
      {
        connection: { host: '127.0.0.1', port: redis.port },
        lockDuration: 1000,
        stalledInterval: 500,
        skipLockRenewal: true,
        autorun: true,
      },
    );
    const queue = new ShardedBullQueue({ shards });
    const x = batch('p', 12);
    await queue.enqueue(x);
    await insertedOnce;
    void worker1.close(true).catch(() => undefined);
    const t0 = Date.now();
    expect((await readAll(events, 'p')).size).toBe(12);
    expect(await metadata.getSchema('p')).toEqual([]);

    const worker2 = new IngestWorker({
      shards,
      handler: new IngestJobProcessor(
        mongoEventPersister({ events, metadata, takeoverAfterMs: 1500 }),
        deadLetters,
        { ...DEFAULT_RETRY, initialDelayMs: 100, maxDelayMs: 300 },
        (e) => e.kind === 'retry' && process.stderr.write(`worker 2: ${JSON.stringify(e)}\n`),
      ),
      ...timing,
    });
    worker2.start();
    const more = batch('p', 6);
    await queue.enqueue(more);
    const sent = [...x.events, ...more.events];
    await waitFor(
      async () => {
        const schema = await metadata.getSchema('p');
        const actual = new Map(schema.map((c) => [`${c.collection}|${c.path}|${c.type}`, c.count]));
        return JSON.stringify([...actual].sort()) === JSON.stringify([...recount(sent)].sort());
      },
      30_000,
      'counters to match a recount',
    );
    console.log(
      `killed job redelivered and its counters settled ${Date.now() - t0} ms after the kill`,
    );
    const stored = await readAll(events, 'p');
    expect(stored.size).toBe(sent.length);
    for (const e of sent)
      expect(stored.get(e.id)).toEqual({ id: e.id, timestamp: e.timestamp, event: e.event });
    await new Promise((r) => setTimeout(r, 1000)); // nothing more gets counted later
    const schema = await metadata.getSchema('p');
    expect(new Map(schema.map((c) => [`${c.collection}|${c.path}|${c.type}`, c.count]))).toEqual(
      recount(sent),
    );
    // Every event keeps the marker of the delivery that inserted it; none is left pending.
    const carried = await events.markersOf(
      'p',
      sent.map((e) => e.id),
    );
    expect([...carried.values()].flat().sort()).toEqual(sent.map((e) => e.id).sort());
    for (const collection of new Set(sent.map((e) => e.collection)))
      expect(await metadata.markersPendingOn('p', collection)).toEqual(new Set());
    await queue.close();
    await worker2.close();
  });
});

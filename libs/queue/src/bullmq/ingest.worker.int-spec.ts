import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { CollectionEvent, EventBatch, StoredEvent } from '@app/events';
import { schemaDeltas } from '@app/schema';
import { EventStore, MetadataStore } from '@app/storage';
import { IngestJobProcessor, UnitOfWorkEventPersister } from '@app/core';
import {
  SqliteDatabase,
  SqliteEventStore,
  SqliteMetadataStore,
  SqliteUnitOfWork,
} from '@app/storage/sqlite';
import { InMemoryDeadLetterStore } from '@app/storage/memory';
import { INGEST_BATCH_JOB, INGEST_QUEUE_NAME } from '../ingest-job.types';
import { ShardedBullQueue } from './sharded-bull.queue';
import { jobIdFor, mergeBatches } from './group-commit';
import { startTestRedis, TestRedis } from './testing/test-redis';
import { IngestWorker } from './ingest.worker';

jest.setTimeout(90_000);

const COLLECTIONS = ['views', 'clicks'];
let seq = 0;
function batch(projectId: string, n: number): EventBatch {
  const batchId = `w${process.pid}-${seq++}`;
  const events: CollectionEvent[] = Array.from({ length: n }, (_, i) => {
    const ts = Date.UTC(2024, 2, 10, 7, 0, 0) + seq * 100 + i;
    const id = `${batchId}-${i}`;
    const created = new Date(ts + 5).toISOString();
    return {
      id,
      collection: COLLECTIONS[i % 2],
      timestamp: ts,
      event: {
        user: { id: i, name: `u${i}`, vip: i % 3 === 0 },
        price: i % 4 === 0 ? null : i * 1.5,
        tags: ['a', String(i)],
        at: new Date(ts).toISOString(),
        keen: { id, timestamp: new Date(ts).toISOString(), created_at: created },
      },
    };
  });
  return { batchId, projectId, events };
}

async function readAll(store: EventStore, projectId: string): Promise<Map<string, StoredEvent>> {
  const out = new Map<string, StoredEvent>();
  for (const collection of COLLECTIONS) {
    for await (const page of store.scan({ projectId, collection }))
      for (const e of page) out.set(e.id, e);
  }
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
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Stored events equal the sent ones field for field, and the counters equal a recount of them. */
async function expectExactly(
  store: EventStore,
  metadata: MetadataStore,
  projectId: string,
  sent: CollectionEvent[],
) {
  const stored = await readAll(store, projectId);
  expect(stored.size).toBe(sent.length);
  for (const e of sent)
    expect(stored.get(e.id)).toEqual({ id: e.id, timestamp: e.timestamp, event: e.event });
  const expected = schemaDeltas(sent).map((d) => ({
    collection: d.collection,
    path: d.path,
    type: d.type,
    count: d.delta,
  }));
  const key = (c: { collection: string; path: string; type: string }) =>
    `${c.collection}|${c.path}|${c.type}`;
  const actual = await metadata.getSchema(projectId);
  expect(new Map(actual.map((c) => [key(c), c.count]))).toEqual(
    new Map(expected.map((c) => [key(c), c.count])),
  );
}

describe('IngestWorker: queue → worker → store on real Redis shards', () => {
  let a: TestRedis;
  let b: TestRedis;
  let dir: string;
  let db: SqliteDatabase;
  let events: SqliteEventStore;
  let metadata: SqliteMetadataStore;
  let queue: ShardedBullQueue;
  let worker: IngestWorker;

  beforeEach(async () => {
    [a, b] = await Promise.all([startTestRedis(), startTestRedis()]);
    dir = mkdtempSync(join(tmpdir(), 'tally-worker-'));
    db = new SqliteDatabase(join(dir, 'tally.db'));
    events = new SqliteEventStore(db);
    metadata = new SqliteMetadataStore(db);
    const shards = [a, b].map((r) => ({ host: '127.0.0.1', port: r.port }));
    queue = new ShardedBullQueue({ shards, breakerCoolDownMs: 1000 });
    worker = new IngestWorker({
      shards,
      handler: new IngestJobProcessor(
        new UnitOfWorkEventPersister(events, metadata, new SqliteUnitOfWork(db)),
        new InMemoryDeadLetterStore(),
      ),
      concurrency: 4,
      closeGraceMs: 3000,
      commandTimeoutMs: 8000,
    });
    worker.start();
  });

  afterEach(async () => {
    a.resume();
    b.resume();
    await queue.close();
    await worker.close();
    await Promise.all([a.stop(), b.stop()]);
    db.writer.close();
    db.reader.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores every enqueued event field for field, with counters equal to a recount', async () => {
    const batches = Array.from({ length: 40 }, (_, i) => batch(i % 3 ? 'p1' : 'p2', 1 + (i % 7)));
    await Promise.all(batches.map((x) => queue.enqueue(x)));
    const sent = (p: string) => batches.filter((x) => x.projectId === p).flatMap((x) => x.events);
    await waitFor(
      async () =>
        (await readAll(events, 'p1')).size === sent('p1').length &&
        (await readAll(events, 'p2')).size === sent('p2').length,
      20_000,
      'all events stored',
    );
    await expectExactly(events, metadata, 'p1', sent('p1'));
    await expectExactly(events, metadata, 'p2', sent('p2'));
  });

  it('a job delivered on both shards (timeout on one, retry on the other) is stored and counted once', async () => {
    const x = batch('p1', 9);
    const payload = mergeBatches([x]);
    for (const r of [a, b]) {
      const q = new Queue(INGEST_QUEUE_NAME, { connection: { host: '127.0.0.1', port: r.port } });
      await q.add(INGEST_BATCH_JOB, payload, { jobId: jobIdFor(payload.batchId) });
      await q.close();
    }
    // Enqueued again through the producer: on whichever shard, the same job id.
    await queue.enqueue(x);
    await waitFor(async () => (await readAll(events, 'p1')).size === 9, 20_000, 'events stored');
    await new Promise((r) => setTimeout(r, 500)); // let the duplicate deliveries run
    await expectExactly(events, metadata, 'p1', x.events);
  });

  it('SIGSTOP of one shard: the healthy shard keeps being consumed; after SIGCONT every resolved enqueue is stored exactly once', async () => {
    const resolved: EventBatch[] = [];
    const durations: number[] = [];
    const send = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const x = batch('p1', 3);
        const t0 = Date.now();
        await queue.enqueue(x);
        durations.push(Date.now() - t0);
        resolved.push(x);
      }
    };
    await send(10);
    a.pause();
    await Promise.all([send(30), send(30)]);
    // Consumption of shard B goes on while A is hung: everything sent after A
    // was marked down is stored before A comes back.
    const afterPause = resolved.slice(12).flatMap((x) => x.events.map((e) => e.id));
    await waitFor(
      async () => {
        const stored = await readAll(events, 'p1');
        return afterPause.every((id) => stored.has(id));
      },
      20_000,
      'events sent through the healthy shard',
    );
    a.resume();
    await send(10);
    const sent = resolved.flatMap((x) => x.events);
    await waitFor(
      async () => (await readAll(events, 'p1')).size === sent.length,
      30_000,
      'all events stored',
    );
    await new Promise((r) => setTimeout(r, 500));
    await expectExactly(events, metadata, 'p1', sent);
    expect(Math.max(...durations)).toBeLessThan(1200);
  });
});

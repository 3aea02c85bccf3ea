import { CoalescingPersister } from '@app/core';
import { CollectionEvent, JsonObject, StoredEvent } from '@app/events';
import { schemaDeltas } from '@app/schema';
import { PersistOutcome } from '../ports/event-persister.port';
import { RejectedEventsError } from '../ports/rejected-events.error';
import { MongoEventStore } from './mongo-event.store';
import { MongoMetadataStore } from './mongo-metadata.store';
import { mongoEventPersister } from './testing/mongo-persister';
import { startTestMongo, TestMongo } from './testing/test-mongo';

jest.setTimeout(120_000);

/**
 * The worker's batching across jobs on a real MongoDB-wire server: jobs
 * written at once through CoalescingPersister over the worker's persister
 * store every event once, count exactly what they stored (counters equal a
 * recount of the store, every job's outcome adding up to it), leave no write
 * marker behind, and take fewer writes than jobs. A refused event fails only
 * its own job.
 */

const T0 = Date.UTC(2024, 5, 1);

function ev(id: string, collection: string, body: JsonObject = {}): CollectionEvent {
  const timestamp = T0 + Number(id.replace(/\D/g, '') || 0) * 1000;
  return {
    id,
    collection,
    timestamp,
    event: {
      n: timestamp % 7,
      tag: `t${timestamp % 3}`,
      ...body,
      keen: { id, timestamp: new Date(timestamp).toISOString() },
    },
  };
}

const sorted = <T extends { collection: string; path: string; type: string }>(list: T[]) =>
  [...list].sort((a, b) =>
    `${a.collection}\0${a.path}\0${a.type}`.localeCompare(`${b.collection}\0${b.path}\0${b.type}`),
  );

describe('batching across jobs (CoalescingPersister over the MongoDB persister)', () => {
  let server: TestMongo;
  let events: MongoEventStore;
  let metadata: MongoMetadataStore;
  let writes = 0;
  let persister: CoalescingPersister;

  beforeAll(async () => {
    server = await startTestMongo();
    events = new MongoEventStore({ url: server.url, database: 'coalesced' });
    metadata = new MongoMetadataStore({ url: server.url, database: 'coalesced' });
    await Promise.all([events.init(), metadata.init()]);
    const inner = mongoEventPersister({ events, metadata });
    // Counts the protocol runs (each is one marker, one insert, one counter update per collection).
    const counted = {
      persist: (p: string, b: CollectionEvent[]) => {
        writes++;
        return inner.persist(p, b);
      },
      persistEach: (p: string, b: CollectionEvent[][]) => {
        writes++;
        return inner.persistEach(p, b);
      },
    };
    persister = new CoalescingPersister(counted, { maxEvents: 400 });
  });
  afterAll(async () => {
    await events?.close();
    await metadata?.close();
    await server?.stop();
  });

  async function storedOf(projectId: string, collections: string[]): Promise<StoredEvent[]> {
    const out: StoredEvent[] = [];
    for (const collection of collections) {
      for await (const page of events.scan({ projectId, collection })) out.push(...page);
    }
    return out;
  }

  it('40 jobs at once: every event stored once, outcomes add up, counters equal a recount, fewer writes than jobs', async () => {
    // Jobs of 25 events over two collections; every fifth job repeats the one
    // before it (a redelivery), and neighbours share five ids (a client retry).
    const jobs: CollectionEvent[][] = [];
    for (let j = 0; j < 40; j++) {
      if (j % 5 === 4) {
        jobs.push(jobs[j - 1]);
        continue;
      }
      const job: CollectionEvent[] = [];
      for (let i = 0; i < 25; i++) job.push(ev(`e${j * 20 + i}`, i % 2 === 0 ? 'clicks' : 'views'));
      jobs.push(job);
    }
    writes = 0;
    const outcomes: PersistOutcome[] = await Promise.all(
      jobs.map((job) => persister.persist('p', job)),
    );

    const unique = new Map(jobs.flat().map((e) => [e.id, e]));
    const stored = await storedOf('p', ['clicks', 'views']);
    expect(stored.map((e) => e.id).sort()).toEqual([...unique.keys()].sort());
    for (const e of stored) expect(e.event).toEqual(unique.get(e.id)!.event);

    expect(outcomes.reduce((n, o) => n + o.inserted, 0)).toBe(unique.size);
    outcomes.forEach((o, j) =>
      expect(o.inserted + o.duplicates).toBe(new Set(jobs[j].map((e) => e.id)).size),
    );

    const recount = schemaDeltas([...unique.values()]).map((d) => ({
      collection: d.collection,
      path: d.path,
      type: d.type,
      count: d.delta,
    }));
    expect(sorted(await metadata.getSchema('p'))).toEqual(sorted(recount));
    // Every event carries the marker of the write that inserted it, and no marker is left pending.
    const carried = await events.markersOf('p', [...unique.keys()]);
    expect([...carried.values()].reduce((n, ids) => n + ids.length, 0)).toBe(unique.size);
    expect(carried.size).toBeLessThanOrEqual(writes); // a write of duplicates only inserts nothing
    for (const collection of new Set([...unique.values()].map((e) => e.collection)))
      expect(await metadata.markersPendingOn('p', collection)).toEqual(new Set());
    console.log(`40 jobs stored in ${writes} writes`);
    expect(writes).toBeLessThan(40);
  });

  it('a refused event fails only its own job; the others of the same combined write are stored and counted', async () => {
    const big = 'x'.repeat(17 * 1024 * 1024);
    // One write at a time: the first job goes alone, the four after it are combined.
    const one = new CoalescingPersister(mongoEventPersister({ events, metadata }), {
      maxEvents: 400,
      maxInFlight: 1,
    });
    const jobs = [
      [ev('r0', 'c')],
      [ev('r1', 'c'), ev('r2', 'c')],
      [ev('r3', 'c'), ev('r4', 'c', { huge: big })],
      [ev('r5', 'c')],
      [ev('r6', 'c'), ev('r7', 'c')],
    ];
    const results = await Promise.all(
      jobs.map((job) =>
        one.persist('q', job).then(
          (o) => o,
          (e: unknown) => e,
        ),
      ),
    );
    const refused = results.filter(
      (r) => r instanceof RejectedEventsError,
    ) as RejectedEventsError[];
    expect(refused).toHaveLength(1);
    expect(refused[0].rejected.map((r) => r.id)).toEqual(['r4']);
    expect(refused[0].persisted).toEqual({ inserted: 1, duplicates: 0 });
    const stored = await storedOf('q', ['c']);
    expect(stored.map((e) => e.id).sort()).toEqual(['r0', 'r1', 'r2', 'r3', 'r5', 'r6', 'r7']);
    const counters = await metadata.getSchema('q');
    expect(counters.find((c) => c.path === 'n')?.count).toBe(7);
    expect(counters.some((c) => c.path === 'huge')).toBe(false);
  });
});

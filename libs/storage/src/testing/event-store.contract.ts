import { CollectionEvent, JsonObject, StoredEvent } from '@app/events';
import { EventSource, ScanRequest } from '@app/query-engine';
import { assertEngineMatchesReference } from '@app/query-engine/testing';
import { EventStore } from '../ports/event-store.port';

export interface ContractSubject {
  store: EventStore;
  /** Releases whatever the factory opened. */
  close(): Promise<void>;
}

let counter = 0;
const uniqueProject = (tag: string) => `contract-${tag}-${process.pid}-${Date.now()}-${counter++}`;

/**
 * keen.ids are unique across projects (the project is in their keyed hash), and
 * a store may rely on it (MongoDB's `_id` is the keen.id). So each test's
 * events get ids of their own: 8 hex of a per-suite sequence + 16 fixed hex.
 */
let idSequence = Math.floor(Math.random() * 0xffff) << 12;
const freshPrefix = () => (idSequence++).toString(16).padStart(8, '0');

function event(collection: string, id: string, iso: string, body: JsonObject): CollectionEvent {
  const timestamp = Date.parse(iso);
  return {
    collection,
    id,
    timestamp,
    event: {
      ...body,
      keen: {
        id,
        timestamp: new Date(timestamp).toISOString(),
        created_at: '2024-06-01T00:00:00.000Z',
      },
    },
  };
}

async function scanAll(store: EventStore, request: ScanRequest): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  for await (const page of store.scan(request)) out.push(...page);
  return out;
}

function namespaced(store: EventStore, prefix: string): EventSource {
  return {
    async *scan(request: ScanRequest, signal?: AbortSignal) {
      const scoped = request.ids
        ? { ...request, ids: request.ids.map((id) => prefix + id) }
        : request;
      for await (const page of store.scan(scoped, signal)) {
        yield page.map((e) => ({ ...e, id: e.id.slice(prefix.length) }));
      }
    },
  };
}

const strip = (e: CollectionEvent): StoredEvent => ({
  id: e.id,
  timestamp: e.timestamp,
  event: e.event,
});

/**
 * The one suite every EventStore driver must pass against its real server:
 * the same events in, the same contents out, the same answers to the same
 * queries. Each driver's integration spec calls this with its own factory.
 */
export function describeEventStoreContract(
  driver: string,
  open: () => Promise<ContractSubject>,
): void {
  describe(`EventStore contract: ${driver}`, () => {
    let subject: ContractSubject;
    let store: EventStore;

    beforeAll(async () => {
      subject = await open();
      store = subject.store;
    }, 120_000);

    afterAll(async () => {
      await subject?.close();
    });

    let sample: CollectionEvent[] = [];
    beforeEach(() => {
      const p = freshPrefix();
      sample = [
        event('orders', `${p}0000000000000001`, '2024-03-01T00:00:00.000Z', {
          price: 1,
          user: { id: 'u1', tags: ['x'] },
        }),
        event('orders', `${p}0000000000000002`, '2024-03-01T12:00:00.000Z', {
          price: 2.5,
          user: { id: 'u2' },
          n: null,
        }),
        event('orders', `${p}0000000000000003`, '2024-03-02T00:00:00.000Z', {
          price: 3,
          deep: { a: { b: { c: [1, { d: true }] } } },
        }),
        event('visits', `${p}0000000000000004`, '2024-03-01T06:00:00.000Z', { page: '/' }),
      ];
    });

    it('stores events and returns them field for field, in time order, per collection', async () => {
      const project = uniqueProject('roundtrip');
      const outcome = await store.insert(project, [sample[2], sample[0], sample[3], sample[1]]);
      expect(outcome.inserted.map((e) => e.id).sort()).toEqual(sample.map((e) => e.id).sort());
      expect(outcome.duplicates).toEqual([]);
      const orders = await scanAll(store, { projectId: project, collection: 'orders' });
      expect(orders).toEqual(sample.slice(0, 3).map(strip));
      expect(await scanAll(store, { projectId: project, collection: 'visits' })).toEqual([
        strip(sample[3]),
      ]);
      expect(await store.countCollection(project, 'orders')).toBe(3);
    });

    it('stores a redelivered batch once and reports the ids already present', async () => {
      const project = uniqueProject('redeliver');
      await store.insert(project, sample.slice(0, 2));
      const again = await store.insert(project, sample.slice(0, 3));
      expect(again.inserted.map((e) => e.id)).toEqual([sample[2].id]);
      expect(again.duplicates.sort()).toEqual([sample[0].id, sample[1].id]);
      expect(await scanAll(store, { projectId: project, collection: 'orders' })).toEqual(
        sample.slice(0, 3).map(strip),
      );
      const replay = await store.insert(project, sample.slice(0, 3));
      expect(replay.inserted).toEqual([]);
      expect(await store.countCollection(project, 'orders')).toBe(3);
    });

    it('returns nothing for an empty or unknown collection and keeps projects apart', async () => {
      const project = uniqueProject('empty');
      const other = uniqueProject('other');
      await store.insert(other, sample);
      // Same collection names, other project: invisible here.
      expect(await scanAll(store, { projectId: project, collection: 'orders' })).toEqual([]);
      expect(
        await scanAll(store, { projectId: project, collection: 'orders', ids: [sample[0].id] }),
      ).toEqual([]);
      expect(await store.countCollection(project, 'orders')).toBe(0);
    });

    it('honours timeframe edges: start inclusive, end exclusive', async () => {
      const project = uniqueProject('edges');
      await store.insert(project, sample);
      const start = Date.parse('2024-03-01T12:00:00.000Z');
      const end = Date.parse('2024-03-02T00:00:00.000Z');
      const inRange = await scanAll(store, {
        projectId: project,
        collection: 'orders',
        start,
        end,
      });
      expect(inRange.map((e) => e.id)).toEqual([sample[1].id]);
      const openEnd = await scanAll(store, { projectId: project, collection: 'orders', start });
      expect(openEnd.map((e) => e.id)).toEqual([sample[1].id, sample[2].id]);
    });

    it('looks events up by id, within the timeframe', async () => {
      const project = uniqueProject('ids');
      await store.insert(project, sample);
      const found = await scanAll(store, {
        projectId: project,
        collection: 'orders',
        ids: [sample[2].id, sample[0].id, 'ffffffffffffffffffffffff', sample[3].id],
      });
      expect(found.map((e) => e.id).sort()).toEqual([sample[0].id, sample[2].id]);
      const bounded = await scanAll(store, {
        projectId: project,
        collection: 'orders',
        ids: [sample[0].id, sample[2].id],
        start: Date.parse('2024-03-01T01:00:00.000Z'),
      });
      expect(bounded.map((e) => e.id)).toEqual([sample[2].id]);
      // In scan order, newest first, with a limit.
      const newest = await scanAll(store, {
        projectId: project,
        collection: 'orders',
        ids: [sample[0].id, sample[2].id, sample[1].id, sample[0].id],
        order: 'desc',
        limit: 2,
      });
      expect(newest.map((e) => e.id)).toEqual([sample[2].id, sample[1].id]);
      // Another project holds none of these.
      expect(
        await scanAll(store, {
          projectId: uniqueProject('ids-other'),
          collection: 'orders',
          ids: [sample[0].id],
        }),
      ).toEqual([]);
    });

    it('reads newest first with a limit', async () => {
      const project = uniqueProject('latest');
      await store.insert(project, sample);
      const latest = await scanAll(store, {
        projectId: project,
        collection: 'orders',
        order: 'desc',
        limit: 2,
      });
      expect(latest.map((e) => e.id)).toEqual([sample[2].id, sample[1].id]);
    });

    it('deletes by id and drops collections, returning what was removed', async () => {
      const project = uniqueProject('delete');
      await store.insert(project, sample);
      const deleted = await store.deleteByIds(project, 'orders', [
        sample[1].id,
        'ffffffffffffffffffffffff',
      ]);
      expect(deleted).toEqual([sample[1]]);
      expect(
        (await scanAll(store, { projectId: project, collection: 'orders' })).map((e) => e.id),
      ).toEqual([sample[0].id, sample[2].id]);
      // Deleting an id of another collection touches nothing.
      expect(await store.deleteByIds(project, 'orders', [sample[3].id])).toEqual([]);
      expect(await store.dropCollection(project, 'orders')).toBe(2);
      expect(await store.countCollection(project, 'orders')).toBe(0);
      expect(await store.countCollection(project, 'visits')).toBe(1);
    });

    it('pages through more events than one page holds, without loss or repeats', async () => {
      const project = uniqueProject('paging');
      const p = freshPrefix();
      const many = Array.from({ length: 5000 }, (_, i) =>
        event(
          'bulk',
          `${p}${i.toString(16).padStart(16, '0')}`,
          new Date(Date.UTC(2024, 0, 1) + Math.floor(i / 3) * 1000).toISOString(),
          { i },
        ),
      );
      await store.insert(project, many);
      const all = await scanAll(store, { projectId: project, collection: 'bulk' });
      expect(all).toHaveLength(5000);
      expect(new Set(all.map((e) => e.id)).size).toBe(5000);
      expect(all.map((e) => e.event.i)).toEqual(many.map((e) => e.event.i));
    }, 60_000);

    it('answers generated queries exactly like the reference evaluator', async () => {
      await assertEngineMatchesReference(
        async (projectId, events) => {
          // Generated ids repeat across runs (each run is its own project), so
          // each run's ids are stored under a prefix of their own and read back
          // without it; the store still does all the work.
          const prefix = freshPrefix();
          await store.insert(
            projectId,
            events.map(({ collection, stored }) => ({
              collection,
              ...stored,
              id: prefix + stored.id,
            })),
          );
          return namespaced(store, prefix);
        },
        { numRuns: Number(process.env.FC_STORE_RUNS ?? 80), projectId: uniqueProject('prop') },
      );
    }, 300_000);
  });
}

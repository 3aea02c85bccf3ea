import { CollectionEvent, StoredEvent, TallyError } from '@app/events';
import { schemaDeltas } from '@app/schema';
import { MongoConnection } from './mongo-connection';
import { MongoEventStore } from './mongo-event.store';
import { MongoMarkedEventWriter } from './mongo-marked-event.writer';
import { MongoMetadataStore } from './mongo-metadata.store';
import { mongoEventPersister } from './testing/mongo-persister';
import { RejectedEventsError } from '../ports/rejected-events.error';
import { MongoDeadLetterStore } from './mongo-dead-letter.store';
import { requeueDeadLetters } from '@app/core';
import { startTestMongo, TestMongo } from './testing/test-mongo';

jest.setTimeout(120_000);

const T0 = Date.UTC(2024, 2, 10, 7, 0, 0);
let seq = 0;
function ev(
  collection: string,
  offsetMs: number,
  body: Record<string, unknown> = {},
): CollectionEvent {
  const id = `id-${process.pid}-${seq++}`;
  const ts = T0 + offsetMs;
  return {
    id,
    collection,
    timestamp: ts,
    event: {
      user: { id: seq, 'name with space': 'x', nested: { deep: [1, { a: 'b' }] } },
      price: seq * 1.25,
      count: seq,
      big: 2 ** 40 + seq,
      flag: seq % 2 === 0,
      nothing: null,
      ...body,
      keen: {
        id,
        timestamp: new Date(ts).toISOString(),
        created_at: new Date(ts + 1).toISOString(),
      },
    } as CollectionEvent['event'],
  };
}
const stored = (e: CollectionEvent): StoredEvent => ({
  id: e.id,
  timestamp: e.timestamp,
  event: e.event,
});

async function all(
  source: MongoEventStore,
  request: Parameters<MongoEventStore['scan']>[0],
): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  for await (const page of source.scan(request)) out.push(...page);
  return out;
}

function recount(events: CollectionEvent[]) {
  return schemaDeltas(events)
    .map((d) => ({ collection: d.collection, path: d.path, type: d.type, count: d.delta }))
    .sort(
      (a, b) =>
        a.collection.localeCompare(b.collection) ||
        a.path.localeCompare(b.path) ||
        a.type.localeCompare(b.type),
    );
}

describe('Mongo stores against the MongoDB-wire server', () => {
  let server: TestMongo;
  let connection: MongoConnection;
  let events: MongoEventStore;
  let metadata: MongoMetadataStore;
  let db = 0;

  beforeAll(async () => {
    server = await startTestMongo();
  });
  afterAll(async () => server?.stop());
  beforeEach(async () => {
    connection = new MongoConnection({ url: server.url, database: `t${db++}` });
    events = new MongoEventStore({ connection, pageSize: 7 });
    metadata = new MongoMetadataStore({ connection });
    await events.init();
    await metadata.init();
  });
  afterEach(async () => connection.close());

  describe('MongoEventStore', () => {
    it('inserts idempotently: duplicates (across and within calls) are reported, not stored twice; bodies round-trip exactly', async () => {
      const batch = [ev('c', 1), ev('c', 2), ev('d', 3)];
      const first = await events.insert('p', batch);
      expect(first.inserted).toEqual(batch);
      expect(first.duplicates).toEqual([]);
      const extra = ev('c', 4);
      const second = await events.insert('p', [batch[1], extra, batch[0], extra]);
      expect(second.inserted).toEqual([extra]);
      expect(second.duplicates.sort()).toEqual([batch[0].id, batch[1].id].sort());
      expect(await all(events, { projectId: 'p', collection: 'c' })).toEqual(
        [batch[0], batch[1], extra].map(stored),
      );
      expect(await events.countCollection('p', 'c')).toBe(3);
    });

    it('looks events up by id within their project only, and keeps each event\'s marker', async () => {
      const mine = [ev('c', 1), ev('c', 2), ev('d', 3)];
      const theirs = [ev('c', 4), ev('c', 5)];
      const elsewhere = ev('c', 6);
      await events.insertMarked('p', mine, 'm1');
      await events.insertMarked('p', theirs, 'm2');
      await events.insertMarked('other', [elsewhere], 'm3');
      // A duplicate keeps the marker of the delivery that inserted it.
      await events.insertMarked('p', [mine[0], theirs[0]], 'm4');
      const ids = [...mine, ...theirs, elsewhere].map((e) => e.id);

      expect(await events.missingIds('p', [...ids, 'absent'])).toEqual([elsewhere.id, 'absent']);
      const carried = new Map([
        ['m1', mine.map((e) => e.id)],
        ['m2', theirs.map((e) => e.id)],
      ]);
      expect(await events.markersOf('p', ids)).toEqual(carried);
      expect(await events.markersOf('other', ids)).toEqual(new Map([['m3', [elsewhere.id]]]));
      expect((await events.findByMarker('p', 'm1')).map((e) => e.id).sort()).toEqual(
        mine.map((e) => e.id).sort(),
      );
      expect(await events.findByMarker('p', 'm3')).toEqual([]);
      expect(await events.findByMarker('p', 'm4')).toEqual([]);
      // Applying a marker's counters leaves it on its events.
      await new MongoMarkedEventWriter(events).clearMarker('p', 'm1', carried.get('m1'));
      expect(await events.markersOf('p', ids)).toEqual(carried);
      // A point delete names events of its own project and collection only.
      expect(
        (await events.deleteByIds('p', 'c', [mine[0].id, mine[2].id, elsewhere.id])).map(
          (e) => e.id,
        ),
      ).toEqual([mine[0].id]);
      expect(await events.missingIds('p', ids)).toEqual([mine[0].id, elsewhere.id]);
      expect(await events.missingIds('other', [elsewhere.id])).toEqual([]);
    });

    it('replaces a body only under the marker the delete found settled', async () => {
      const [legacy, settled, again] = [ev('c', 1), ev('c', 2), ev('c', 3)];
      await events.insert('p', [legacy]); // written before markers stayed: none
      await events.insertMarked('p', [settled], 'applied.1');
      // Deleted and inserted again by a later delivery, whose counters are not applied.
      await events.insertMarked('p', [again], 'applied.1');
      await events.deleteByIds('p', 'c', [again.id]);
      await events.insertMarked('p', [again], 'pending.2');
      const body = (e: CollectionEvent) => ({ ...e.event, rewritten: true });
      const replaced = await events.replaceBodies('p', 'c', [
        { id: legacy.id, expected: legacy.event, body: body(legacy) },
        { id: settled.id, expected: settled.event, body: body(settled), marker: 'applied.1' },
        { id: again.id, expected: again.event, body: body(again), marker: 'applied.1' },
      ]);
      expect(replaced.sort()).toEqual([legacy.id, settled.id].sort());
      // A marker given for an event that carries none is not a match either.
      expect(
        await events.replaceBodies('p', 'c', [
          { id: legacy.id, expected: body(legacy), body: legacy.event, marker: 'applied.1' },
        ]),
      ).toEqual([]);
      expect((await all(events, { projectId: 'p', collection: 'c' })).map((e) => e.event)).toEqual([
        body(legacy),
        body(settled),
        again.event,
      ]);
    });

    it('rejects events over the document limit as poison and stores the rest', async () => {
      const ok = ev('c', 1);
      const huge = ev('c', 2, { blob: 'x'.repeat(17 * 1024 * 1024) });
      const outcome = await events.insertMarked('p', [ok, huge]);
      expect(outcome.inserted).toEqual([ok]);
      expect(outcome.rejected.map((r) => r.id)).toEqual([huge.id]);
      expect(outcome.rejected[0].reason).toMatch(/16 MiB/);
      expect(await events.countCollection('p', 'c')).toBe(1);
    });

    it('scans by time range [start, end), ids, order and limit, scoped by project and collection, in pages', async () => {
      const batch = Array.from({ length: 20 }, (_, i) =>
        ev('c', i * 1000, { k: i % 3 === 0 ? 'x' : 'y' }),
      );
      await events.insert('p', batch);
      await events.insert('other', [ev('c', 5000)]);
      await events.insert('p', [ev('other-collection', 5000)]);

      const pages: number[] = [];
      for await (const page of events.scan({ projectId: 'p', collection: 'c' }))
        pages.push(page.length);
      expect(pages).toEqual([7, 7, 6]);

      expect(
        await all(events, { projectId: 'p', collection: 'c', start: T0 + 3000, end: T0 + 7000 }),
      ).toEqual(batch.slice(3, 7).map(stored));
      const ids = [batch[9].id, batch[2].id, 'missing'];
      expect(await all(events, { projectId: 'p', collection: 'c', ids })).toEqual(
        [batch[2], batch[9]].map(stored),
      );
      expect(await all(events, { projectId: 'other', collection: 'c', ids })).toEqual([]);
      expect(await all(events, { projectId: 'p', collection: 'c', ids: [] })).toEqual([]);
      expect(
        await all(events, { projectId: 'p', collection: 'c', order: 'desc', limit: 3 }),
      ).toEqual([batch[19], batch[18], batch[17]].map(stored));
      expect(
        await all(events, {
          projectId: 'p',
          collection: 'c',
          order: 'asc',
          limit: 2,
          start: T0 + 10_000,
        }),
      ).toEqual([batch[10], batch[11]].map(stored));
      // Pushed-down eq narrows candidates but never below the exact matches.
      const x = await all(events, {
        projectId: 'p',
        collection: 'c',
        filters: [{ property_name: 'k', operator: 'eq', property_value: 'x' }],
      });
      expect(x).toEqual(batch.filter((_, i) => i % 3 === 0).map(stored));
    });

    it('deletes by ids (returning what was deleted), drops and counts collections', async () => {
      const batch = [ev('c', 1), ev('c', 2), ev('c', 3)];
      await events.insert('p', batch);
      expect(await events.deleteByIds('other', 'c', [batch[0].id])).toEqual([]);
      expect(await events.deleteByIds('p', 'c', [batch[0].id, 'nope'])).toEqual([batch[0]]);
      expect(await events.countCollection('p', 'c')).toBe(2);
      expect(await events.dropCollection('p', 'c')).toBe(2);
      expect(await events.countCollection('p', 'c')).toBe(0);
    });
  });

  describe('MongoMetadataStore', () => {
    it('stores projects and hashed keys; a second create of the same project conflicts', async () => {
      const project = { id: 'p1', name: 'Shop', createdAt: '2024-03-10T07:00:00.000Z' };
      const keys = [
        { projectId: 'p1', keyHash: 'h-w', role: 'write' as const, createdAt: project.createdAt },
        { projectId: 'p1', keyHash: 'h-m', role: 'master' as const, createdAt: project.createdAt },
      ];
      await metadata.createProject(project, keys);
      expect(await metadata.getProject('p1')).toEqual(project);
      expect(await metadata.getProject('nope')).toBeNull();
      expect(await metadata.listProjects()).toEqual([project]);
      expect(
        (await metadata.listKeys()).sort((a, b) => a.keyHash.localeCompare(b.keyHash)),
      ).toEqual([...keys].sort((a, b) => a.keyHash.localeCompare(b.keyHash)));
      const again = await metadata.createProject(project, []).catch((e: unknown) => e);
      expect(again).toBeInstanceOf(TallyError);
      expect((again as TallyError).kind).toBe('conflict');
    });

    it('adds counter deltas (paths with dots, %, $ and spaces) and removes counters that reach 0', async () => {
      const batch = [ev('c', 1), ev('c', 2, { 'odd%2Ename': 1, we$ird: 'v' }), ev('d', 3)];
      await metadata.applySchemaDeltas('p', schemaDeltas(batch));
      expect(await metadata.getSchema('p')).toEqual(recount(batch));
      expect(await metadata.getSchema('p', 'd')).toEqual(recount([batch[2]]));
      await metadata.applySchemaDeltas('p', schemaDeltas([batch[1]], -1));
      expect(await metadata.getSchema('p')).toEqual(recount([batch[0], batch[2]]));
      expect((await metadata.getSchema('p')).some((c) => c.path === 'we$ird')).toBe(false);
      expect(await metadata.getSchema('other')).toEqual([]);
    });
  });

  describe('MongoEventPersister: counters stay exact under redelivery', () => {
    // Long enough that a loaded machine does not take a marker over before the spec means it to.
    const persister = (takeoverAfterMs = 1500) =>
      mongoEventPersister({ events, metadata, takeoverAfterMs });
    const batchOf = () => [ev('c', 1), ev('c', 2, { extra: 'x' }), ev('d', 3), ev('d', 4)];

    it('a delivery stores and counts; a redelivery adds nothing', async () => {
      const batch = batchOf();
      expect(await persister().persist('p', batch)).toEqual({ inserted: 4, duplicates: 0 });
      expect(await persister().persist('p', batch)).toEqual({ inserted: 0, duplicates: 4 });
      expect(await metadata.getSchema('p')).toEqual(recount(batch));
    });

    it('worker killed between the insert and the counters: the redelivery counts those events exactly once', async () => {
      const batch = batchOf();
      // The dead delivery: marker registered, events inserted under it, nothing counted.
      await metadata.registerMarker('p', ['c', 'd'], 'dead.1');
      await events.insertMarked('p', batch.slice(0, 3), 'dead.1');
      expect(await metadata.getSchema('p')).toEqual([]);

      // Redelivered at once: the dead delivery might still be running, so it waits.
      const early = await persister()
        .persist('p', batch)
        .catch((e: unknown) => e);
      expect((early as TallyError).errorCode).toBe('CountersPendingError');
      expect(await metadata.getSchema('p')).toEqual(recount([batch[3]]));

      await new Promise((r) => setTimeout(r, 1550));
      expect(await persister().persist('p', batch)).toEqual({ inserted: 0, duplicates: 4 });
      expect(await metadata.getSchema('p')).toEqual(recount(batch));
      expect(await persister().persist('p', batch)).toEqual({ inserted: 0, duplicates: 4 });
      expect(await metadata.getSchema('p')).toEqual(recount(batch));
      // Each event keeps the marker of the delivery that inserted it; none is pending.
      const carried = await events.markersOf(
        'p',
        batch.map((e) => e.id),
      );
      expect(carried.get('dead.1')).toEqual(batch.slice(0, 3).map((e) => e.id));
      expect([...carried.values()].flat()).toHaveLength(4);
      for (const c of ['c', 'd']) expect(await metadata.markersPendingOn('p', c)).toEqual(new Set());
    });

    it('killed after counting one collection, or after counting all but before clearing markers: still exact', async () => {
      const batch = batchOf();
      await metadata.registerMarker('p', ['c', 'd'], 'dead.2');
      await events.insertMarked('p', batch, 'dead.2');
      await metadata.applyMarked(
        'p',
        'c',
        'dead.2',
        schemaDeltas(batch.filter((e) => e.collection === 'c')),
      );
      await new Promise((r) => setTimeout(r, 1550));
      await persister().persist('p', batch);
      expect(await metadata.getSchema('p')).toEqual(recount(batch));

      const more = batchOf();
      await metadata.registerMarker('p', ['c', 'd'], 'dead.3');
      await events.insertMarked('p', more, 'dead.3');
      for (const c of ['c', 'd'])
        await metadata.applyMarked(
          'p',
          c,
          'dead.3',
          schemaDeltas(more.filter((e) => e.collection === c)),
        );
      await new Promise((r) => setTimeout(r, 1550));
      await persister().persist('p', more);
      expect(await metadata.getSchema('p')).toEqual(recount([...batch, ...more]));
    });

    it('a failed attempt in this process is settled by its in-process retry at once', async () => {
      const batch = batchOf();
      const p = persister(60_000);
      const original = metadata.applyMarked.bind(metadata);
      let failOnce = true;
      metadata.applyMarked = async (...args) => {
        if (failOnce) {
          failOnce = false;
          throw new Error('connection reset');
        }
        return original(...args);
      };
      await expect(p.persist('p', batch)).rejects.toThrow('connection reset');
      expect(await p.persist('p', batch)).toEqual({ inserted: 0, duplicates: 4 });
      expect(await metadata.getSchema('p')).toEqual(recount(batch));
    });

    it('concurrent deliveries of the same batch (job on two shards) count once', async () => {
      const batch = Array.from({ length: 50 }, (_, i) => ev(i % 2 ? 'c' : 'd', i));
      const results = await Promise.allSettled(
        Array.from({ length: 5 }, () => persister().persist('p', batch)),
      );
      // Deliveries that saw another one in flight asked to be retried; retry them.
      for (const r of results)
        if (r.status === 'rejected')
          expect((r.reason as TallyError).errorCode).toBe('CountersPendingError');
      await new Promise((r) => setTimeout(r, 1550));
      await persister().persist('p', batch);
      expect(await metadata.getSchema('p')).toEqual(recount(batch));
      expect(await events.countCollection('p', 'c')).toBe(25);
    });

    it('poison events are reported after the rest is stored and counted', async () => {
      const ok = ev('c', 1);
      const huge = ev('c', 2, { blob: 'x'.repeat(17 * 1024 * 1024) });
      const error = await persister()
        .persist('p', [ok, huge])
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RejectedEventsError);
      expect((error as RejectedEventsError).rejected.map((r) => r.id)).toEqual([huge.id]);
      expect((error as RejectedEventsError).persisted).toEqual({ inserted: 1, duplicates: 0 });
      expect(await metadata.getSchema('p')).toEqual(recount([ok]));
    });
  });

  describe('MongoDeadLetterStore', () => {
    it('adds idempotently, lists by project in pages, gets, requeues and removes', async () => {
      const letters = new MongoDeadLetterStore({ connection });
      await letters.init();
      const a = ev('c', 1, { we$ird: 1 });
      const b = ev('c', 2);
      await letters.add([
        { projectId: 'p', event: a, reason: 'refused', batchId: 'b1' },
        { projectId: 'p', event: b, reason: 'refused' },
        { projectId: 'q', event: b, reason: 'other' },
      ]);
      await letters.add([{ projectId: 'p', event: a, reason: 'refused again', batchId: 'b2' }]);
      const listed = await letters.list({ projectId: 'p' });
      expect(listed.map((l) => [l.id, l.reason, l.batchId])).toEqual([
        [`p/${a.id}`, 'refused again', 'b2'],
        [`p/${b.id}`, 'refused', undefined],
      ]);
      expect(listed[0].event).toEqual(a);
      expect(await letters.list({ projectId: 'p', limit: 1, after: `p/${a.id}` })).toHaveLength(1);
      expect((await letters.get([`q/${b.id}`]))[0].event).toEqual(b);

      const outcome = await requeueDeadLetters(letters, mongoEventPersister({ events, metadata }), [
        `p/${a.id}`,
        `p/${b.id}`,
      ]);
      expect(outcome).toEqual({ inserted: 2, duplicates: 0, stillRejected: 0 });
      expect(await all(events, { projectId: 'p', collection: 'c' })).toEqual([a, b].map(stored));
      expect(await metadata.getSchema('p')).toEqual(recount([a, b]));
      expect(await letters.list({ projectId: 'p' })).toEqual([]);
      expect(await letters.remove([`q/${b.id}`])).toBe(1);
      expect(await letters.list()).toEqual([]);
    });
  });
});

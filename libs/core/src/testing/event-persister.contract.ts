import { CollectionEvent, EventBatch, JsonObject } from '@app/events';
import { parseEventSelection } from '@app/query-engine';
import { SchemaCounter, schemaDeltas } from '@app/schema';
import {
  EventStore,
  CounterLedger,
  MarkedEventWriter,
  MetadataStore,
  WritePath,
} from '@app/storage';
import { MarkedEventPersister } from '../persist/marked-event.persister';
import { CoalescingPersister } from '../persist/coalescing.persister';
import { EventDeleter } from '../deletes/delete-events';
import { PropertyDeleter } from '../deletes/delete-property';
import { MarkerSweeper } from '../persist/marker-sweeper';

/**
 * The exact-counter marker protocol (MarkedEventPersister, docs/queue.md) on one
 * driver's adapters, against real servers. Every case compares the stored ids
 * and bodies with what was sent, and the schema counters with a recount of the
 * stored events. Faults are injected above the ports (a delivery that stops
 * part-way is replayed step by step through them), never by mocking a server.
 */
export interface PersisterSubject {
  writer: MarkedEventWriter;
  ledger: CounterLedger;
  /** The store the writer writes, to read events back. */
  events: EventStore;
  /** The schema counters as the metadata store reports them. */
  counters(projectId: string): Promise<SchemaCounter[]>;
  /** Where deletes decrement the counters (the same ones the ledger applies to). */
  metadata: MetadataStore;
  close(): Promise<void>;
}

const HOUR = 3_600_000;
const T0 = Date.UTC(2024, 4, 1);
const COLLECTIONS = ['clicks', 'views'];

let runs = 0;
/** keen.ids are unique across projects on MongoDB (`_id` is the keen.id): a prefix per run. */
const runTag = () =>
  `${process.pid.toString(16)}${Date.now().toString(16)}${(runs++).toString(16)}`;

/** Events over two collections, with nested objects, nulls, lists and one path of two types. */
function eventsOf(tag: string, n: number): CollectionEvent[] {
  return Array.from({ length: n }, (_, i) => {
    const id = `${tag}-${i}`;
    const timestamp = T0 + i * 7 * HOUR;
    const event: JsonObject = {
      n: i,
      price: i % 4 === 0 ? String(i) : i * 1.5,
      ...(i % 2 ? { user: { tier: i % 3 ? 'gold' : null, tags: ['a', 'b'] } } : { flag: true }),
      keen: { id, timestamp: new Date(timestamp).toISOString() },
    };
    return { id, collection: COLLECTIONS[i % 3 === 0 ? 1 : 0], timestamp, event };
  });
}

/**
 * The same keen.id sent again later (a client retry named by its request id): a
 * copy at other coordinates, received a day later, so its row and timestamp differ.
 */
function retryOf(e: CollectionEvent): CollectionEvent {
  const timestamp = e.timestamp + 24 * HOUR;
  const keen = { ...(e.event.keen as JsonObject), timestamp: new Date(timestamp).toISOString() };
  return { ...e, timestamp, event: { ...e.event, keen } };
}

/** Schema counters in one order (collection, path, type), to compare lists. */
export const byKey = (a: SchemaCounter, b: SchemaCounter) =>
  a.collection.localeCompare(b.collection) ||
  a.path.localeCompare(b.path) ||
  a.type.localeCompare(b.type);

/** The counters a recount of `events` gives, in `byKey` order. */
export const countersOf = (events: CollectionEvent[]): SchemaCounter[] =>
  schemaDeltas(events)
    .map((d) => ({ collection: d.collection, path: d.path, type: d.type, count: d.delta }))
    .sort(byKey);

/** A ledger that records the markers registered through it. */
function recording(ledger: CounterLedger): CounterLedger & { markers: string[] } {
  const markers: string[] = [];
  return {
    markers,
    registerMarker: async (projectId, collections, marker) => {
      markers.push(marker);
      await ledger.registerMarker(projectId, collections, marker);
    },
    applyMarked: (...args) => ledger.applyMarked(...args),
    collectionsPending: (projectId, marker) => ledger.collectionsPending(projectId, marker),
    markersPendingOn: (projectId, collection) => ledger.markersPendingOn(projectId, collection),
    listPending: (before, limit) => ledger.listPending(before, limit),
    countPending: () => ledger.countPending(),
  };
}

/** A writer whose process dies right after its `nth` insert returned (the events are stored). */
function dyingAfterInsert(writer: MarkedEventWriter, nth: number): MarkedEventWriter {
  let calls = 0;
  return {
    insertMarked: async (projectId, events, marker) => {
      const outcome = await writer.insertMarked(projectId, events, marker);
      if (++calls === nth) throw new Error('worker killed after inserting');
      return outcome;
    },
    markersOf: (projectId, ids) => writer.markersOf(projectId, ids),
    findByMarker: (projectId, marker, carried) => writer.findByMarker(projectId, marker, carried),
    clearMarker: (projectId, marker, ids) => writer.clearMarker(projectId, marker, ids),
  };
}

export function describeEventPersisterContract(
  driver: string,
  open: () => Promise<PersisterSubject>,
): void {
  describe(`EventPersister contract (marker protocol): ${driver}`, () => {
    let s: PersisterSubject;

    beforeAll(async () => {
      s = await open();
    });
    afterAll(async () => s?.close());

    const persister = (options: { writer?: MarkedEventWriter; takeoverAfterMs?: number } = {}) =>
      new MarkedEventPersister({
        writer: options.writer ?? s.writer,
        ledger: s.ledger,
        takeoverAfterMs: options.takeoverAfterMs,
      });

    const marked = (): WritePath => ({ kind: 'marked', writer: s.writer, ledger: s.ledger });

    async function storedEvents(projectId: string): Promise<CollectionEvent[]> {
      const out: CollectionEvent[] = [];
      for (const collection of COLLECTIONS) {
        for await (const page of s.events.scan({ projectId, collection })) {
          out.push(...page.map((e) => ({ ...e, collection })));
        }
      }
      return out.sort((a, b) => a.id.localeCompare(b.id));
    }

    /** Stored events equal `sent` (ids and bodies) and counters equal a recount of them. */
    async function expectExact(projectId: string, sent: CollectionEvent[]): Promise<void> {
      const stored = await storedEvents(projectId);
      const unique = [...new Map(sent.map((e) => [e.id, e])).values()].sort((a, b) =>
        a.id.localeCompare(b.id),
      );
      expect(stored.map((e) => e.id)).toEqual(unique.map((e) => e.id));
      expect(stored.map((e) => [e.collection, e.event])).toEqual(
        unique.map((e) => [e.collection, e.event]),
      );
      const counters = (await s.counters(projectId)).sort(byKey);
      expect(counters).toEqual(countersOf(stored));
      expect(counters).toEqual(countersOf(unique));
    }

    async function expectSettled(projectId: string, markers: string[]): Promise<void> {
      for (const marker of markers) {
        expect(await s.ledger.collectionsPending(projectId, marker)).toEqual([]);
      }
    }

    it('stores a plain batch as sent, counters equal a recount', async () => {
      const project = `plain-${runTag()}`;
      const sent = eventsOf(`plain-${runTag()}`, 13);
      const ledger = recording(s.ledger);
      const p = new MarkedEventPersister({ writer: s.writer, ledger });
      expect(await p.persist(project, sent)).toEqual({ inserted: 13, duplicates: 0 });
      await expectExact(project, sent);
      expect(ledger.markers).toHaveLength(1);
      await expectSettled(project, ledger.markers);
    });

    it('counts nothing twice when the same batch is redelivered', async () => {
      const project = `again-${runTag()}`;
      const sent = eventsOf(`again-${runTag()}`, 9);
      await persister().persist(project, sent);
      const before = (await s.counters(project)).sort(byKey);
      // Another process, as a redelivered job would be.
      expect(await persister().persist(project, sent)).toEqual({ inserted: 0, duplicates: 9 });
      expect(await persister().persist(project, [...sent, ...sent])).toEqual({
        inserted: 0,
        duplicates: 9,
      });
      expect((await s.counters(project)).sort(byKey)).toEqual(before);
      await expectExact(project, sent);
    });

    it('counts exactly what a delivery inserted before it died, once, on redelivery', async () => {
      const project = `died-${runTag()}`;
      const sent = eventsOf(`died-${runTag()}`, 12);
      const inserted = sent.filter((_, i) => i % 2 === 0);
      const rest = sent.filter((_, i) => i % 2 === 1);
      // The dead delivery's steps 1 and 2 (register, insert under its marker); it never counted.
      const dead = `dead.${runTag()}`;
      await s.ledger.registerMarker(project, COLLECTIONS, dead);
      const partial = await s.writer.insertMarked(project, inserted, dead);
      expect(partial.inserted.map((e) => e.id).sort()).toEqual(inserted.map((e) => e.id).sort());
      expect(await s.counters(project)).toEqual([]);

      // While the dead delivery may still be running (another process, young marker):
      // its own events are stored and counted, the dead marker's are left to a retry.
      await expect(
        persister({ takeoverAfterMs: 60_000 }).persist(project, sent),
      ).rejects.toMatchObject({
        kind: 'unavailable',
        errorCode: 'CountersPendingError',
      });
      expect((await s.counters(project)).sort(byKey)).toEqual(countersOf(rest));
      expect((await s.ledger.collectionsPending(project, dead)).length).toBeGreaterThan(0);

      // Once it is known dead, the redelivery settles it from the events carrying its marker.
      expect(await persister({ takeoverAfterMs: 0 }).persist(project, sent)).toEqual({
        inserted: 0,
        duplicates: 12,
      });
      await expectExact(project, sent);
      await expectSettled(project, [dead]);
      // And again: nothing more to settle, nothing counted twice.
      expect(await persister({ takeoverAfterMs: 0 }).persist(project, sent)).toEqual({
        inserted: 0,
        duplicates: 12,
      });
      await expectExact(project, sent);
    });

    it('settles a dead delivery from all its events when the retry carries them one by one', async () => {
      // The worker's isolation pass retries a failing job's events singly: the
      // first single event to find the dead marker settles it, so the marker's
      // deltas must come from every event it inserted, not from that one.
      const project = `split-${runTag()}`;
      const sent = eventsOf(`split-${runTag()}`, 12);
      const dead = `dead.${runTag()}`;
      await s.ledger.registerMarker(project, COLLECTIONS, dead);
      await s.writer.insertMarked(project, sent, dead);
      for (const event of sent) {
        expect(await persister({ takeoverAfterMs: 0 }).persist(project, [event])).toEqual({
          inserted: 0,
          duplicates: 1,
        });
      }
      await expectExact(project, sent);
      await expectSettled(project, [dead]);
    });

    it('runs every batch of persistAll through the marker protocol', async () => {
      const tag = runTag();
      const [a, b] = [`all-a-${tag}`, `all-b-${tag}`];
      const batches: EventBatch[] = [
        { batchId: `${tag}-1`, projectId: a, events: eventsOf(`all1-${tag}`, 5) },
        { batchId: `${tag}-2`, projectId: b, events: eventsOf(`all2-${tag}`, 7) },
        { batchId: `${tag}-3`, projectId: a, events: eventsOf(`all3-${tag}`, 4) },
      ];
      const ledger = recording(s.ledger);
      const p = new MarkedEventPersister({ writer: s.writer, ledger });
      expect(await p.persistAll(batches)).toEqual({ inserted: 16, duplicates: 0 });
      expect(new Set(ledger.markers).size).toBe(3);
      await expectSettled(a, ledger.markers);
      await expectSettled(b, ledger.markers);
      await expectExact(a, [...batches[0].events, ...batches[2].events]);
      await expectExact(b, batches[1].events);
    });

    it('counts exactly after a persistAll that died after inserting its second batch', async () => {
      const tag = runTag();
      const project = `alldied-${tag}`;
      const batches: EventBatch[] = [1, 2, 3].map((n) => ({
        batchId: `${tag}-${n}`,
        projectId: project,
        events: eventsOf(`alldied${n}-${tag}`, 3 + n),
      }));
      const ledger = recording(s.ledger);
      const dying = new MarkedEventPersister({ writer: dyingAfterInsert(s.writer, 2), ledger });
      await expect(dying.persistAll(batches)).rejects.toThrow('worker killed after inserting');
      expect((await s.counters(project)).sort(byKey)).toEqual(countersOf(batches[0].events));

      // The redelivery, in this process (its marker was abandoned) and in another one.
      expect(await dying.persistAll(batches)).toEqual({ inserted: 6, duplicates: 9 });
      await expectExact(
        project,
        batches.flatMap((x) => x.events),
      );
      await expectSettled(project, ledger.markers);
      expect(await persister({ takeoverAfterMs: 0 }).persistAll(batches)).toEqual({
        inserted: 0,
        duplicates: 15,
      });
      await expectExact(
        project,
        batches.flatMap((x) => x.events),
      );
    });

    /**
     * The worker's jobs, as CoalescingPersister combines them: every fourth
     * repeats the one before it (a redelivery), neighbours share three ids, and
     * every sixth carries a retry of an id of the job before it at other
     * coordinates. The copy of an id that is stored is the one its first write took.
     */
    function heldJobs(tag: string, count: number): CollectionEvent[][] {
      const jobs: CollectionEvent[][] = [];
      for (let j = 0; j < count; j++) {
        if (j % 4 === 3) {
          jobs.push(jobs[j - 1]);
          continue;
        }
        const own = eventsOf(`${tag}-${j}`, 12);
        const shared = j > 0 ? jobs[j - 1].slice(0, 3) : [];
        const retried = j % 6 === 5 ? [retryOf(jobs[j - 1][5])] : [];
        jobs.push([...shared, ...own, ...retried]);
      }
      return jobs;
    }

    /** One copy of every id sent, its body one of the copies sent, counters = recount. */
    async function expectOneCopyEach(projectId: string, jobs: CollectionEvent[][]) {
      const copies = new Map<string, CollectionEvent[]>();
      for (const e of jobs.flat()) copies.set(e.id, [...(copies.get(e.id) ?? []), e]);
      const stored = await storedEvents(projectId);
      expect(stored.map((e) => e.id)).toEqual([...copies.keys()].sort());
      for (const e of stored) {
        expect(copies.get(e.id)!.map((c) => c.event)).toContainEqual(e.event);
      }
      expect((await s.counters(projectId)).sort(byKey)).toEqual(countersOf(stored));
      return stored;
    }

    it('combines held jobs into fewer writes: each id stored once, outcomes add up, counters equal a recount', async () => {
      const tag = runTag();
      const project = `combined-${tag}`;
      const jobs = heldJobs(`combined-${tag}`, 24);
      const ledger = recording(s.ledger);
      const inner = new MarkedEventPersister({ writer: s.writer, ledger });
      const combined = new CoalescingPersister(inner, { maxEvents: 400 });
      const outcomes = await Promise.all(jobs.map((job) => combined.persist(project, job)));

      const stored = await expectOneCopyEach(project, jobs);
      expect(outcomes.reduce((n, o) => n + o.inserted, 0)).toBe(stored.length);
      outcomes.forEach((o, j) =>
        expect(o.inserted + o.duplicates).toBe(new Set(jobs[j].map((e) => e.id)).size),
      );
      expect(ledger.markers.length).toBeLessThan(jobs.length / 2);
      await expectSettled(project, ledger.markers);
    });

    it('a combined write that died after inserting is counted once when its jobs come back one by one', async () => {
      const tag = runTag();
      const project = `combdied-${tag}`;
      const jobs = heldJobs(`combdied-${tag}`, 12);
      const ledger = recording(s.ledger);
      const dying = new MarkedEventPersister({ writer: dyingAfterInsert(s.writer, 1), ledger });
      await expect(dying.persistEach(project, jobs)).rejects.toThrow('worker killed after inserting');
      expect(await s.counters(project)).toEqual([]);

      // Redelivered job by job, last job first, by another worker.
      const outcomes = [];
      for (const job of [...jobs].reverse()) {
        outcomes.push(await persister({ takeoverAfterMs: 0 }).persist(project, job));
      }
      expect(outcomes.reduce((n, o) => n + o.inserted, 0)).toBe(0);
      // The dead write took the first copy of every id.
      const first = new Map<string, CollectionEvent>();
      for (const e of jobs.flat()) if (!first.has(e.id)) first.set(e.id, e);
      await expectExact(project, [...first.values()]);
      await expectSettled(project, ledger.markers);
    });

    /** A delete of these events by keen.id, as the query pool runs it (no transaction on these stores). */
    const deleteIds = (projectId: string, collection: string, ids: string[]) =>
      new EventDeleter(s.events, s.metadata, { run: (work) => work() }, marked()).delete(
        projectId,
        collection,
        parseEventSelection({
          filters: JSON.stringify([
            { property_name: 'keen.id', operator: 'in', property_value: ids },
          ]),
        }),
        { retryDelaysMs: [] },
      );

    const sweeper = (olderThanMs = 0) =>
      new MarkerSweeper({ writer: s.writer, ledger: s.ledger, olderThanMs });

    /** A delivery that inserted `events` under `marker` and died before counting them. */
    async function deadDelivery(projectId: string, events: CollectionEvent[]): Promise<string> {
      const marker = `dead.${runTag()}`;
      await s.ledger.registerMarker(projectId, COLLECTIONS, marker);
      const outcome = await s.writer.insertMarked(projectId, events, marker);
      expect(outcome.inserted).toHaveLength(events.length);
      return marker;
    }

    const idsOf = (events: CollectionEvent[]) => events.map((e) => e.id).sort();

    it('keeps counters exact when a delete targets events of a dead delivery before its redelivery', async () => {
      // The dead delivery stored its batch and never counted it. A delete that
      // removed some of those events and decremented them would take away counts
      // never added, and the redelivery (which settles the dead marker from the
      // events still stored under it, and stores the deleted ones again under
      // its own marker) would leave the counters too low for good.
      const project = `deldead-${runTag()}`;
      const sent = eventsOf(`deldead-${runTag()}`, 12);
      const dead = await deadDelivery(project, sent);
      const doomed = idsOf(sent.filter((e) => e.collection === 'clicks').slice(0, 3));

      // Held back while the marker is pending: nothing deleted, nothing decremented.
      await expect(deleteIds(project, 'clicks', doomed)).rejects.toMatchObject({
        kind: 'unavailable',
        errorCode: 'CountersPendingError',
      });
      expect(idsOf(await storedEvents(project))).toEqual(idsOf(sent));
      expect(await s.counters(project)).toEqual([]);

      await persister({ takeoverAfterMs: 0 }).persist(project, sent);
      await expectSettled(project, [dead]);
      await expectExact(project, sent);
      // Once settled, the same delete goes through and decrements exactly what it removed.
      expect(await deleteIds(project, 'clicks', doomed)).toEqual({ scanned: 3, deleted: 3 });
      await expectExact(
        project,
        sent.filter((e) => !doomed.includes(e.id)),
      );
    });

    it('holds a delete racing a running delivery until that delivery has counted', async () => {
      const project = `delrace-${runTag()}`;
      const sent = eventsOf(`delrace-${runTag()}`, 10);
      const doomed = idsOf(sent.filter((e) => e.collection === 'clicks').slice(0, 2));
      const outcomes: unknown[] = [];
      // The delete runs between the delivery's insert and its counter update.
      const racing: MarkedEventWriter = {
        ...s.writer,
        insertMarked: async (projectId, events, marker) => {
          const outcome = await s.writer.insertMarked(projectId, events, marker);
          outcomes.push(await deleteIds(projectId, 'clicks', doomed).catch((e: unknown) => e));
          return outcome;
        },
        markersOf: (p, ids) => s.writer.markersOf(p, ids),
        findByMarker: (p, m, c) => s.writer.findByMarker(p, m, c),
        clearMarker: (p, m, ids) => s.writer.clearMarker(p, m, ids),
      };
      expect(await persister({ writer: racing }).persist(project, sent)).toEqual({
        inserted: 10,
        duplicates: 0,
      });
      expect(outcomes).toEqual([expect.objectContaining({ errorCode: 'CountersPendingError' })]);
      await expectExact(project, sent);
      expect(await deleteIds(project, 'clicks', doomed)).toEqual({ scanned: 2, deleted: 2 });
      await expectExact(
        project,
        sent.filter((e) => !doomed.includes(e.id)),
      );
    });

    it('sweeps a stale marker left by a killed delivery: counters = recount, a second sweep changes nothing', async () => {
      const project = `sweep-${runTag()}`;
      const sent = eventsOf(`sweep-${runTag()}`, 11);
      const dead = await deadDelivery(project, sent);
      // A marker whose delivery died before inserting anything, and a young one.
      const empty = `empty.${runTag()}`;
      await s.ledger.registerMarker(project, ['clicks'], empty);
      expect(await s.counters(project)).toEqual([]);

      // Not stale yet under a bound longer than its age: left alone.
      expect((await sweeper(60_000).stale(100_000)).map((e) => e.marker)).not.toContain(dead);
      const listed = (await sweeper(0).stale(100_000)).filter((e) => e.projectId === project);
      expect(listed.map((e) => [e.marker, e.collection]).sort()).toEqual(
        [
          [dead, 'clicks'],
          [dead, 'views'],
          [empty, 'clicks'],
        ].sort(),
      );

      const first = await sweeper(0).sweep();
      expect(first.settled).toBeGreaterThanOrEqual(1);
      expect(first.dropped).toBeGreaterThanOrEqual(1);
      await expectSettled(project, [dead, empty]);
      await expectExact(project, sent);
      expect((await sweeper(0).stale(100_000)).filter((e) => e.projectId === project)).toEqual([]);

      const before = (await s.counters(project)).sort(byKey);
      await sweeper(0).sweep();
      expect((await s.counters(project)).sort(byKey)).toEqual(before);
      // A late redelivery of the killed job counts nothing twice either.
      expect(await persister({ takeoverAfterMs: 0 }).persist(project, sent)).toEqual({
        inserted: 0,
        duplicates: 11,
      });
      await expectExact(project, sent);
    });

    it('a delete held by a dead delivery goes through once the sweep has settled it', async () => {
      const project = `delsweep-${runTag()}`;
      const sent = eventsOf(`delsweep-${runTag()}`, 9);
      await deadDelivery(project, sent);
      const doomed = idsOf(sent.filter((e) => e.collection === 'views'));
      await expect(deleteIds(project, 'views', doomed)).rejects.toMatchObject({
        errorCode: 'CountersPendingError',
      });
      await sweeper(0).sweep();
      expect(await deleteIds(project, 'views', doomed)).toEqual({
        scanned: doomed.length,
        deleted: doomed.length,
      });
      await expectExact(
        project,
        sent.filter((e) => !doomed.includes(e.id)),
      );
    });

    it('a property delete leaves events of a dead delivery alone until the sweep has counted them', async () => {
      // The settle counts the bodies it finds stored: a body rewritten under a
      // pending marker would be counted without the property whose count the
      // property delete already took away.
      const project = `propdead-${runTag()}`;
      const sent = eventsOf(`propdead-${runTag()}`, 8);
      await deadDelivery(project, sent);
      const properties = new PropertyDeleter(
        s.events,
        s.metadata,
        { run: (work) => work() },
        marked(),
      );
      const clicks = sent.filter((e) => e.collection === 'clicks');
      const held = await properties.delete(project, 'clicks', 'price', { retryDelaysMs: [] });
      expect(held).toMatchObject({ updated: 0, skipped: clicks.length });
      await sweeper(0).sweep();
      await expectExact(project, sent);
      expect(
        await properties.delete(project, 'clicks', 'price', { retryDelaysMs: [] }),
      ).toMatchObject({
        updated: clicks.length,
        skipped: 0,
      });
      await expectExact(
        project,
        sent.map((e) => {
          if (e.collection !== 'clicks') return e;
          const { price: _gone, ...rest } = e.event;
          return { ...e, event: rest };
        }),
      );
    });
  });
}

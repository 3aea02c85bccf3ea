import { CollectionEvent, EventBatch, JsonObject } from '@app/events';
import { SchemaCounter, schemaDeltas } from '@app/schema';
import { EventStore, CounterLedger, MarkedEventWriter } from '@app/storage';
import { MarkedEventPersister } from '../persist/marked-event.persister';

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

const byKey = (a: SchemaCounter, b: SchemaCounter) =>
  a.collection.localeCompare(b.collection) ||
  a.path.localeCompare(b.path) ||
  a.type.localeCompare(b.type);

const countersOf = (events: CollectionEvent[]): SchemaCounter[] =>
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
  };
}

/** A writer whose insert reports `lost` as written without writing it (while `armed`). */
function losing(writer: MarkedEventWriter, lost: string) {
  const wrapped = {
    armed: true,
    insertMarked: async (projectId: string, events: CollectionEvent[], marker: string) => {
      if (!wrapped.armed) return writer.insertMarked(projectId, events, marker);
      const dropped = events.find((e) => e.id === lost);
      const outcome = await writer.insertMarked(
        projectId,
        events.filter((e) => e.id !== lost),
        marker,
      );
      return { ...outcome, inserted: dropped ? [...outcome.inserted, dropped] : outcome.inserted };
    },
    missingIds: (projectId: string, ids: string[]) => writer.missingIds(projectId, ids),
    markersOf: (projectId: string, ids: string[]) => writer.markersOf(projectId, ids),
    findByMarker: (projectId: string, marker: string, carried: CollectionEvent[]) =>
      writer.findByMarker(projectId, marker, carried),
    clearMarker: (projectId: string, marker: string) => writer.clearMarker(projectId, marker),
  };
  return wrapped;
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
    missingIds: (projectId, ids) => writer.missingIds(projectId, ids),
    markersOf: (projectId, ids) => writer.markersOf(projectId, ids),
    findByMarker: (projectId, marker, carried) => writer.findByMarker(projectId, marker, carried),
    clearMarker: (projectId, marker) => writer.clearMarker(projectId, marker),
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

    it('refuses an insert reported written but not kept (StoreLostWriteError), counting nothing', async () => {
      const project = `lost-${runTag()}`;
      const sent = eventsOf(`lost-${runTag()}`, 10);
      const lost = sent[4].id;
      const writer = losing(s.writer, lost);
      const p = persister({ writer });
      await expect(p.persist(project, sent)).rejects.toMatchObject({
        kind: 'unavailable',
        errorCode: 'StoreLostWriteError',
      });
      expect(await s.counters(project)).toEqual([]);
      expect((await storedEvents(project)).map((e) => e.id)).not.toContain(lost);

      // The retry (same process: the failed attempt's marker is taken over at once).
      writer.armed = false;
      expect(await p.persist(project, sent)).toEqual({ inserted: 1, duplicates: 9 });
      await expectExact(project, sent);
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
  });
}

import { persisterFor } from '../persist/persister-for';
import { CollectionEvent, JsonObject, StoredEvent } from '@app/events';
import { parseEventSelection } from '@app/query-engine';
import { forEachProperty, isReservedPath, SchemaCounter } from '@app/schema';
import { EventDeleter } from '../deletes/delete-events';
import { Stores } from '@app/storage';
import { recountSchema } from '../schema/recount-schema';

export interface SchemaCapSubject {
  /** The stores as the product opens them, with SCHEMA_MAX_PROPERTIES = CAP. */
  open(): Promise<Stores>;
  /** Removes what open() left behind (files, server). */
  dispose(): Promise<void>;
}

export const CAP = 6;
const T0 = Date.UTC(2024, 4, 1);
let runs = 0;

/**
 * A model of the cap written event by event (not from deltas): a path is
 * admitted when first met while fewer than CAP are; counts are over the
 * events still stored, for admitted paths only.
 */
class CapModel {
  readonly admitted: string[] = [];
  capped = false;
  private readonly stored = new Map<string, CollectionEvent>();

  write(events: CollectionEvent[]): void {
    for (const e of events) {
      if (this.stored.has(e.id)) continue;
      this.stored.set(e.id, e);
      forEachProperty(e.event, (path) => {
        if (isReservedPath(path) || this.admitted.includes(path)) return;
        if (this.admitted.length < CAP) this.admitted.push(path);
        else this.capped = true;
      });
    }
  }

  delete(ids: string[]): void {
    for (const id of ids) this.stored.delete(id);
  }

  events(): StoredEvent[] {
    return [...this.stored.values()]
      .sort((a, b) => a.timestamp - b.timestamp || (a.id < b.id ? -1 : 1))
      .map((e) => ({ id: e.id, timestamp: e.timestamp, event: e.event }));
  }

  counters(collection: string): SchemaCounter[] {
    const counts = new Map<string, SchemaCounter>();
    for (const e of this.stored.values()) {
      forEachProperty(e.event, (path, type) => {
        if (!isReservedPath(path) && !this.admitted.includes(path)) return;
        const key = `${path}\u0000${type}`;
        const found = counts.get(key);
        if (found) found.count++;
        else counts.set(key, { collection, path, type, count: 1 });
      });
    }
    return sortCounters([...counts.values()]);
  }
}

function sortCounters(counters: SchemaCounter[]): SchemaCounter[] {
  const key = (c: SchemaCounter) => `${c.collection}\u0000${c.path}\u0000${c.type}`;
  return [...counters].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/**
 * The schema property cap on one metadata store, through the product's
 * persister, deleter and recount: counters stop at CAP paths while every
 * event is stored in full, the flag persists across a reopen, deletes leave
 * no negative or phantom counter, and a recount changes nothing.
 */
export function describeSchemaCap(driver: string, subject: () => Promise<SchemaCapSubject>): void {
  describe(`schema property cap: ${driver}`, () => {
    let harness: SchemaCapSubject;
    let stores: Stores;
    const project = `cap-${process.pid}-${Date.now()}`;
    const tag = `${process.pid.toString(16)}${Date.now().toString(16)}${(runs++).toString(16)}`;
    let n = 0;
    const ev = (collection: string, minute: number, body: JsonObject): CollectionEvent => {
      const id = `${tag}-${(n++).toString(16).padStart(4, '0')}`;
      const timestamp = T0 + minute * 60_000;
      const keen = {
        id,
        timestamp: new Date(timestamp).toISOString(),
        created_at: new Date(timestamp).toISOString(),
      };
      return { collection, id, timestamp, event: { ...body, keen } };
    };

    beforeAll(async () => {
      harness = await subject();
      stores = await harness.open();
    });
    afterAll(async () => {
      await stores?.close();
      await harness?.dispose();
    });

    async function scanAll(collection: string): Promise<StoredEvent[]> {
      const out: StoredEvent[] = [];
      for await (const page of stores.events.scan({ projectId: project, collection, order: 'asc' }))
        out.push(...page);
      return out.sort((a, b) => a.timestamp - b.timestamp || (a.id < b.id ? -1 : 1));
    }

    async function expectExact(collection: string, model: CapModel): Promise<void> {
      expect(await scanAll(collection)).toEqual(model.events());
      expect(sortCounters(await stores.metadata.getSchema(project, collection))).toEqual(
        model.counters(collection),
      );
      const cap = await stores.metadata.getSchemaCap(project, collection);
      expect(cap.admitted).toEqual([...model.admitted].sort());
      expect(cap.admittedCount).toBe(model.admitted.length);
      expect(cap.capped).toBe(model.capped);
    }

    it('stops counting new paths at the cap, stores every event in full, persists the flag and survives deletes and recounts', async () => {
      const wide = new CapModel();
      const narrow = new CapModel();
      const first = [
        ev('wide', 1, { a: 1, b: 'x', user: { id: 1 } }),
        ev('wide', 2, { a: 2, c: true, d: null }),
        // Crosses the cap: e, f and f.g stay out; `a` keeps counting, a new type too.
        ev('wide', 3, { e: 1, f: { g: 2 }, a: 'text' }),
        ev('narrow', 4, { only: 1 }),
      ];
      await persisterFor(stores).persist(project, first);
      wide.write(first.filter((e) => e.collection === 'wide'));
      narrow.write(first.filter((e) => e.collection === 'narrow'));
      expect(wide.admitted).toEqual(['a', 'b', 'user', 'user.id', 'c', 'd']);
      await expectExact('wide', wide);
      await expectExact('narrow', narrow);
      expect(await stores.metadata.listCappedCollections(project)).toEqual([
        { projectId: project, collection: 'wide' },
      ]);

      // Admitted paths keep counting, new ones never enter; a redelivery adds nothing.
      const second = [
        ev('wide', 5, { a: 3, b: 'y', user: { id: 2, name: 'n' }, z1: 1 }),
        ev('wide', 6, { c: false, z2: [1], z3: { deep: 1 } }),
      ];
      await persisterFor(stores).persist(project, second);
      expect(await persisterFor(stores).persist(project, [...first, ...second])).toEqual({
        inserted: 0,
        duplicates: 6,
      });
      wide.write(second);
      await expectExact('wide', wide);

      // The flag and the admitted set are in the store, not in the process.
      await stores.close();
      stores = await harness.open();
      expect(await stores.metadata.listCappedCollections()).toContainEqual({
        projectId: project,
        collection: 'wide',
      });
      const third = [ev('wide', 7, { after_restart: 1, d: 'not null' })];
      await persisterFor(stores).persist(project, third);
      wide.write(third);
      await expectExact('wide', wide);

      const recount = await recountSchema(stores, project, 'wide', 1000);
      expect(recount).toEqual({ events: 6, corrected: 0 });
      await expectExact('wide', wide);

      // Deletes: an event with refused paths (e, f, f.g) and every event
      // carrying `c`. No negative or phantom counter; `c` keeps its slot.
      const deleter = new EventDeleter(
        stores.events,
        stores.metadata,
        stores.unitOfWork,
        stores.writes,
      );
      const gone = [first[2].id, first[1].id, second[1].id];
      const ids = JSON.stringify([
        { property_name: 'keen.id', operator: 'in', property_value: gone },
      ]);
      expect(await deleter.delete(project, 'wide', parseEventSelection({ filters: ids }))).toEqual({
        scanned: 3,
        deleted: 3,
      });
      wide.delete(gone);
      await expectExact('wide', wide);
      const counters = await stores.metadata.getSchema(project, 'wide');
      expect(counters.every((c) => c.count > 0)).toBe(true);
      expect(counters.some((c) => c.path === 'c' || c.path === 'e' || c.path.startsWith('f'))).toBe(
        false,
      );

      const later = [ev('wide', 8, { c: 1, h: 1 })];
      await persisterFor(stores).persist(project, later);
      wide.write(later);
      await expectExact('wide', wide);
      expect((await stores.metadata.getSchema(project, 'wide')).some((c) => c.path === 'h')).toBe(
        false,
      );
      expect(await recountSchema(stores, project, 'wide', 1000)).toEqual({
        events: 4,
        corrected: 0,
      });
      await expectExact('wide', wide);
    });
  });
}

import { persisterFor } from '../persist/persister-for';
import { CollectionEvent, JsonObject, StoredEvent } from '@app/events';
import { parseEventSelection } from '@app/query-engine';
import { SchemaCounter, schemaDeltas } from '@app/schema';
import { EventDeleter } from '../deletes/delete-events';
import { PropertyDeleter } from '../deletes/delete-property';
import { loadConfig } from '@app/config';
import { openStores, Stores } from '@app/storage';
import { recountSchema } from '../schema/recount-schema';

export interface LifecycleSubject {
  /** The stores as the product opens them (openStores), persister included. */
  stores: Stores;
  close(): Promise<void>;
}

/** Stores opened from environment variables, exactly as a query process opens them. */
export async function openLifecycleStores(
  env: Record<string, string>,
  release: () => Promise<void>,
): Promise<LifecycleSubject> {
  const stores = await openStores(loadConfig('query', env));
  return {
    stores,
    close: async () => {
      await stores.close();
      await release();
    },
  };
}

const DAY = 86_400_000;
const T0 = Date.UTC(2024, 2, 1);
const COLLECTIONS = ['orders', 'visits'];
const CITIES = ['Lyon', 'Oslo', 'Lima', 'Pune'];

/** mulberry32: a small seeded generator, so a failing run can be replayed with its seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let runs = 0;
/** keen.ids are unique across projects (MongoDB's `_id` is the keen.id): a prefix per run. */
const runTag = () =>
  `${process.pid.toString(16)}${Date.now().toString(16)}${(runs++).toString(16)}`;

/** Events with nested objects, nulls, lists and one path holding several types. */
function generator(seed: number) {
  const rnd = random(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const pick = <T>(values: T[]): T => values[int(values.length)];
  const tag = runTag();
  let n = 0;
  return {
    rnd,
    int,
    pick,
    events(count: number): CollectionEvent[] {
      return Array.from({ length: count }, () => {
        const i = n++;
        const id = `${tag}-${i.toString(16).padStart(6, '0')}`;
        const timestamp = T0 + int(5 * DAY);
        const user: JsonObject = { id: `u${int(30)}` };
        const roll = rnd();
        if (roll < 0.55) {
          user.address = { city: pick(CITIES) };
          if (rnd() < 0.5) user.address.zip = rnd() < 0.5 ? 10_000 + int(90_000) : `Z-${int(99)}`;
        } else if (roll < 0.7) user.address = null;
        if (rnd() < 0.3) user.tags = ['a', 'b'].slice(0, 1 + int(2));
        const body: JsonObject = { n: i, kind: pick(['sale', 'refund', 'trial']), user };
        const price = rnd();
        if (price < 0.5) body.price = int(1000) / 10;
        else if (price < 0.7) body.price = String(int(100));
        else if (price < 0.8) body.price = null;
        if (rnd() < 0.4) body.extra = { flag: rnd() < 0.5, ...(rnd() < 0.5 ? { note: 'x' } : {}) };
        const iso = new Date(timestamp).toISOString();
        body.keen = { id, timestamp: iso, created_at: iso };
        return { collection: rnd() < 0.7 ? 'orders' : 'visits', id, timestamp, event: body };
      });
    },
  };
}

/** Removes a dotted path from a copy, written independently of the code under test. */
function modelRemove(event: JsonObject, property: string): JsonObject | undefined {
  const copy = structuredClone(event);
  const path = property.split('.');
  let node: unknown = copy;
  for (const key of path.slice(0, -1)) {
    node = (node as JsonObject)[key];
    if (node === null || typeof node !== 'object' || Array.isArray(node)) return undefined;
  }
  const last = path[path.length - 1];
  if (!Object.hasOwn(node as JsonObject, last)) return undefined;
  delete (node as JsonObject)[last];
  return copy;
}

const byKey = (a: SchemaCounter, b: SchemaCounter) =>
  a.collection.localeCompare(b.collection) ||
  a.path.localeCompare(b.path) ||
  a.type.localeCompare(b.type);

/**
 * Inserts, redelivered batches, filtered deletes, keen.id deletes and
 * property deletes in one mixed sequence, through the product's use cases
 * (the persister the worker uses, EventDeleter and PropertyDeleter as the
 * HTTP layer and CLI call them). After every step the stored events equal a
 * model of what should survive, field for field, and the schema counters
 * equal both the model's schema and an exact recountSchema of the store.
 * Each driver's integration spec runs this with stores from openStores.
 */
export function describeDeleteLifecycle(
  driver: string,
  open: () => Promise<LifecycleSubject>,
): void {
  describe(`delete lifecycle: ${driver}`, () => {
    let subject: LifecycleSubject;
    let stores: Stores;

    beforeAll(async () => {
      subject = await open();
      stores = subject.stores;
    }, 180_000);

    afterAll(async () => {
      await subject?.close();
    });

    /** The expected contents of one project, updated beside the real calls. */
    function harness(project: string) {
      const model = new Map<string, CollectionEvent>();
      const deleter = new EventDeleter(
        stores.events,
        stores.metadata,
        stores.unitOfWork,
        stores.writes,
      );
      const properties = new PropertyDeleter(
        stores.events,
        stores.metadata,
        stores.unitOfWork,
        stores.writes,
      );
      const inCollection = (c: string) => [...model.values()].filter((e) => e.collection === c);

      return {
        model,
        properties,
        async persist(batch: CollectionEvent[]) {
          await persisterFor(stores).persist(project, batch);
          // First stored body of an id wins; a redelivered id adds nothing.
          for (const e of batch) if (!model.has(e.id)) model.set(e.id, structuredClone(e));
        },
        async deleteWhere(
          collection: string,
          params: Record<string, unknown>,
          predicate: (e: CollectionEvent) => boolean,
        ) {
          const gone = inCollection(collection).filter(predicate);
          const done = await deleter.delete(project, collection, parseEventSelection(params), {
            batchSize: 7,
          });
          for (const e of gone) model.delete(e.id);
          expect(done.deleted).toBe(gone.length);
          return gone.map((e) => e.id);
        },
        async deleteProperty(collection: string, property: string) {
          let carriers = 0;
          for (const e of inCollection(collection)) {
            const stripped = modelRemove(e.event, property);
            if (!stripped) continue;
            carriers++;
            e.event = stripped;
          }
          const done = await properties.delete(project, collection, property, { batchSize: 7 });
          expect(done).toMatchObject({ updated: carriers, skipped: 0 });
          return carriers;
        },
        async check(step: string) {
          for (const collection of COLLECTIONS) {
            const stored: StoredEvent[] = [];
            for await (const page of stores.events.scan({ projectId: project, collection }))
              stored.push(...page);
            const want = inCollection(collection).map(({ id, timestamp, event }) => ({
              id,
              timestamp,
              event,
            }));
            const sort = (list: StoredEvent[]) =>
              [...list].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
            expect({ step, collection, events: sort(stored) }).toEqual({
              step,
              collection,
              events: sort(want),
            });
          }
          const counters = (await stores.metadata.getSchema(project)).sort(byKey);
          const modelSchema = schemaDeltas(model.values())
            .map((d) => ({ collection: d.collection, path: d.path, type: d.type, count: d.delta }))
            .sort(byKey);
          expect({ step, counters }).toEqual({ step, counters: modelSchema });
          for (const collection of COLLECTIONS) {
            const recount = await recountSchema(stores, project, collection, 1_000_000);
            expect({ step, collection, recount }).toEqual({
              step,
              collection,
              recount: { events: inCollection(collection).length, corrected: 0 },
            });
          }
        },
      };
    }

    it('keeps survivors and counters exact through inserts, redelivery, filtered, keen.id and property deletes', async () => {
      const seed = Number(process.env.LIFECYCLE_SEED ?? Math.floor(Math.random() * 2 ** 31));
      try {
        const gen = generator(seed);
        const project = `lifecycle-${runTag()}`;
        const h = harness(project);

        // 1. Inserts in batches of varying sizes.
        const batches: CollectionEvent[][] = [];
        for (let i = 0; i < 6; i++) batches.push(gen.events(20 + gen.int(30)));
        for (const batch of batches) await h.persist(batch);
        await h.check('inserted');

        // 2. Redelivery: whole batches again, and one half old, half new.
        await h.persist(batches[1]);
        await h.persist(batches[4]);
        const overlap = [...batches[2].slice(0, 10), ...gen.events(15)];
        await h.persist(overlap);
        await h.check('redelivered');

        // 3. A filtered delete within a timeframe.
        const start = T0 + DAY;
        const end = T0 + 3 * DAY;
        const filtered = await h.deleteWhere(
          'orders',
          {
            filters: JSON.stringify([
              { property_name: 'kind', operator: 'eq', property_value: 'refund' },
            ]),
            timeframe: JSON.stringify({
              start: new Date(start).toISOString(),
              end: new Date(end).toISOString(),
            }),
          },
          (e) => e.event.kind === 'refund' && e.timestamp >= start && e.timestamp < end,
        );
        expect(filtered.length).toBeGreaterThan(0);
        await h.check('filtered delete');

        // 4. keen.id deletes: live ids, an id deleted already, an unknown id and
        // an id of the other collection (which a delete on `orders` leaves alone).
        const orders = [...h.model.values()].filter((e) => e.collection === 'orders');
        const victims = orders.filter(() => gen.rnd() < 0.1).map((e) => e.id);
        const visit = [...h.model.values()].find((e) => e.collection === 'visits')!;
        const ids = [...victims, filtered[0], `${filtered[0]}-unknown`, visit.id];
        const removedIds = new Set(victims);
        await h.deleteWhere(
          'orders',
          {
            filters: JSON.stringify([
              { property_name: 'keen.id', operator: 'in', property_value: ids },
            ]),
          },
          (e) => removedIds.has(e.id),
        );
        await h.check('keen.id delete');

        // 5. Property deletes: an object with sub-properties (some null), a
        // nested leaf whose parent stays, a leaf of mixed types, and a path
        // that no event has.
        expect(await h.deleteProperty('orders', 'user.address')).toBeGreaterThan(0);
        await h.check('property delete user.address');
        expect(await h.deleteProperty('visits', 'extra.flag')).toBeGreaterThan(0);
        await h.check('property delete extra.flag');
        expect(await h.deleteProperty('orders', 'price')).toBeGreaterThan(0);
        await h.check('property delete price');
        expect(await h.deleteProperty('orders', 'user.address.city')).toBe(0);
        expect(await h.deleteProperty('visits', 'no.such.path')).toBe(0);
        await h.check('property delete of absent paths');

        // 6. Redelivery after the deletes: rewritten events keep their
        // rewritten body (the stored id wins); deleted ones are stored again,
        // as a journal replay re-creates them; new events bring the deleted
        // property back.
        await h.persist(batches[0]);
        await h.persist([...batches[3], ...gen.events(20)]);
        await h.check('redelivered after deletes');

        // 7. Deletes interleaved once more: by a filter on the property, then
        // the whole object it lives in.
        await h.deleteWhere(
          'orders',
          {
            filters: JSON.stringify([
              { property_name: 'user.address.city', operator: 'exists', property_value: true },
            ]),
          },
          (e) => modelRemove(e.event, 'user.address.city') !== undefined,
        );
        await h.deleteProperty('visits', 'user');
        await h.deleteProperty('orders', 'extra');
        await h.check('final');
      } catch (error) {
        if (error instanceof Error) error.message = `(LIFECYCLE_SEED=${seed}) ${error.message}`;
        throw error;
      }
    }, 300_000);

    it('deletes a parent and a child path concurrently without counting any value twice', async () => {
      const gen = generator(7);
      const project = `lifecycle-race-${runTag()}`;
      const h = harness(project);
      await h.persist(gen.events(120));
      const [parent, child] = await Promise.all([
        h.properties.delete(project, 'orders', 'user.address', { batchSize: 5 }),
        h.properties.delete(project, 'orders', 'user.address.city', { batchSize: 5 }),
      ]);
      // Whichever rewrite came first, user.address is gone everywhere now.
      for (const e of h.model.values())
        if (e.collection === 'orders') e.event = modelRemove(e.event, 'user.address') ?? e.event;
      expect(parent.skipped + child.skipped).toBe(0);
      await h.check('concurrent property deletes');
    }, 300_000);

    it('replaces a body only while it is unchanged, and never brings a deleted event back', async () => {
      const gen = generator(5);
      const project = `lifecycle-cas-${runTag()}`;
      const [a, b, c] = gen.events(3).map((e) => ({ ...e, collection: 'orders' }));
      await stores.events.insert(project, [a, b, c]);
      await stores.events.deleteByIds(project, 'orders', [c.id]);
      const changed = { ...a.event, changed: true };
      const replaced = await stores.events.replaceBodies(project, 'orders', [
        { id: a.id, expected: a.event, body: changed },
        // Stale: what was read is no longer stored.
        { id: b.id, expected: { ...b.event, n: -1 }, body: { stale: true } },
        // Deleted: the compare fails, nothing is written.
        { id: c.id, expected: c.event, body: { resurrected: true } },
      ]);
      expect(replaced).toEqual([a.id]);
      // Another collection's name never reaches this event.
      expect(
        await stores.events.replaceBodies(project, 'visits', [
          { id: a.id, expected: changed, body: {} },
        ]),
      ).toEqual([]);
      const stored: StoredEvent[] = [];
      for await (const page of stores.events.scan({ projectId: project, collection: 'orders' }))
        stored.push(...page);
      expect(stored.sort((x, y) => x.timestamp - y.timestamp || (x.id < y.id ? -1 : 1))).toEqual(
        [
          { id: a.id, timestamp: a.timestamp, event: changed },
          { id: b.id, timestamp: b.timestamp, event: b.event },
        ].sort((x, y) => x.timestamp - y.timestamp || (x.id < y.id ? -1 : 1)),
      );
      expect(await stores.events.countCollection(project, 'orders')).toBe(2);
    }, 120_000);

    it('counts carriers in a dry run, changing nothing, and refuses keen and bad names', async () => {
      const gen = generator(11);
      const project = `lifecycle-dry-${runTag()}`;
      const h = harness(project);
      await h.persist(gen.events(60));
      const carriers = [...h.model.values()].filter(
        (e) => e.collection === 'orders' && modelRemove(e.event, 'user.address') !== undefined,
      ).length;
      const dry = await h.properties.delete(project, 'orders', 'user.address', { dryRun: true });
      expect(dry).toEqual({
        scanned: [...h.model.values()].filter((e) => e.collection === 'orders').length,
        updated: carriers,
        skipped: 0,
      });
      // Keen answers 403 for its own properties (docs/keen-compatibility.md, error codes).
      await expect(h.properties.delete(project, 'orders', 'keen.timestamp')).rejects.toMatchObject({
        errorCode: 'KeenPropertyDeleteForbiddenError',
        kind: 'forbidden',
      });
      await expect(h.properties.delete(project, 'orders', 'user..id')).rejects.toMatchObject({
        kind: 'invalid',
      });
      await h.check('dry run');
    }, 300_000);
  });
}

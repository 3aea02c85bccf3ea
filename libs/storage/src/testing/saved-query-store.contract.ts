import { randomUUID } from 'node:crypto';
import { JsonObject } from '@app/events';
import {
  SavedQueryDefinition,
  SavedQueryRecord,
  SavedQueryStore,
} from '../ports/saved-query-store.port';

export interface SavedQueryStoreSubject {
  /** A fresh store over empty storage. */
  store: SavedQueryStore;
  /** A second store instance over the same storage (another process's view of it). */
  other: SavedQueryStore;
  /** Closes both and releases whatever the factory opened. */
  close(): Promise<void>;
}

let counter = 0;
const uniqueProject = (tag: string) => `sq-${tag}-${process.pid}-${Date.now()}-${counter++}`;

const T0 = Date.UTC(2026, 0, 1);
const HOUR = 3_600_000;
const LEASE = 60_000;
const MANY = { maxPerProject: 100 };

function definition(
  projectId: string,
  name: string,
  fields: Partial<SavedQueryDefinition> = {},
): SavedQueryDefinition {
  return {
    projectId,
    name,
    query: { analysis_type: 'count', event_collection: 'purchases', timeframe: 'this_7_days' },
    metadata: { display_name: `Query ${name}` },
    refreshRate: 0,
    createdAt: new Date(T0).toISOString(),
    updatedAt: new Date(T0).toISOString(),
    version: randomUUID(),
    ...fields,
  };
}

/** The definition part of a record, to compare with what was put. */
const definitionOf = (r: SavedQueryRecord): SavedQueryDefinition => ({
  projectId: r.projectId,
  name: r.name,
  query: r.query,
  metadata: r.metadata,
  refreshRate: r.refreshRate,
  createdAt: r.createdAt,
  updatedAt: r.updatedAt,
  version: r.version,
});

/**
 * Keys a client may choose inside a query or its metadata that trip stores
 * which keep them as field names: `$` operators, dots, prototype names.
 */
const HOSTILE_METADATA: JsonObject = {
  $where: 'x',
  'a.b': { 'c.d': 1, $gt: [1, { $ne: null }] },
  constructor: { prototype: 'p' },
  toString: 'naïve 日本',
  visualization: { chart_type: 'metric', colors: ['#fff'] },
};

/**
 * What every SavedQueryStore adapter must do, against the real store: a
 * definition round-trips exactly (hostile keys included), a replace keeps the
 * creation date and drops the cached answer, list is by name and per project,
 * the per-project cap refuses creates only, and the refresh lease is exclusive
 * between two store instances over the same storage, expires, and guards
 * saving an answer.
 */
export function describeSavedQueryStoreContract(
  driver: string,
  open: () => Promise<SavedQueryStoreSubject>,
): void {
  describe(`SavedQueryStore contract: ${driver}`, () => {
    let subject: SavedQueryStoreSubject;
    let store: SavedQueryStore;
    let other: SavedQueryStore;

    beforeEach(async () => {
      subject = await open();
      ({ store, other } = subject);
    });
    afterEach(async () => subject.close());

    it('stores exactly what was put, hostile keys included, and nothing for another project', async () => {
      const p = uniqueProject('put');
      const def = definition(p, 'daily-revenue', {
        query: {
          analysis_type: 'sum',
          event_collection: 'purchases',
          target_property: 'price',
          filters: [{ property_name: 'a.b', operator: 'eq', property_value: { $gt: 1 } }],
          timeframe: { start: '2026-01-01T00:00:00.000Z', end: '2026-01-02T00:00:00.000Z' },
        },
        metadata: HOSTILE_METADATA,
      });
      expect(await store.put(def, { ...MANY, dueAt: null })).toBe('created');
      const got = await store.get(p, 'daily-revenue');
      expect(got).not.toBeNull();
      expect(definitionOf(got!)).toEqual(def);
      expect([got!.cached, got!.dueAt, got!.leaseUntil, got!.leaseOwner]).toEqual([
        null,
        null,
        0,
        null,
      ]);
      expect(Object.getPrototypeOf(got!.metadata.constructor)).toBe(Object.prototype);
      expect(await other.get(p, 'daily-revenue')).toEqual(got);
      expect(await store.get(p, 'daily-revenue-2')).toBeNull();
      expect(await store.get(uniqueProject('none'), 'daily-revenue')).toBeNull();
      expect(await store.list(uniqueProject('none'))).toEqual([]);
    });

    it('replaces: new fields and version, first creation date kept, cached answer dropped', async () => {
      const p = uniqueProject('replace');
      const first = definition(p, 'q', { refreshRate: 14_400 });
      await store.put(first, { ...MANY, dueAt: T0 });
      const claimed = await store.claimDue('owner-a', T0, LEASE);
      expect(claimed?.name).toBe('q');
      const response = { result: 42 };
      expect(
        await store.saveResult(
          p,
          'q',
          'owner-a',
          { version: first.version, response, computedAt: T0 + 5 },
          T0,
          T0 + 4 * HOUR,
        ),
      ).toBe(true);
      expect((await store.get(p, 'q'))!.cached).toEqual({
        version: first.version,
        response,
        computedAt: T0 + 5,
      });

      const second = definition(p, 'q', {
        query: {
          analysis_type: 'count_unique',
          event_collection: 'visits',
          target_property: 'user.id',
        },
        metadata: { display_name: 'Renamed' },
        refreshRate: 86_400,
        createdAt: new Date(T0 + HOUR).toISOString(),
        updatedAt: new Date(T0 + HOUR).toISOString(),
      });
      expect(await store.put(second, { ...MANY, dueAt: T0 + HOUR })).toBe('replaced');
      const got = (await store.get(p, 'q'))!;
      expect(definitionOf(got)).toEqual({ ...second, createdAt: first.createdAt });
      expect([got.cached, got.dueAt, got.leaseOwner, got.leaseUntil]).toEqual([
        null,
        T0 + HOUR,
        null,
        0,
      ]);

      // Back to a plain saved query: never due again.
      await store.put(definition(p, 'q'), { ...MANY, dueAt: null });
      expect((await store.get(p, 'q'))!.dueAt).toBeNull();
      expect(await store.claimDue('owner-a', T0 + 100 * HOUR, LEASE)).toBeNull();
    });

    it('lists a project by name, deletes one, and keeps projects apart', async () => {
      const p = uniqueProject('list');
      const q = uniqueProject('list-other');
      for (const name of ['zeta', 'Alpha', 'alpha-2', 'alpha', 'a.b', '_x', '9']) {
        await store.put(definition(p, name), { ...MANY, dueAt: null });
      }
      await store.put(definition(q, 'alpha'), { ...MANY, dueAt: null });
      const names = ['zeta', 'Alpha', 'alpha-2', 'alpha', 'a.b', '_x', '9'].sort();
      expect((await store.list(p)).map((r) => r.name)).toEqual(names);
      expect((await other.list(p)).map((r) => [r.projectId, r.name])).toEqual(
        names.map((n) => [p, n]),
      );
      expect(await store.delete(p, 'alpha')).toBe(true);
      expect(await store.delete(p, 'alpha')).toBe(false);
      expect(await store.get(p, 'alpha')).toBeNull();
      expect((await store.list(p)).map((r) => r.name)).toEqual(names.filter((n) => n !== 'alpha'));
      expect((await store.list(q)).map((r) => r.name)).toEqual(['alpha']);
    });

    it('refuses a create past the per-project cap, never a replace', async () => {
      const p = uniqueProject('cap');
      const cap = { maxPerProject: 2, dueAt: null };
      expect(await store.put(definition(p, 'a'), cap)).toBe('created');
      expect(await store.put(definition(p, 'b'), cap)).toBe('created');
      expect(await store.put(definition(p, 'c'), cap)).toBe('over_limit');
      expect(await store.get(p, 'c')).toBeNull();
      expect(await store.put(definition(p, 'b', { metadata: { v: 2 } }), cap)).toBe('replaced');
      expect((await store.get(p, 'b'))!.metadata).toEqual({ v: 2 });
      expect(await store.put(definition(uniqueProject('cap-other'), 'c'), cap)).toBe('created');
      await store.delete(p, 'a');
      expect(await store.put(definition(p, 'c'), cap)).toBe('created');
    });

    it('leases a due query to one of two store instances at a time, most overdue first', async () => {
      const p = uniqueProject('lease');
      await store.put(definition(p, 'later', { refreshRate: 14_400 }), { ...MANY, dueAt: T0 + 10 });
      await store.put(definition(p, 'sooner', { refreshRate: 14_400 }), { ...MANY, dueAt: T0 });
      await store.put(definition(p, 'plain'), { ...MANY, dueAt: null });
      expect(await store.claimDue('a', T0 - 1, LEASE)).toBeNull();

      const [a, b] = await Promise.all([
        store.claimDue('a', T0 + 5, LEASE),
        other.claimDue('b', T0 + 5, LEASE),
      ]);
      const winners = [a, b].filter((r) => r !== null);
      expect(winners.map((r) => r!.name)).toEqual(['sooner']);
      const winner = a ? 'a' : 'b';
      expect([winners[0]!.leaseOwner, winners[0]!.leaseUntil]).toEqual([winner, T0 + 5 + LEASE]);
      expect((await other.get(p, 'sooner'))!.leaseOwner).toBe(winner);

      // Both due now; each instance gets a different one, and nothing is left.
      const [c, d] = await Promise.all([
        store.claimDue('c', T0 + 20, LEASE),
        other.claimDue('d', T0 + 20, LEASE),
      ]);
      expect([c, d].filter((r) => r !== null).map((r) => r!.name)).toEqual(['later']);
      expect(await store.claimDue('e', T0 + 21, LEASE)).toBeNull();
    });

    it('lets another process take an expired lease; the late owner can then neither save nor release', async () => {
      const p = uniqueProject('expiry');
      const def = definition(p, 'q', { refreshRate: 14_400 });
      await store.put(def, { ...MANY, dueAt: T0 });
      expect((await store.claimDue('crashed', T0, LEASE))?.name).toBe('q');
      expect(await other.claimDue('b', T0 + LEASE - 1, LEASE)).toBeNull();
      const taken = await other.claimDue('b', T0 + LEASE, LEASE);
      expect([taken?.name, taken?.leaseOwner]).toEqual(['q', 'b']);

      const late = { version: def.version, response: { result: 1 }, computedAt: T0 + LEASE + 1 };
      expect(await store.saveResult(p, 'q', 'crashed', late, T0, T0 + 4 * HOUR)).toBe(false);
      await store.release(p, 'q', 'crashed', T0);
      expect((await store.get(p, 'q'))!.leaseOwner).toBe('b');

      const fresh = { version: def.version, response: { result: 2 }, computedAt: T0 + LEASE + 2 };
      expect(await other.saveResult(p, 'q', 'b', fresh, T0 + LEASE, T0 + LEASE + 4 * HOUR)).toBe(
        true,
      );
      const got = (await store.get(p, 'q'))!;
      expect([got.cached, got.dueAt, got.leaseOwner, got.leaseUntil]).toEqual([
        fresh,
        T0 + LEASE + 4 * HOUR,
        null,
        0,
      ]);
      expect(await store.claimDue('c', T0 + LEASE + 4 * HOUR - 1, LEASE)).toBeNull();
      expect((await store.claimDue('c', T0 + LEASE + 4 * HOUR, LEASE))?.cached).toEqual(fresh);
    });

    it('never saves an answer computed from a replaced definition', async () => {
      const p = uniqueProject('stale');
      const old = definition(p, 'q', { refreshRate: 14_400 });
      await store.put(old, { ...MANY, dueAt: T0 });
      await store.claimDue('a', T0, LEASE);
      const replaced = definition(p, 'q', {
        refreshRate: 14_400,
        query: { analysis_type: 'count', event_collection: 'other' },
      });
      await other.put(replaced, { ...MANY, dueAt: T0 + 1 });
      const result = { version: old.version, response: { result: 7 }, computedAt: T0 + 2 };
      expect(await store.saveResult(p, 'q', 'a', result, T0, T0 + 4 * HOUR)).toBe(false);
      const got = (await store.get(p, 'q'))!;
      expect([got.version, got.cached, got.dueAt, got.leaseOwner]).toEqual([
        replaced.version,
        null,
        T0 + 1,
        null,
      ]);
      // The replace freed the lease: the new definition is computed right away.
      expect((await other.claimDue('b', T0 + 1, LEASE))?.version).toBe(replaced.version);
    });

    it('forces a refresh: due at once, also when requested while a computation runs', async () => {
      const p = uniqueProject('force');
      const def = definition(p, 'q', { refreshRate: 14_400 });
      await store.put(def, { ...MANY, dueAt: T0 });
      await store.put(definition(p, 'plain'), { ...MANY, dueAt: null });
      expect(await store.requestRefresh(p, 'plain', T0)).toBe(false);
      expect(await store.requestRefresh(p, 'missing', T0)).toBe(false);
      expect(await store.requestRefresh(uniqueProject('x'), 'q', T0)).toBe(false);

      await store.claimDue('a', T0, LEASE);
      expect(await other.requestRefresh(p, 'q', T0 + 10)).toBe(true);
      const result = { version: def.version, response: { result: 3 }, computedAt: T0 + 20 };
      expect(await store.saveResult(p, 'q', 'a', result, T0, T0 + 4 * HOUR)).toBe(true);
      const got = (await store.get(p, 'q'))!;
      expect([got.cached, got.dueAt]).toEqual([result, T0 + 10]);
      expect((await store.claimDue('b', T0 + 30, LEASE))?.name).toBe('q');

      // A failed computation gives its lease back and is due at the retry time.
      await store.release(p, 'q', 'b', T0 + 1000);
      const released = (await store.get(p, 'q'))!;
      expect([released.leaseOwner, released.leaseUntil, released.dueAt]).toEqual([
        null,
        0,
        T0 + 1000,
      ]);
      expect(released.cached).toEqual(result);
    });
  });
}

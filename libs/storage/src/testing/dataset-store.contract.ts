import { JsonObject, JsonValue } from '@app/events';
import {
  BucketRow,
  CollectionChange,
  DatasetDefinition,
  DatasetStore,
  DirtyBucket,
} from '../ports/dataset-store.port';

export interface DatasetStoreSubject {
  /** A fresh store over empty storage. */
  store: DatasetStore;
  /** A second store instance over the same storage (another process's view of it). */
  other: DatasetStore;
  /** Closes both and releases whatever the factory opened. */
  close(): Promise<void>;
}

let counter = 0;
const uniqueProject = (tag: string) => `ds-${tag}-${process.pid}-${Date.now()}-${counter++}`;

const T0 = Date.UTC(2026, 0, 1);
const HOUR = 3_600_000;
const LEASE = 60_000;

function definition(
  projectId: string,
  name: string,
  fields: Partial<DatasetDefinition> = {},
): DatasetDefinition {
  return {
    projectId,
    name,
    displayName: `Dataset ${name}`,
    query: {
      analysis_type: 'count',
      event_collection: 'purchases',
      timeframe: 'this_30_days',
      interval: 'hourly',
      timezone: 'UTC',
    },
    indexBy: ['item.id'],
    collection: 'purchases',
    createdAt: new Date(T0).toISOString(),
    updatedAt: new Date(T0).toISOString(),
    ...fields,
  };
}

const hourBucket = (i: number) => ({ startMs: T0 + i * HOUR, endMs: T0 + (i + 1) * HOUR });
const key = (...values: JsonValue[]) => JSON.stringify(values);

/** Code-unit order; the names below keep clear of the ranges where it differs from UTF-8 byte order. */
const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const sortedBuckets = (buckets: DirtyBucket[]) =>
  [...buckets].sort(
    (a, b) => byText(a.projectId, b.projectId) || byText(a.name, b.name) || a.startMs - b.startMs,
  );
const sortedWatched = (list: { projectId: string; collection: string }[]) =>
  [...list].sort((a, b) => byText(a.projectId, b.projectId) || byText(a.collection, b.collection));

/**
 * Text chosen to trip stores that keep names or values as document fields or
 * object keys: `$` operators, dots, prototype member names, quotes and
 * backslashes (which JSON escapes), non-ASCII and astral characters.
 */
const HOSTILE_NAMES = [
  '$where',
  'a.b',
  '__proto__',
  'constructor',
  'toString',
  'say "hi"\\now',
  'naïve 日本 🙂',
  '.',
  '$',
];
const HOSTILE_INDEX_KEYS = [
  key('$gt'),
  key('a.b', '$where'),
  key('__proto__'),
  key({ $ne: null, 'x.y': 1 }),
  key(null),
  key('naïve 日本 🙂', 3.5),
  key('"', '\\'),
];
const HOSTILE_VALUE: JsonObject = {
  $where: 'x',
  'a.b': { 'c.d': 1, $gt: [1, { $ne: null }] },
  constructor: { prototype: 'p' },
  toString: 'naïve 日本 🙂',
  nested: { deep: [{ $in: [1, 2] }, null, true, -0.125, 'ok'] },
};

/**
 * What every DatasetStore adapter must do, against the real store: definitions
 * round-trip exactly and a replace or delete drops what was computed; the
 * change log keeps only changes of watched collections, oldest first; dirty
 * marks count up, are leased to one of two store instances at a time and
 * cleared only when nothing marked them again; a finished bucket's rows
 * replace the previous ones exactly; reads, prunes and projects stay apart;
 * hostile names and values are data.
 */
export function describeDatasetStoreContract(
  driver: string,
  open: () => Promise<DatasetStoreSubject>,
): void {
  describe(`DatasetStore contract: ${driver}`, () => {
    let subject: DatasetStoreSubject;
    let store: DatasetStore;
    let other: DatasetStore;

    beforeEach(async () => {
      subject = await open();
      ({ store, other } = subject);
    });
    afterEach(async () => subject.close());

    /** Marks, leases and finishes buckets so that the dataset has exactly these rows. */
    async function computed(
      projectId: string,
      name: string,
      rows: Record<number, BucketRow[]>,
    ): Promise<void> {
      const starts = Object.keys(rows).map(Number);
      await store.markDirty(
        projectId,
        name,
        starts.map((s) => ({ startMs: s, endMs: s + HOUR })),
      );
      const leased = await store.leaseDirty(1000, LEASE, T0);
      for (const b of leased) {
        if (b.projectId === projectId && b.name === name)
          await store.finishBucket(b, rows[b.startMs]);
      }
      expect(await store.countDirty(projectId, name)).toBe(0);
    }

    describe('definitions', () => {
      it('stores exactly what was put; true only on create; lists by name and per project', async () => {
        const p = uniqueProject('defs');
        const q = uniqueProject('defs-other');
        expect(await store.listDefinitions()).toEqual([]);
        expect(await store.listDefinitions(p)).toEqual([]);
        const daily = definition(p, 'daily', {
          query: {
            analysis_type: 'sum',
            event_collection: 'purchases',
            target_property: 'price',
            filters: [{ property_name: 'a.b', operator: 'eq', property_value: HOSTILE_VALUE }],
            group_by: ['$where'],
          },
          indexBy: ['a.b', '$where', 'constructor'],
        });
        expect(await store.putDefinition(daily)).toBe(true);
        expect(await store.getDefinition(p, 'daily')).toEqual(daily);
        expect(await other.getDefinition(p, 'daily')).toEqual(daily);
        expect(await store.getDefinition(p, 'Daily')).toBeNull();
        expect(await store.getDefinition(q, 'daily')).toBeNull();

        const names = ['zeta', 'Alpha', 'alpha-2', 'alpha', 'a.b', '_x', '9'];
        for (const n of names) expect(await store.putDefinition(definition(p, n))).toBe(true);
        expect(await store.putDefinition(definition(q, 'alpha'))).toBe(true);
        const inP = [...names, 'daily'].sort(byText);
        expect((await store.listDefinitions(p)).map((d) => d.name)).toEqual(inP);
        expect(await other.listDefinitions(q)).toEqual([definition(q, 'alpha')]);
        const all = await store.listDefinitions();
        expect(all.map((d) => [d.projectId, d.name])).toEqual(
          [...inP.map((n) => [p, n]), [q, 'alpha']].sort(
            (a, b) => byText(a[0], b[0]) || byText(a[1], b[1]),
          ),
        );
        expect(all.find((d) => d.name === 'daily')).toEqual(daily);

        const replaced = definition(p, 'daily', {
          displayName: 'Renamed',
          query: { analysis_type: 'count', event_collection: 'visits' },
          indexBy: [],
          collection: 'visits',
          updatedAt: new Date(T0 + HOUR).toISOString(),
        });
        expect(await store.putDefinition(replaced)).toBe(false);
        expect(await other.getDefinition(p, 'daily')).toEqual(replaced);

        expect(await store.deleteDefinition(p, 'alpha')).toBe(true);
        expect(await store.deleteDefinition(p, 'alpha')).toBe(false);
        expect(await store.deleteDefinition(uniqueProject('none'), 'zeta')).toBe(false);
        expect(await store.getDefinition(p, 'alpha')).toBeNull();
        expect(await store.getDefinition(q, 'alpha')).toEqual(definition(q, 'alpha'));
        expect((await store.listDefinitions(p)).map((d) => d.name)).toEqual(
          inP.filter((n) => n !== 'alpha'),
        );
      });

      it('drops the rows and marks of a replaced or deleted dataset, and only of it', async () => {
        const p = uniqueProject('drop');
        for (const n of ['replaced', 'deleted', 'kept']) {
          await store.putDefinition(definition(p, n));
          await computed(p, n, { [T0]: [{ indexKey: key('a'), value: 1 }] });
          await store.markDirty(p, n, [hourBucket(1), hourBucket(2)]);
        }
        expect(await store.putDefinition(definition(p, 'replaced', { displayName: 'v2' }))).toBe(
          false,
        );
        expect(await store.deleteDefinition(p, 'deleted')).toBe(true);
        for (const n of ['replaced', 'deleted']) {
          expect(await other.readRows(p, n, key('a'), T0, T0 + HOUR)).toEqual([]);
          expect(await other.countDirty(p, n)).toBe(0);
        }
        expect(await other.readRows(p, 'kept', key('a'), T0, T0 + HOUR)).toEqual([
          { startMs: T0, value: 1 },
        ]);
        expect(await other.countDirty(p, 'kept')).toBe(2);
        const leased = await other.leaseDirty(100, LEASE, T0 + 1);
        expect(sortedBuckets(leased)).toEqual([
          { projectId: p, name: 'kept', ...hourBucket(1), seq: 1 },
          { projectId: p, name: 'kept', ...hourBucket(2), seq: 1 },
        ]);
      });

      it('lists the watched projects and collections', async () => {
        const p = uniqueProject('watch');
        const q = uniqueProject('watch-other');
        expect(await store.watchedCollections()).toEqual([]);
        await store.putDefinition(definition(p, 'a', { collection: 'purchases' }));
        await store.putDefinition(definition(p, 'b', { collection: 'purchases' }));
        await store.putDefinition(definition(p, 'c', { collection: 'a.b $x' }));
        await store.putDefinition(definition(q, 'a', { collection: 'constructor' }));
        expect(sortedWatched(await other.watchedCollections())).toEqual(
          sortedWatched([
            { projectId: p, collection: 'purchases' },
            { projectId: p, collection: 'a.b $x' },
            { projectId: q, collection: 'constructor' },
          ]),
        );
        await store.deleteDefinition(p, 'a');
        await store.putDefinition(definition(p, 'c', { collection: 'visits' }));
        expect(sortedWatched(await other.watchedCollections())).toEqual(
          sortedWatched([
            { projectId: p, collection: 'purchases' },
            { projectId: p, collection: 'visits' },
            { projectId: q, collection: 'constructor' },
          ]),
        );
      });
    });

    describe('the change log', () => {
      it('keeps only changes of collections with a dataset in that project, oldest first', async () => {
        const p = uniqueProject('changes');
        const q = uniqueProject('changes-other');
        await store.putDefinition(definition(p, 'a', { collection: 'purchases' }));
        await store.putDefinition(definition(q, 'a', { collection: 'visits' }));
        const change = (collection: string, i: number): CollectionChange => ({
          collection,
          fromMs: T0 + i * HOUR,
          toMs: T0 + i * HOUR + 1,
        });

        await store.recordChanges(p, []);
        await store.recordChanges(p, [change('purchases', 0), change('visits', 1)]);
        await store.recordChanges(q, [change('purchases', 2), change('visits', 3)]);
        await other.recordChanges(p, [change('purchases', 4), change('purchases', 5)]);
        await store.recordChanges(uniqueProject('none'), [change('purchases', 6)]);
        await store.recordChanges(q, [change('visits', 7)]);

        const expected = [
          { projectId: p, ...change('purchases', 0) },
          { projectId: q, ...change('visits', 3) },
          { projectId: p, ...change('purchases', 4) },
          { projectId: p, ...change('purchases', 5) },
          { projectId: q, ...change('visits', 7) },
        ];
        const stored = await other.readChanges(100);
        expect(stored.map(({ id: _id, ...c }) => c)).toEqual(expected);
        const ids = stored.map((c) => c.id);
        expect(ids.every((id) => typeof id === 'string')).toBe(true);
        expect(new Set(ids).size).toBe(ids.length);
        expect(await store.readChanges(2)).toEqual(stored.slice(0, 2));

        await store.dropChanges([]);
        await store.dropChanges([ids[0], ids[3]]);
        expect(await other.readChanges(100)).toEqual([stored[1], stored[2], stored[4]]);
        await other.dropChanges([ids[1], ids[2], ids[4], ids[0]]);
        expect(await store.readChanges(100)).toEqual([]);

        // A dataset deleted: its collection's changes are no longer kept.
        await store.deleteDefinition(p, 'a');
        await store.recordChanges(p, [change('purchases', 8)]);
        expect(await store.readChanges(100)).toEqual([]);
      });
    });

    describe('dirty buckets', () => {
      it('marks with seq 1, bumps seq on a marked bucket, and counts per dataset', async () => {
        const p = uniqueProject('mark');
        await store.putDefinition(definition(p, 'a'));
        await store.putDefinition(definition(p, 'b'));
        await store.markDirty(p, 'a', []);
        expect(await store.countDirty(p, 'a')).toBe(0);
        await store.markDirty(p, 'a', [hourBucket(0), hourBucket(1)]);
        await other.markDirty(p, 'a', [
          hourBucket(1),
          { startMs: T0 + 2 * HOUR, endMs: T0 + 150 * 60_000 },
        ]);
        await store.markDirty(p, 'a', [hourBucket(1)]);
        await store.markDirty(p, 'b', [hourBucket(5)]);
        expect(await other.countDirty(p, 'a')).toBe(3);
        expect(await other.countDirty(p, 'b')).toBe(1);
        expect(await other.countDirty(p, 'c')).toBe(0);
        expect(await other.countDirty(uniqueProject('none'), 'a')).toBe(0);

        expect(sortedBuckets(await store.leaseDirty(100, LEASE, T0))).toEqual([
          { projectId: p, name: 'a', ...hourBucket(0), seq: 1 },
          { projectId: p, name: 'a', ...hourBucket(1), seq: 3 },
          { projectId: p, name: 'a', startMs: T0 + 2 * HOUR, endMs: T0 + 150 * 60_000, seq: 1 },
          { projectId: p, name: 'b', ...hourBucket(5), seq: 1 },
        ]);
        // Marking a leased bucket bumps its seq; the lease holds.
        await store.markDirty(p, 'a', [hourBucket(0)]);
        expect(await other.leaseDirty(100, LEASE, T0 + LEASE - 1)).toEqual([]);
        const again = await other.leaseDirty(100, LEASE, T0 + LEASE);
        expect(sortedBuckets(again).map((b) => [b.name, b.startMs, b.seq])).toEqual([
          ['a', T0, 2],
          ['a', T0 + HOUR, 3],
          ['a', T0 + 2 * HOUR, 1],
          ['b', T0 + 5 * HOUR, 1],
        ]);
      });

      it('leases each bucket once until its lease expires, at most limit at a time', async () => {
        const p = uniqueProject('lease');
        await store.putDefinition(definition(p, 'a'));
        const buckets = Array.from({ length: 7 }, (_, i) => hourBucket(i));
        await store.markDirty(p, 'a', buckets);
        const first = await store.leaseDirty(3, LEASE, T0);
        const second = await other.leaseDirty(3, LEASE, T0 + 1);
        const third = await store.leaseDirty(3, LEASE, T0 + 2);
        expect([first.length, second.length, third.length]).toEqual([3, 3, 1]);
        expect(await other.leaseDirty(3, LEASE, T0 + 3)).toEqual([]);
        const all = sortedBuckets([...first, ...second, ...third]);
        expect(all).toEqual(buckets.map((b) => ({ projectId: p, name: 'a', ...b, seq: 1 })));

        // The first lease expires first; the others hold until theirs do.
        expect(sortedBuckets(await other.leaseDirty(10, LEASE, T0 + LEASE))).toEqual(
          sortedBuckets(first),
        );
        expect(await store.leaseDirty(10, LEASE, T0 + LEASE)).toEqual([]);
        expect(sortedBuckets(await store.leaseDirty(10, LEASE, T0 + LEASE + 2))).toEqual(
          sortedBuckets([...second, ...third]),
        );
        expect(await store.leaseDirty(0, LEASE, T0 + 10 * LEASE)).toEqual([]);
      });

      it('never leases one bucket to two store instances at the same time', async () => {
        const p = uniqueProject('race');
        await store.putDefinition(definition(p, 'a'));
        await store.putDefinition(definition(p, 'b'));
        const buckets = Array.from({ length: 12 }, (_, i) => hourBucket(i));
        await store.markDirty(p, 'a', buckets);
        await other.markDirty(p, 'b', buckets);
        const taken: DirtyBucket[] = [];
        for (let round = 0; round < 8; round++) {
          const [mine, theirs] = await Promise.all([
            store.leaseDirty(4, LEASE, T0 + round),
            other.leaseDirty(4, LEASE, T0 + round),
          ]);
          taken.push(...mine, ...theirs);
        }
        const ids = taken.map((b) => `${b.name}@${b.startMs}`);
        expect(new Set(ids).size).toBe(ids.length);
        expect(sortedBuckets(taken)).toEqual([
          ...buckets.map((b) => ({ projectId: p, name: 'a', ...b, seq: 1 })),
          ...buckets.map((b) => ({ projectId: p, name: 'b', ...b, seq: 1 })),
        ]);
      });
    });

    describe('finishing a bucket', () => {
      it("replaces the bucket's rows and clears its mark when nothing marked it again", async () => {
        const p = uniqueProject('finish');
        await store.putDefinition(definition(p, 'a'));
        await store.markDirty(p, 'a', [hourBucket(0), hourBucket(1)]);
        const leased = sortedBuckets(await store.leaseDirty(10, LEASE, T0));
        await store.finishBucket(leased[0], [
          { indexKey: key('x'), value: 1 },
          { indexKey: key('y'), value: { sum: 2, n: [1, 2] } },
        ]);
        await other.finishBucket(leased[1], [{ indexKey: key('x'), value: 3 }]);
        expect(await other.countDirty(p, 'a')).toBe(0);
        expect(await other.readRows(p, 'a', key('x'), T0, T0 + 2 * HOUR)).toEqual([
          { startMs: T0, value: 1 },
          { startMs: T0 + HOUR, value: 3 },
        ]);
        expect(await store.readRows(p, 'a', key('y'), T0, T0 + 2 * HOUR)).toEqual([
          { startMs: T0, value: { sum: 2, n: [1, 2] } },
        ]);

        // Computed again: `y` is gone from the bucket, `z` is new, `x` changed.
        await store.markDirty(p, 'a', [hourBucket(0)]);
        const [again] = await store.leaseDirty(10, LEASE, T0 + 1);
        expect(again).toEqual({ projectId: p, name: 'a', ...hourBucket(0), seq: 1 });
        await store.finishBucket(again, [
          { indexKey: key('x'), value: 10 },
          { indexKey: key('z'), value: null },
        ]);
        expect(await other.readRows(p, 'a', key('x'), T0, T0 + 2 * HOUR)).toEqual([
          { startMs: T0, value: 10 },
          { startMs: T0 + HOUR, value: 3 },
        ]);
        expect(await other.readRows(p, 'a', key('y'), T0, T0 + 2 * HOUR)).toEqual([]);
        expect(await other.readRows(p, 'a', key('z'), T0, T0 + 2 * HOUR)).toEqual([
          { startMs: T0, value: null },
        ]);

        // No rows at all: the bucket is empty.
        await store.markDirty(p, 'a', [hourBucket(1)]);
        const [emptied] = await store.leaseDirty(10, LEASE, T0 + 2);
        await store.finishBucket(emptied, []);
        expect(await other.readRows(p, 'a', key('x'), T0, T0 + 2 * HOUR)).toEqual([
          { startMs: T0, value: 10 },
        ]);
        expect(await other.countDirty(p, 'a')).toBe(0);
        expect(await other.leaseDirty(10, LEASE, T0 + 10 * LEASE)).toEqual([]);
      });

      it('keeps a bucket marked again meanwhile dirty, leasable again at once', async () => {
        const p = uniqueProject('remark');
        await store.putDefinition(definition(p, 'a'));
        await store.markDirty(p, 'a', [hourBucket(0)]);
        const [leased] = await store.leaseDirty(10, LEASE, T0);
        await other.markDirty(p, 'a', [hourBucket(0)]);
        await store.finishBucket(leased, [{ indexKey: key('x'), value: 1 }]);
        // The rows are stored (they are as fresh as any), the mark stays.
        expect(await other.readRows(p, 'a', key('x'), T0, T0 + HOUR)).toEqual([
          { startMs: T0, value: 1 },
        ]);
        expect(await other.countDirty(p, 'a')).toBe(1);
        const [again] = await other.leaseDirty(10, LEASE, T0 + 1);
        expect(again).toEqual({ projectId: p, name: 'a', ...hourBucket(0), seq: 2 });
        await other.finishBucket(again, [{ indexKey: key('x'), value: 2 }]);
        expect(await store.countDirty(p, 'a')).toBe(0);
        expect(await store.readRows(p, 'a', key('x'), T0, T0 + HOUR)).toEqual([
          { startMs: T0, value: 2 },
        ]);
      });

      it('stores nothing for a dataset deleted meanwhile, nor for one never defined', async () => {
        const p = uniqueProject('deleted');
        await store.putDefinition(definition(p, 'a'));
        await store.markDirty(p, 'a', [hourBucket(0)]);
        const [leased] = await store.leaseDirty(10, LEASE, T0);
        await other.deleteDefinition(p, 'a');
        await store.finishBucket(leased, [{ indexKey: key('x'), value: 1 }]);
        expect(await other.readRows(p, 'a', key('x'), T0, T0 + HOUR)).toEqual([]);
        await other.putDefinition(definition(p, 'a'));
        expect(await other.readRows(p, 'a', key('x'), T0, T0 + HOUR)).toEqual([]);
        expect(await other.countDirty(p, 'a')).toBe(0);

        // A mark left for a dataset that does not exist is computed once and
        // goes away, rather than being leased again forever.
        await store.markDirty(p, 'ghost', [hourBucket(3)]);
        const [ghost] = await store.leaseDirty(10, LEASE, T0 + 1);
        expect(ghost).toEqual({ projectId: p, name: 'ghost', ...hourBucket(3), seq: 1 });
        await store.finishBucket(ghost, [{ indexKey: key('x'), value: 1 }]);
        expect(await other.readRows(p, 'ghost', key('x'), T0, T0 + 10 * HOUR)).toEqual([]);
        expect(await other.countDirty(p, 'ghost')).toBe(0);
        expect(await other.leaseDirty(10, LEASE, T0 + 10 * LEASE)).toEqual([]);
      });
    });

    describe('rows', () => {
      it('reads one index key, buckets starting in [from, to), by start', async () => {
        const p = uniqueProject('read');
        await store.putDefinition(definition(p, 'a'));
        await store.putDefinition(definition(p, 'ab'));
        const rows: Record<number, BucketRow[]> = {};
        // Marked out of order, with far and epoch starts, to check the order is by time.
        for (const i of [5, 0, 3, 1, 24, 2, 1000]) {
          rows[T0 + i * HOUR] = [
            { indexKey: key('x'), value: i },
            { indexKey: key('x', 1), value: i - 100 },
            { indexKey: key('xy'), value: [i] },
          ];
        }
        rows[0] = [{ indexKey: key('x'), value: 'epoch' }];
        await computed(p, 'a', rows);
        await computed(p, 'ab', { [T0]: [{ indexKey: key('x'), value: 'other dataset' }] });

        const read = (indexKey: string, from: number, to: number) =>
          other.readRows(p, 'a', indexKey, from, to);
        const at = (...hours: number[]) => hours.map((i) => ({ startMs: T0 + i * HOUR, value: i }));
        expect(await read(key('x'), T0, T0 + 6 * HOUR)).toEqual(at(0, 1, 2, 3, 5));
        expect(await read(key('x'), T0 + HOUR, T0 + 5 * HOUR)).toEqual(at(1, 2, 3));
        expect(await read(key('x'), T0 + HOUR + 1, T0 + 5 * HOUR + 1)).toEqual(at(2, 3, 5));
        expect(await read(key('x'), T0, T0)).toEqual([]);
        expect(await read(key('x'), T0 + 6 * HOUR, T0 + 24 * HOUR)).toEqual([]);
        expect(await read(key('x'), 0, T0 + 2000 * HOUR)).toEqual([
          { startMs: 0, value: 'epoch' },
          ...at(0, 1, 2, 3, 5, 24, 1000),
        ]);
        expect(await read(key('x', 1), T0, T0 + 2 * HOUR)).toEqual([
          { startMs: T0, value: -100 },
          { startMs: T0 + HOUR, value: -99 },
        ]);
        expect(await read(key('xy'), T0 + 24 * HOUR, T0 + 25 * HOUR)).toEqual([
          { startMs: T0 + 24 * HOUR, value: [24] },
        ]);
        expect(await read(key('y'), 0, T0 + 2000 * HOUR)).toEqual([]);
        expect(await read('x', 0, T0 + 2000 * HOUR)).toEqual([]);
        expect(await other.readRows(p, 'ab', key('x'), 0, T0 + HOUR)).toEqual([
          { startMs: T0, value: 'other dataset' },
        ]);
      });

      it('prunes rows and marks of buckets that start before a time, in one dataset only', async () => {
        const p = uniqueProject('prune');
        await store.putDefinition(definition(p, 'a'));
        await store.putDefinition(definition(p, 'b'));
        const rows: Record<number, BucketRow[]> = {};
        for (const i of [0, 1, 2, 3]) {
          rows[T0 + i * HOUR] = [
            { indexKey: key('x'), value: i },
            { indexKey: key('y'), value: i },
          ];
        }
        await computed(p, 'a', rows);
        await computed(p, 'b', rows);
        await store.markDirty(p, 'a', [hourBucket(0), hourBucket(1), hourBucket(2), hourBucket(5)]);
        await store.markDirty(p, 'b', [hourBucket(0)]);

        await other.pruneBefore(p, 'a', T0 + 2 * HOUR);
        for (const k of [key('x'), key('y')]) {
          expect(await store.readRows(p, 'a', k, 0, T0 + 10 * HOUR)).toEqual([
            { startMs: T0 + 2 * HOUR, value: 2 },
            { startMs: T0 + 3 * HOUR, value: 3 },
          ]);
          expect((await store.readRows(p, 'b', k, 0, T0 + 10 * HOUR)).length).toBe(4);
        }
        expect(await store.countDirty(p, 'a')).toBe(2);
        expect(await store.countDirty(p, 'b')).toBe(1);
        expect(
          sortedBuckets(await store.leaseDirty(10, LEASE, T0)).map((b) => [b.name, b.startMs]),
        ).toEqual([
          ['a', T0 + 2 * HOUR],
          ['a', T0 + 5 * HOUR],
          ['b', T0],
        ]);
      });
    });

    describe('names, values and projects', () => {
      it('keeps hostile dataset names, index keys and values as data', async () => {
        const p = uniqueProject('hostile');
        for (const name of HOSTILE_NAMES) {
          const d = definition(p, name, { collection: name, indexBy: [name, `${name}.x`] });
          expect(await store.putDefinition(d)).toBe(true);
          expect(await other.getDefinition(p, name)).toEqual(d);
        }
        expect((await other.listDefinitions(p)).map((d) => d.name)).toEqual(
          [...HOSTILE_NAMES].sort(byText),
        );
        expect(sortedWatched(await other.watchedCollections())).toEqual(
          sortedWatched(HOSTILE_NAMES.map((collection) => ({ projectId: p, collection }))),
        );
        await store.recordChanges(p, [{ collection: '$where', fromMs: T0, toMs: T0 + 1 }]);
        expect((await other.readChanges(10)).map((c) => c.collection)).toEqual(['$where']);

        const value = (name: string, i: number): JsonValue => ({ ...HOSTILE_VALUE, name, i });
        for (const name of HOSTILE_NAMES) {
          await computed(p, name, {
            [T0]: HOSTILE_INDEX_KEYS.map((indexKey, i) => ({ indexKey, value: value(name, i) })),
            [T0 + HOUR]: [{ indexKey: HOSTILE_INDEX_KEYS[0], value: [HOSTILE_VALUE] }],
          });
        }
        for (const name of HOSTILE_NAMES) {
          for (const [i, indexKey] of HOSTILE_INDEX_KEYS.entries()) {
            const read = await other.readRows(p, name, indexKey, T0, T0 + 2 * HOUR);
            expect(read).toEqual([
              { startMs: T0, value: value(name, i) },
              ...(i === 0 ? [{ startMs: T0 + HOUR, value: [HOSTILE_VALUE] }] : []),
            ]);
            const first = read[0].value as JsonObject;
            expect(Object.getPrototypeOf(first.constructor)).toBe(Object.prototype);
          }
        }

        // Dropping one dataset leaves the others, whose names share prefixes and characters.
        expect(await store.deleteDefinition(p, '$')).toBe(true);
        await store.pruneBefore(p, '.', T0 + HOUR);
        expect(await other.readRows(p, '$', HOSTILE_INDEX_KEYS[0], 0, T0 + 2 * HOUR)).toEqual([]);
        expect(await other.readRows(p, '.', HOSTILE_INDEX_KEYS[0], 0, T0 + 2 * HOUR)).toEqual([
          { startMs: T0 + HOUR, value: [HOSTILE_VALUE] },
        ]);
        for (const name of HOSTILE_NAMES.filter((n) => n !== '$' && n !== '.')) {
          expect(
            (await other.readRows(p, name, HOSTILE_INDEX_KEYS[0], 0, T0 + 2 * HOUR)).length,
          ).toBe(2);
        }
      });

      it('keeps projects apart: definitions, changes, marks and rows', async () => {
        const p = uniqueProject('apart');
        const q = uniqueProject('apart');
        // q's id starts with p's: prefixes must not leak either.
        const pq = `${p}","a`;
        for (const project of [p, q, pq]) await store.putDefinition(definition(project, 'a'));
        await computed(p, 'a', { [T0]: [{ indexKey: key('x'), value: 'p' }] });
        await computed(q, 'a', { [T0]: [{ indexKey: key('x'), value: 'q' }] });
        await store.markDirty(p, 'a', [hourBucket(1)]);
        await store.markDirty(q, 'a', [hourBucket(1), hourBucket(2)]);

        expect(await other.readRows(p, 'a', key('x'), 0, T0 + HOUR)).toEqual([
          { startMs: T0, value: 'p' },
        ]);
        expect(await other.readRows(q, 'a', key('x'), 0, T0 + HOUR)).toEqual([
          { startMs: T0, value: 'q' },
        ]);
        expect(await other.readRows(pq, 'a', key('x'), 0, T0 + HOUR)).toEqual([]);
        expect(await other.countDirty(p, 'a')).toBe(1);
        expect(await other.countDirty(q, 'a')).toBe(2);
        expect(await other.countDirty(pq, 'a')).toBe(0);

        await other.pruneBefore(q, 'a', T0 + 2 * HOUR);
        expect(await store.countDirty(p, 'a')).toBe(1);
        expect(await store.countDirty(q, 'a')).toBe(1);
        expect((await store.readRows(p, 'a', key('x'), 0, T0 + HOUR)).length).toBe(1);
        expect(await store.readRows(q, 'a', key('x'), 0, T0 + HOUR)).toEqual([]);

        expect(await other.deleteDefinition(p, 'a')).toBe(true);
        expect(await store.getDefinition(q, 'a')).toEqual(definition(q, 'a'));
        expect(await store.countDirty(q, 'a')).toBe(1);
        expect(await store.countDirty(p, 'a')).toBe(0);
        expect((await store.listDefinitions()).map((d) => d.projectId).sort(byText)).toEqual(
          [q, pq].sort(byText),
        );
      });
    });
  });
}

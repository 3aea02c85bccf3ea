import { CollectionEvent, JsonObject } from '@app/events';
import {
  DeadLetter,
  DeadLetterEntry,
  DeadLetterStore,
  deadLetterId,
} from '../ports/dead-letter-store.port';

export interface DeadLetterStoreSubject {
  /** A fresh store over empty storage. */
  store: DeadLetterStore;
  /** Closes the store and releases whatever the factory opened. */
  close(): Promise<void>;
}

let counter = 0;
const uniqueProject = (tag: string) => `dlq-${tag}-${process.pid}-${Date.now()}-${counter++}`;

/** keen.ids as the write path makes them: 32 hex, unique per suite run. */
let idSequence = Math.floor(Math.random() * 0xffff) << 12;
const freshId = () => (idSequence++).toString(16).padStart(8, '0') + 'ab'.repeat(12);

function event(collection: string, body: JsonObject = {}, id = freshId()): CollectionEvent {
  const timestamp = Date.UTC(2024, 5, 1, 12, 0, 0, counter % 1000);
  return {
    id,
    collection,
    timestamp,
    event: {
      ...body,
      keen: {
        id,
        timestamp: new Date(timestamp).toISOString(),
        created_at: '2024-06-01T12:00:01.000Z',
      },
    },
  };
}

/**
 * A body a store may find awkward: names of Object.prototype members, `$` and
 * dots inside names (MongoDB refuses them as field names), non-ASCII text,
 * nesting, arrays, and every JSON scalar.
 */
const awkwardBody = (): JsonObject => ({
  constructor: 'data',
  toString: { valueOf: 1 },
  $weird: { 'dotted.key': [true, null, { 'x.y': '$z' }] },
  'a.b': 'dotted',
  naïve: '日本語 🙂',
  price: 0.1,
  big: 9007199254740991,
  negative: -42.5,
  empty: {},
  none: [],
  nothing: null,
  flag: false,
  nested: { deep: { deeper: { deepest: ['a', 1, { b: [] }] } } },
});

const byId = (letters: DeadLetter[]) =>
  [...letters].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

/** What `add(entry)` must read back as, but for `failedAt` (checked separately). */
function expectedLetter(entry: DeadLetterEntry): Omit<DeadLetter, 'failedAt'> {
  return { ...entry, id: deadLetterId(entry.projectId, entry.event.id) };
}

function withoutFailedAt(letter: DeadLetter): Omit<DeadLetter, 'failedAt'> {
  const { failedAt: _failedAt, ...rest } = letter;
  return rest;
}

/** failedAt is an ISO-8601 instant of when add() ran. */
function expectFailedBetween(letter: DeadLetter, before: number, after: number): void {
  expect(typeof letter.failedAt).toBe('string');
  expect(new Date(letter.failedAt).toISOString()).toBe(letter.failedAt);
  const at = Date.parse(letter.failedAt);
  expect(at).toBeGreaterThanOrEqual(before);
  expect(at).toBeLessThanOrEqual(after);
}

/**
 * What every DeadLetterStore adapter must do, checked against the real store:
 * entries read back exactly as added, one per (project, keen.id) with the
 * latest reason, listed per project in id order with limit and after, taken
 * with get and deleted with remove (which counts what existed). `open()` gives
 * a fresh, empty store for each test; project ids are unique per test as well.
 */
export function describeDeadLetterStoreContract(
  driver: string,
  open: () => Promise<DeadLetterStoreSubject>,
): void {
  describe(`${driver}: DeadLetterStore contract`, () => {
    let subject: DeadLetterStoreSubject;
    let store: DeadLetterStore;
    beforeEach(async () => {
      subject = await open();
      store = subject.store;
    });
    afterEach(async () => {
      await subject.close();
    });

    it('an empty store lists, gets and removes nothing', async () => {
      expect(await store.list()).toEqual([]);
      expect(await store.list({ projectId: uniqueProject('none'), limit: 5 })).toEqual([]);
      expect(await store.get([])).toEqual([]);
      expect(await store.get([deadLetterId(uniqueProject('none'), freshId())])).toEqual([]);
      expect(await store.remove([])).toBe(0);
      expect(await store.remove([deadLetterId(uniqueProject('none'), freshId())])).toBe(0);
      await store.add([]);
      expect(await store.list()).toEqual([]);
    });

    it('reads back exactly what was added: id, project, event field for field, reason and batch', async () => {
      const p = uniqueProject('exact');
      const entries: DeadLetterEntry[] = [
        {
          projectId: p,
          event: event('purchases', awkwardBody()),
          reason: 'Event refused by the store: field names may not contain "." — naïve 🙂',
          batchId: 'batch-1',
        },
        { projectId: p, event: event('naïve 日本', { n: 1 }), reason: 'too large' },
        { projectId: p, event: event('constructor'), reason: '', batchId: 'batch-2' },
      ];
      const before = Date.now();
      await store.add(entries);
      const after = Date.now();

      const expected = byId(entries.map(expectedLetter) as DeadLetter[]);
      const listed = await store.list({ projectId: p });
      expect(listed.map(withoutFailedAt)).toEqual(expected);
      for (const letter of listed) expectFailedBetween(letter, before, after);
      // Optional fields are absent, not present-and-empty, when they were not given.
      expect(listed.find((l) => l.event.collection === 'naïve 日本')).not.toHaveProperty('batchId');
      expect(listed.map((l) => l.id)).toEqual(expected.map((e) => deadLetterId(p, e.event.id)));

      const got = await store.get(entries.map((e) => deadLetterId(p, e.event.id)));
      expect(byId(got)).toEqual(listed);
    });

    it('keeps one entry per project and keen.id: adding it again replaces the reason and batch', async () => {
      const p = uniqueProject('upsert');
      const poison = event('purchases', { $bad: 1 });
      const other = event('purchases', { fine: 1 });
      await store.add([
        { projectId: p, event: poison, reason: 'first refusal', batchId: 'b1' },
        { projectId: p, event: other, reason: 'other', batchId: 'b1' },
      ]);
      const [firstTime] = await store.get([deadLetterId(p, poison.id)]);
      const before = Date.now();
      await store.add([{ projectId: p, event: poison, reason: 'refused again', batchId: 'b2' }]);
      const after = Date.now();

      const listed = await store.list({ projectId: p });
      expect(listed.map(withoutFailedAt)).toEqual(
        byId([
          {
            id: deadLetterId(p, poison.id),
            projectId: p,
            event: poison,
            reason: 'refused again',
            batchId: 'b2',
          },
          {
            id: deadLetterId(p, other.id),
            projectId: p,
            event: other,
            reason: 'other',
            batchId: 'b1',
          },
        ] as DeadLetter[]).map(withoutFailedAt),
      );
      const again = listed.find((l) => l.id === deadLetterId(p, poison.id))!;
      expectFailedBetween(again, before, after);
      expect(Date.parse(again.failedAt)).toBeGreaterThanOrEqual(Date.parse(firstTime.failedAt));
      expect(await store.list()).toHaveLength(2);
    });

    it('keeps projects apart: the same keen.id in two projects is two entries, listed by project', async () => {
      const p = uniqueProject('mine');
      const q = uniqueProject('theirs');
      const shared = event('purchases', { shared: true });
      const onlyMine = event('purchases');
      await store.add([
        { projectId: p, event: shared, reason: 'mine' },
        { projectId: q, event: shared, reason: 'theirs' },
        { projectId: p, event: onlyMine, reason: 'mine too' },
      ]);

      const mine = await store.list({ projectId: p });
      expect(mine.map(withoutFailedAt)).toEqual(
        byId([
          { id: deadLetterId(p, shared.id), projectId: p, event: shared, reason: 'mine' },
          { id: deadLetterId(p, onlyMine.id), projectId: p, event: onlyMine, reason: 'mine too' },
        ] as DeadLetter[]),
      );
      const theirs = await store.list({ projectId: q });
      expect(theirs.map(withoutFailedAt)).toEqual([
        { id: deadLetterId(q, shared.id), projectId: q, event: shared, reason: 'theirs' },
      ]);
      expect(await store.list({ projectId: uniqueProject('nobody') })).toEqual([]);
      expect(byId(await store.list())).toEqual(byId([...mine, ...theirs]));

      // Removing one project's entry leaves the other's.
      expect(await store.remove([deadLetterId(q, shared.id)])).toBe(1);
      expect(await store.list({ projectId: p })).toEqual(mine);
      expect(await store.list({ projectId: q })).toEqual([]);
    });

    it('pages in id order with limit and after, within a project and across projects', async () => {
      // q's ids sort before p's.
      const q = uniqueProject('pages-a');
      const p = uniqueProject('pages-b');
      const add = (projectId: string, n: number) =>
        Array.from({ length: n }, (_, i) => ({
          projectId,
          event: event('c', { i }),
          reason: `r${i}`,
        }));
      const entries = [...add(p, 7), ...add(q, 4)];
      // Added out of order: the store orders them.
      await store.add([...entries].reverse());
      const ids = (list: { id: string }[]) => list.map((l) => l.id);
      const all = entries.map((e) => deadLetterId(e.projectId, e.event.id)).sort();
      const ofP = all.filter((id) => id.startsWith(`${p}/`));

      expect(ids(await store.list())).toEqual(all);
      expect(ids(await store.list({ limit: 3 }))).toEqual(all.slice(0, 3));
      expect(ids(await store.list({ after: all[4], limit: 4 }))).toEqual(all.slice(5, 9));
      expect(ids(await store.list({ after: all[all.length - 1] }))).toEqual([]);

      // Walking one project's pages visits each of its entries once, in order.
      const walked: string[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await store.list({ projectId: p, limit: 3, after });
        expect(page.length).toBeLessThanOrEqual(3);
        if (page.length === 0) break;
        expect(page.every((l) => l.projectId === p)).toBe(true);
        walked.push(...ids(page));
        after = page[page.length - 1].id;
      }
      expect(walked).toEqual(ofP);
      // An `after` from another project still pages by id order.
      const lastOfQ = all.filter((id) => id.startsWith(`${q}/`)).pop()!;
      expect(ids(await store.list({ projectId: p, after: lastOfQ, limit: 2 }))).toEqual(
        ofP.slice(0, 2),
      );
      expect(ids(await store.list({ projectId: q, after: ofP[0] }))).toEqual([]);
    });

    it('get returns the entries asked for and skips missing ids', async () => {
      const p = uniqueProject('get');
      const q = uniqueProject('get-other');
      const a = event('c', { a: 1 });
      const b = event('c', { b: 2 });
      await store.add([
        { projectId: p, event: a, reason: 'ra', batchId: 'x' },
        { projectId: p, event: b, reason: 'rb' },
        { projectId: q, event: b, reason: 'other project' },
      ]);
      const got = await store.get([
        deadLetterId(p, b.id),
        deadLetterId(p, freshId()),
        deadLetterId(p, a.id),
        deadLetterId(uniqueProject('nobody'), a.id),
        'not-an-id',
      ]);
      expect(byId(got).map(withoutFailedAt)).toEqual(
        byId([
          { id: deadLetterId(p, a.id), projectId: p, event: a, reason: 'ra', batchId: 'x' },
          { id: deadLetterId(p, b.id), projectId: p, event: b, reason: 'rb' },
        ] as DeadLetter[]).map(withoutFailedAt),
      );
      expect(await store.get([deadLetterId(q, a.id)])).toEqual([]);
    });

    it('remove deletes exactly the given entries and counts those that existed; a requeue is get then remove', async () => {
      const p = uniqueProject('remove');
      const [a, b, c] = [event('c'), event('c'), event('d')];
      await store.add([a, b, c].map((e) => ({ projectId: p, event: e, reason: 'poison' })));

      // Requeue: take the entries (to persist again), then remove them.
      const ids = [deadLetterId(p, a.id), deadLetterId(p, c.id)];
      const taken = await store.get(ids);
      expect(byId(taken).map(withoutFailedAt)).toEqual(
        byId([
          { id: deadLetterId(p, a.id), projectId: p, event: a, reason: 'poison' },
          { id: deadLetterId(p, c.id), projectId: p, event: c, reason: 'poison' },
        ] as DeadLetter[]),
      );
      expect(await store.remove([...ids, deadLetterId(p, freshId())])).toBe(2);
      expect(await store.get(ids)).toEqual([]);
      expect((await store.list({ projectId: p })).map((l) => l.id)).toEqual([
        deadLetterId(p, b.id),
      ]);
      // Removing again finds nothing.
      expect(await store.remove(ids)).toBe(0);
      expect(await store.remove([deadLetterId(p, b.id)])).toBe(1);
      expect(await store.list()).toEqual([]);
    });

    it('keeps values: changing what was added or what was read does not change the entry', async () => {
      const p = uniqueProject('values');
      const original = event('c', { nested: { n: 1 }, list: [1, 2] });
      const entry: DeadLetterEntry = {
        projectId: p,
        event: structuredClone(original),
        reason: 'poison',
        batchId: 'b',
      };
      await store.add([entry]);
      (entry.event.event.nested as JsonObject).n = 99;
      (entry.event.event.list as number[]).push(3);
      entry.reason = 'changed';

      const [read] = await store.get([deadLetterId(p, original.id)]);
      expect(read.event).toEqual(original);
      expect(read.reason).toBe('poison');
      (read.event.event.nested as JsonObject).n = 7;
      read.reason = 'changed after reading';
      const [listed] = await store.list({ projectId: p });
      expect(listed.event).toEqual(original);
      (listed.event.event.list as number[]).length = 0;
      listed.reason = 'changed after listing';

      const [again] = await store.list({ projectId: p });
      expect(withoutFailedAt(again)).toEqual({
        id: deadLetterId(p, original.id),
        projectId: p,
        event: original,
        reason: 'poison',
        batchId: 'b',
      });
    });
  });
}

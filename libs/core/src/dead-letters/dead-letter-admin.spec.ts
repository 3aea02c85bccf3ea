import { CollectionEvent, JsonObject } from '@app/events';
import { RejectedEventsError } from '@app/storage';
import { InMemoryDeadLetterStore } from '@app/storage/memory';
import { DeadLetterAdmin } from './dead-letter-admin';

const event = (n: number, body: JsonObject = { n }): CollectionEvent => ({
  collection: 'c',
  id: n.toString(16).padStart(24, '0'),
  timestamp: Date.UTC(2024, 0, 1) + n,
  event: body,
});

/** A persister over a Map: what it stores, what it refuses (by keen.id). */
function persister(refuse: Set<string> = new Set()) {
  const stored = new Map<string, CollectionEvent>();
  return {
    stored,
    async persist(_projectId: string, batch: CollectionEvent[]) {
      let inserted = 0;
      let duplicates = 0;
      for (const e of batch) {
        if (refuse.has(e.id)) continue;
        if (stored.has(e.id)) duplicates++;
        else {
          stored.set(e.id, e);
          inserted++;
        }
      }
      const refused = batch.filter((e) => refuse.has(e.id));
      if (refused.length > 0)
        throw new RejectedEventsError(
          refused.map((e) => ({ id: e.id, reason: 'still refused' })),
          { inserted, duplicates },
        );
      return { inserted, duplicates };
    },
  };
}

describe('DeadLetterAdmin', () => {
  it('requeues by keen.id within its project only: stored once, duplicates removed, refused kept, unknown counted', async () => {
    const store = new InMemoryDeadLetterStore();
    const [a, b, c, d] = [1, 2, 3, 4].map((n) => event(n));
    await store.add([a, b, c].map((e) => ({ projectId: 'p', event: e, reason: 'first' })));
    await store.add([{ projectId: 'q', event: d, reason: 'first' }]);
    const p = persister(new Set([c.id]));
    p.stored.set(b.id, b); // stored already
    const admin = new DeadLetterAdmin(store, p);
    expect(await admin.requeue('p', { ids: [a.id, b.id, c.id, d.id, a.id] })).toEqual({
      inserted: 1,
      duplicates: 1,
      stillRejected: 1,
      skipped: 0,
      notFound: 1,
      more: false,
    });
    expect([...p.stored.keys()].sort()).toEqual([a.id, b.id]);
    expect((await store.list({})).map((e) => [e.id, e.reason])).toEqual([
      [`p/${c.id}`, 'still refused'],
      [`q/${d.id}`, 'first'],
    ]);
    await expect(admin.get('p', d.id)).rejects.toMatchObject({ kind: 'not_found' });
  });

  it('skips and keeps entries whose body was cut', async () => {
    const store = new InMemoryDeadLetterStore();
    const cut = event(1, { truncated_json: '{"n":' });
    await store.add([{ projectId: 'p', event: cut, reason: 'too big' }]);
    const p = persister();
    expect(await new DeadLetterAdmin(store, p).requeue('p', { all: true })).toMatchObject({
      skipped: 1,
      inserted: 0,
    });
    expect(p.stored.size).toBe(0);
    expect(await store.list({})).toHaveLength(1);
  });

  it('"all" stops after 5000 entries and says there are more; a second call finishes', async () => {
    const store = new InMemoryDeadLetterStore();
    const events = Array.from({ length: 5003 }, (_, i) => event(i + 1));
    await store.add(events.map((e) => ({ projectId: 'p', event: e, reason: 'r' })));
    const admin = new DeadLetterAdmin(store, persister());
    expect(await admin.purge('p', { all: true })).toEqual({
      removed: 5000,
      notFound: 0,
      more: true,
    });
    expect(await admin.purge('p', { all: true })).toEqual({ removed: 3, notFound: 0, more: false });
    expect(await store.list({})).toEqual([]);
  });

  it('lists a page after a keen.id of the same project', async () => {
    const store = new InMemoryDeadLetterStore();
    await store.add([1, 2, 3].map((n) => ({ projectId: 'p', event: event(n), reason: 'r' })));
    await store.add([{ projectId: 'pp', event: event(9), reason: 'r' }]);
    const admin = new DeadLetterAdmin(store, persister());
    expect((await admin.list('p', 2)).map((e) => e.event.id)).toEqual([event(1).id, event(2).id]);
    expect((await admin.list('p', 2, event(2).id)).map((e) => e.event.id)).toEqual([event(3).id]);
  });
});

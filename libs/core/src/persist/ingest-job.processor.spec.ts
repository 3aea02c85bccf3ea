import { CollectionEvent } from '@app/events';
import { InMemoryDeadLetterStore } from '@app/storage/memory';
import { RejectedEventsError } from '@app/storage';
import { AbortedError, IngestJobProcessor } from './ingest-job.processor';

const ev = (id: string, extra: object = {}): CollectionEvent => ({
  id,
  collection: 'c',
  timestamp: 1,
  event: { n: 1, ...extra, keen: { id } },
});

/** A persister over a Map, with scripted failures. */
class FakePersister {
  stored = new Map<string, CollectionEvent>();
  down = 0;
  poison = new Set<string>();
  rejectAsError = true;
  calls = 0;
  async persist(_projectId: string, events: CollectionEvent[]) {
    this.calls++;
    if (this.down > 0) {
      this.down--;
      throw new Error('store unavailable');
    }
    const bad = events.filter((e) => this.poison.has(e.id));
    if (bad.length && !this.rejectAsError) throw new Error('opaque failure');
    let inserted = 0;
    for (const e of events) {
      if (this.poison.has(e.id) || this.stored.has(e.id)) continue;
      this.stored.set(e.id, e);
      inserted++;
    }
    if (bad.length) {
      const persisted = { inserted, duplicates: events.length - inserted - bad.length };
      throw new RejectedEventsError(
        bad.map((e) => ({ id: e.id, reason: 'too large' })),
        persisted,
      );
    }
    return { inserted, duplicates: events.length - inserted - bad.length };
  }
}

const fast = { initialDelayMs: 1, maxDelayMs: 5, isolateAfterAttempts: 3 };
const payload = (events: CollectionEvent[]) => ({
  batchId: 'b1',
  sources: ['b1'],
  projects: [{ projectId: 'p', events }],
});

describe('IngestJobProcessor', () => {
  it('keeps retrying while the store is down, then stores every event once', async () => {
    const persister = new FakePersister();
    persister.down = 2; // fewer than the isolation threshold
    const processor = new IngestJobProcessor(persister, new InMemoryDeadLetterStore(), fast);
    const events = [ev('a'), ev('b')];
    const outcome = await processor.process(payload(events));
    expect(outcome).toMatchObject({ inserted: 2, duplicates: 0, deadLettered: 0, attempts: 3 });
    expect([...persister.stored.values()]).toEqual(events);
  });

  it('an outage longer than the isolation threshold dead-letters nothing', async () => {
    const persister = new FakePersister();
    persister.down = 20;
    const dead = new InMemoryDeadLetterStore();
    const outcome = await new IngestJobProcessor(persister, dead, fast).process(
      payload([ev('a'), ev('b')]),
    );
    expect(outcome.inserted).toBe(2);
    expect(await dead.list()).toEqual([]);
  });

  it('sends events the store rejects to the dead-letter store and stores the rest', async () => {
    const persister = new FakePersister();
    persister.poison.add('b');
    const dead = new InMemoryDeadLetterStore();
    const events = [ev('a'), ev('b', { big: 'x' }), ev('c')];
    const outcome = await new IngestJobProcessor(persister, dead, fast).process(payload(events));
    expect(outcome).toMatchObject({ inserted: 2, deadLettered: 1 });
    expect([...persister.stored.keys()].sort()).toEqual(['a', 'c']);
    const letters = await dead.list();
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({
      id: 'p/b',
      projectId: 'p',
      reason: 'too large',
      batchId: 'b1',
      event: events[1],
    });
  });

  it('isolates an opaque poison event by writing one at a time', async () => {
    const persister = new FakePersister();
    persister.poison.add('b');
    persister.rejectAsError = false;
    const dead = new InMemoryDeadLetterStore();
    const outcome = await new IngestJobProcessor(persister, dead, fast).process(
      payload([ev('a'), ev('b'), ev('c')]),
    );
    expect(outcome.deadLettered).toBe(1);
    expect([...persister.stored.keys()].sort()).toEqual(['a', 'c']);
    expect((await dead.list()).map((d) => [d.id, d.reason])).toEqual([['p/b', 'opaque failure']]);
  });

  it('stops retrying when aborted (worker closing), leaving the job for redelivery', async () => {
    const persister = new FakePersister();
    persister.down = 1_000_000;
    const controller = new AbortController();
    const run = new IngestJobProcessor(persister, new InMemoryDeadLetterStore(), {
      ...fast,
      isolateAfterAttempts: 1e9,
    }).process(payload([ev('a')]), controller.signal);
    setTimeout(() => controller.abort(), 30);
    await expect(run).rejects.toBeInstanceOf(AbortedError);
    expect(persister.stored.size).toBe(0);
  });

  it('a store coming back during isolation dead-letters nothing: early failures are retried', async () => {
    const persister = new FakePersister();
    // 3 failed attempts reach the isolation threshold; the store then stays
    // down for the first two single writes of the isolation pass.
    persister.down = 3 + 2;
    const dead = new InMemoryDeadLetterStore();
    const events = [ev('a'), ev('b'), ev('c'), ev('d')];
    const outcome = await new IngestJobProcessor(persister, dead, fast).process(payload(events));
    expect(outcome.deadLettered).toBe(0);
    expect(await dead.list()).toEqual([]);
    expect([...persister.stored.keys()].sort()).toEqual(['a', 'b', 'c', 'd']);
  });

  it('a driver timeout between successes during isolation is retried, not dead-lettered', async () => {
    const persister = new FakePersister();
    persister.down = 3; // reach the isolation threshold
    const persist = persister.persist.bind(persister);
    let timeouts = 1;
    persister.persist = async (projectId, events) => {
      // During isolation (single writes), 'b' meets a dropped connection once.
      if (events.length === 1 && events[0].id === 'b' && persister.down === 0 && timeouts-- > 0) {
        const error = new Error('connection 23 to 127.0.0.1:27017 timed out');
        error.name = 'MongoNetworkTimeoutError';
        throw error;
      }
      return persist(projectId, events);
    };
    const dead = new InMemoryDeadLetterStore();
    const events = [ev('a'), ev('b'), ev('c')];
    const outcome = await new IngestJobProcessor(persister, dead, fast).process(payload(events));
    expect(outcome.deadLettered).toBe(0);
    expect(await dead.list()).toEqual([]);
    expect([...persister.stored.values()].sort((x, y) => x.id.localeCompare(y.id))).toEqual(events);
  });
});

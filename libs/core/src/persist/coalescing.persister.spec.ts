import { CollectionEvent } from '@app/events';
import { PersistOutcome } from '@app/storage';
import { workerWriteEvents } from '../metrics';
import {
  BatchPersister,
  carriesUniquenessTokens,
  CoalescingPersister,
} from './coalescing.persister';

const ev = (id: string): CollectionEvent => ({ id, collection: 'c', timestamp: 0, event: {} });

/** An inner persister whose writes finish when the test says so (a fake above the port). */
class GatedPersister implements BatchPersister {
  readonly calls: { kind: 'persist' | 'each'; ids: string[][] }[] = [];
  private gates: (() => void)[] = [];
  failEach = false;
  failIds = new Set<string>();
  private readonly stored = new Set<string>();

  private async gate(): Promise<void> {
    await new Promise<void>((resolve) => this.gates.push(resolve));
  }

  open(): void {
    const gates = this.gates;
    this.gates = [];
    gates.forEach((g) => g());
  }

  private write(events: CollectionEvent[]): PersistOutcome {
    if (events.some((e) => this.failIds.has(e.id))) throw new Error('refused');
    let inserted = 0;
    for (const id of new Set(events.map((e) => e.id))) {
      if (!this.stored.has(id)) {
        this.stored.add(id);
        inserted++;
      }
    }
    return { inserted, duplicates: new Set(events.map((e) => e.id)).size - inserted };
  }

  async persist(_p: string, events: CollectionEvent[]): Promise<PersistOutcome> {
    this.calls.push({ kind: 'persist', ids: [events.map((e) => e.id)] });
    await this.gate();
    return this.write(events);
  }

  async persistEach(_p: string, batches: CollectionEvent[][]): Promise<PersistOutcome[]> {
    this.calls.push({ kind: 'each', ids: batches.map((b) => b.map((e) => e.id)) });
    await this.gate();
    if (this.failEach) throw new Error('store timeout');
    const before = new Set(this.stored);
    this.write(batches.flat());
    const claimed = new Set<string>();
    return batches.map((b) => {
      let inserted = 0;
      for (const id of new Set(b.map((e) => e.id))) {
        if (!before.has(id) && !claimed.has(id)) {
          claimed.add(id);
          inserted++;
        }
      }
      return { inserted, duplicates: new Set(b.map((e) => e.id)).size - inserted };
    });
  }
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('CoalescingPersister (batching across jobs)', () => {
  it('an idle worker writes a job at once, alone', async () => {
    const inner = new GatedPersister();
    const persister = new CoalescingPersister(inner, { maxEvents: 100 });
    const done = persister.persist('p', [ev('a'), ev('b')]);
    await flush();
    expect(inner.calls).toEqual([{ kind: 'persist', ids: [['a', 'b']] }]);
    inner.open();
    await expect(done).resolves.toEqual({ inserted: 2, duplicates: 0 });
  });

  it('jobs arriving while writes run are written together by the next write, each with its own outcome', async () => {
    const inner = new GatedPersister();
    const persister = new CoalescingPersister(inner, { maxEvents: 100, maxInFlight: 1 });
    const first = persister.persist('p', [ev('a')]);
    const second = persister.persist('p', [ev('b'), ev('c')]);
    const third = persister.persist('p', [ev('c'), ev('d')]);
    const other = persister.persist('q', [ev('x')]);
    await flush();
    expect(inner.calls).toEqual([
      { kind: 'persist', ids: [['a']] },
      { kind: 'persist', ids: [['x']] },
    ]);
    inner.open();
    await expect(first).resolves.toEqual({ inserted: 1, duplicates: 0 });
    await flush();
    expect(inner.calls[2]).toEqual({
      kind: 'each',
      ids: [
        ['b', 'c'],
        ['c', 'd'],
      ],
    });
    inner.open();
    // "c" is in both jobs: inserted by the first that holds it.
    await expect(second).resolves.toEqual({ inserted: 2, duplicates: 0 });
    await expect(third).resolves.toEqual({ inserted: 1, duplicates: 1 });
    await expect(other).resolves.toEqual({ inserted: 1, duplicates: 0 });
  });

  it('counts each store write and its events in tally_worker_write_events', async () => {
    const seen = async () => {
      const { values } = await workerWriteEvents.get();
      const of = (name: string) => values.find((v) => v.metricName === name)?.value ?? 0;
      return {
        writes: of('tally_worker_write_events_count'),
        events: of('tally_worker_write_events_sum'),
      };
    };
    const before = await seen();
    const inner = new GatedPersister();
    const persister = new CoalescingPersister(inner, { maxEvents: 3, maxInFlight: 1 });
    const all = [
      persister.persist('p', [ev('a')]), // alone: the project was idle
      persister.persist('p', [ev('b')]),
      persister.persist('p', [ev('c'), ev('d')]), // with "b": one write of 3
      persister.persist('p', [ev('e'), ev('f'), ev('g'), ev('h')]), // over maxEvents: alone
    ];
    for (let i = 0; i < 3; i++) {
      await flush();
      inner.open();
    }
    await Promise.all(all);
    const after = await seen();
    expect(inner.calls).toHaveLength(3);
    expect({ writes: after.writes - before.writes, events: after.events - before.events }).toEqual({
      writes: 3,
      events: 8,
    });
  });

  it('a combined write holds at most maxEvents events (a bigger job goes alone)', async () => {
    const inner = new GatedPersister();
    const persister = new CoalescingPersister(inner, { maxEvents: 3, maxInFlight: 1 });
    const all = [
      persister.persist('p', [ev('a')]),
      persister.persist('p', [ev('b'), ev('c')]),
      persister.persist('p', [ev('d')]),
      persister.persist('p', [ev('e'), ev('f')]),
      persister.persist('p', [ev('g'), ev('h'), ev('i')]),
    ];
    for (let i = 0; i < 5; i++) {
      await flush();
      inner.open();
    }
    await Promise.all(all);
    expect(inner.calls.map((c) => c.ids)).toEqual([
      [['a']],
      [['g', 'h', 'i']],
      [['b', 'c'], ['d']],
      [['e', 'f']],
    ]);
  });

  it('a combined write that fails is retried job by job: each job gets its own outcome or error', async () => {
    const inner = new GatedPersister();
    const persister = new CoalescingPersister(inner, { maxEvents: 100, maxInFlight: 1 });
    const busy = persister.persist('p', [ev('a')]);
    const good = persister.persist('p', [ev('b')]);
    const poison = persister.persist('p', [ev('bad')]).catch((e: Error) => e.message);
    inner.failEach = true;
    inner.failIds.add('bad');
    await flush();
    inner.open();
    await busy;
    await flush();
    inner.open(); // the combined write fails
    for (let i = 0; i < 3; i++) {
      await flush();
      inner.open();
    }
    await expect(good).resolves.toEqual({ inserted: 1, duplicates: 0 });
    await expect(poison).resolves.toBe('refused');
    expect(inner.calls.map((c) => c.kind)).toEqual(['persist', 'each', 'persist', 'persist']);
  });

  it('a job the store must write alone is never combined; the others still are', async () => {
    const inner = new GatedPersister();
    const persister = new CoalescingPersister(inner, {
      maxEvents: 100,
      maxInFlight: 1,
      writeAlone: (events) => events.some((e) => e.id.startsWith('tok')),
    });
    const all = [
      persister.persist('p', [ev('a')]),
      persister.persist('p', [ev('b')]),
      persister.persist('p', [ev('tok1'), ev('c')]),
      persister.persist('p', [ev('d')]),
    ];
    for (let i = 0; i < 4; i++) {
      await flush();
      inner.open();
    }
    await Promise.all(all);
    expect(inner.calls).toEqual([
      { kind: 'persist', ids: [['a']] },
      { kind: 'persist', ids: [['tok1', 'c']] },
      { kind: 'each', ids: [['b'], ['d']] },
    ]);
  });

  it('maxEvents 0 turns it off: every job is its own write', async () => {
    const inner = new GatedPersister();
    const persister = new CoalescingPersister(inner, { maxEvents: 0 });
    const all = [
      persister.persist('p', [ev('a')]),
      persister.persist('p', [ev('b')]),
      persister.persist('p', [ev('c')]),
    ];
    await flush();
    inner.open();
    await Promise.all(all);
    expect(inner.calls.map((c) => c.kind)).toEqual(['persist', 'persist', 'persist']);
  });
});

describe('carriesUniquenessTokens', () => {
  const withKeen = (keen: unknown): CollectionEvent => ({
    id: 'x',
    collection: 'c',
    timestamp: 0,
    event: { keen } as never,
  });
  it('is true when any event is named by a keen.uniqueness_token', () => {
    expect(carriesUniquenessTokens([ev('a'), withKeen({ uniqueness_token: 't1' })])).toBe(true);
  });
  it('is false for plain events, a keen object without a token, or a non-string token', () => {
    expect(carriesUniquenessTokens([])).toBe(false);
    expect(carriesUniquenessTokens([ev('a'), withKeen({ id: 'k' })])).toBe(false);
    expect(carriesUniquenessTokens([withKeen({ uniqueness_token: 5 }), withKeen(null)])).toBe(
      false,
    );
  });
});

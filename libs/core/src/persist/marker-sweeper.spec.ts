import { CollectionEvent } from '@app/events';
import { CounterLedger, MarkedEventWriter, PendingEntry } from '@app/storage';
import { MarkerSweeper } from './marker-sweeper';

/**
 * A ledger and a writer kept in memory, for the sweeper's own loop (the
 * protocol itself runs against real stores in event-persister.contract.ts).
 */
function memory(stale: number, stuck = 0) {
  const pending: PendingEntry[] = Array.from({ length: stale + stuck }, (_, i) => ({
    projectId: 'p',
    collection: 'c',
    marker: `${i < stale ? 'dead' : 'stuck'}.${i}`,
    at: new Date(0),
  }));
  const stored = new Map<string, CollectionEvent[]>([
    ['dead.0', [{ id: 'e0', collection: 'c', timestamp: 0, event: { n: 1 } }]],
  ]);
  const applied: string[] = [];
  const ledger = {
    listPending: (_before: Date, limit: number) => Promise.resolve(pending.slice(0, limit)),
    applyMarked: (_p: string, _c: string, marker: string) => {
      // A marker of a delivery that cannot be settled now stays pending.
      if (marker.startsWith('stuck')) return Promise.resolve(false);
      const i = pending.findIndex((e) => e.marker === marker);
      if (i < 0) return Promise.resolve(false);
      pending.splice(i, 1);
      applied.push(marker);
      return Promise.resolve(true);
    },
    collectionsPending: (_p: string, marker: string) =>
      Promise.resolve(pending.filter((e) => e.marker === marker)),
  } as unknown as CounterLedger;
  const writer = {
    findByMarker: (_p: string, marker: string) => Promise.resolve(stored.get(marker) ?? []),
    clearMarker: () => Promise.resolve(),
  } as unknown as MarkedEventWriter;
  return { ledger, writer, pending, applied };
}

describe('MarkerSweeper.sweepAll', () => {
  it('sweeps batch after batch until no stale marker is left', async () => {
    const m = memory(2_345);
    const sweeper = new MarkerSweeper({ ...m, olderThanMs: 0, batchLimit: 1000 });
    expect(await sweeper.sweepAll()).toEqual({ settled: 1, dropped: 2_344, examined: 2_345 });
    expect(m.pending).toEqual([]);
    expect(new Set(m.applied).size).toBe(2_345);
  });

  it('one sweep takes one batch, as the worker does each tick', async () => {
    const m = memory(2_345);
    const sweeper = new MarkerSweeper({ ...m, olderThanMs: 0, batchLimit: 1000 });
    expect((await sweeper.sweep()).examined).toBe(1000);
    expect(m.pending).toHaveLength(1_345);
  });

  it('stops when a full batch settles nothing, instead of looping on it', async () => {
    const m = memory(0, 1000);
    const sweeper = new MarkerSweeper({ ...m, olderThanMs: 0, batchLimit: 1000 });
    expect(await sweeper.sweepAll()).toEqual({ settled: 0, dropped: 0, examined: 1000 });
    expect(m.pending).toHaveLength(1000);
  });
});
